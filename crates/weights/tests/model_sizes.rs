//! Download sizes of Florence-2-base(-ft) and -large(-ft) in the converted format, computed from
//! the full-size key lists (`keys_*.json`, every tensor of the real checkpoints; the -ft models
//! share the geometry) with the converter's own class rules, shard packing and header layout —
//! so the README's `## Model sizes` table is derived, not guessed. The test checks that the table
//! states these numbers (`full_size_keys.rs` checks the prediction against a real conversion).

mod common;

use common::fixture;
use visionllm_weights::classify::Plan;
use visionllm_weights::convert::{plan_tensors, MAX_PART_BYTES};
use visionllm_weights::shards::{pack, predicted_bytes, MAX_SHARD_BYTES};
use visionllm_weights::Stored;

fn size(file: &str, plan: &Plan) -> (u64, usize) {
    size_of(&fixture(file), plan)
}

fn size_of(path: &std::path::Path, plan: &Plan) -> (u64, usize) {
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let tensors: Vec<(String, Vec<usize>)> = json["tensors"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect())).collect();
    let planned = plan_tensors(tensors.iter().map(|(n, s)| (n.as_str(), s.as_slice())), plan, MAX_PART_BYTES).unwrap();
    let packs = pack(&planned, MAX_SHARD_BYTES);
    (predicted_bytes(&planned, &packs), packs.len())
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[test]
fn readme_states_the_derived_download_sizes() {
    let variants = [
        ("Q4", Plan::for_quant(Stored::Q4)),
        ("Q4, f16 embedding", Plan { embedding: Stored::F16, ..Plan::for_quant(Stored::Q4) }),
        ("Q8", Plan::for_quant(Stored::Q8)),
        ("F16", Plan::for_quant(Stored::F16)),
    ];
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let section = readme.split("## Model sizes").nth(1).map(|s| s.split("\n## ").next().unwrap()).unwrap_or("");
    let mut missing = Vec::new();
    for (label, plan) in &variants {
        let (base, base_shards) = size("keys_base.json", plan);
        let (large, large_shards) = size("keys_large.json", plan);
        let row = format!("| {label} | {} ({base_shards} shards) | {} ({large_shards} shards) |", mb(base), mb(large));
        eprintln!("{row}   base {base} B, large {large} B");
        if !section.contains(&row) {
            missing.push(row);
        }
        if *label == "Q4" {
            assert!(base <= 150_000_000, "the goal for base Q4 is <= 150 MB, got {}", mb(base));
        }
    }
    assert!(missing.is_empty(), "README.md `## Model sizes` lacks these rows (update it):\n{}", missing.join("\n"));
}

/// Qwen3-VL-2B-Instruct from its full-size key list (`tests/reference/qwen3vl/full_size_keys.py`):
/// the 151,936 x 2,048 embedding goes in row parts of at most 128 MiB (WebGPU's binding
/// guarantee), and no stored tensor is larger.
#[test]
fn readme_states_the_qwen3vl_sizes_and_no_tensor_exceeds_a_binding() {
    let keys = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/qwen3vl/keys_2b.json"));
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let section = readme.split("## Model sizes").nth(1).map(|s| s.split("\n## ").next().unwrap()).unwrap_or("");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    let tensors: Vec<(String, Vec<usize>)> = json["tensors"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect())).collect();
    let mut missing = Vec::new();
    for (label, quant) in [("Q4", Stored::Q4), ("Q8", Stored::Q8), ("F16", Stored::F16)] {
        let plan = Plan::for_quant(quant);
        let planned = plan_tensors(tensors.iter().map(|(n, s)| (n.as_str(), s.as_slice())), &plan, MAX_PART_BYTES).unwrap();
        let parts = planned.iter().filter(|p| p.source_rows.is_some()).count();
        assert!(planned.iter().all(|p| p.length <= MAX_PART_BYTES), "{label}: a tensor over 128 MiB");
        let (bytes, shards) = size_of(&keys, &plan);
        let row = format!("| Qwen3-VL-2B-Instruct {label} | {} ({shards} shards; embedding in {parts} parts) |", mb(bytes));
        eprintln!("{row}");
        if !section.contains(&row) {
            missing.push(row);
        }
    }
    assert!(missing.is_empty(), "README.md `## Model sizes` lacks these rows (update it):\n{}", missing.join("\n"));
}
