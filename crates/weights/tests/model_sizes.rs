//! Download sizes of Florence-2-base(-ft) and -large(-ft) in the converted format, computed from
//! the full-size key lists (`keys_*.json`, every tensor of the real checkpoints; the -ft models
//! share the geometry) with the converter's own class rules, shard packing and header layout —
//! so the README's `## Model sizes` table is derived, not guessed. The test checks that the table
//! states these numbers (`full_size_keys.rs` checks the prediction against a real conversion).

mod common;

use common::fixture;
use visionllm_weights::classify::Plan;
use visionllm_weights::convert::plan_tensors;
use visionllm_weights::shards::{pack, predicted_bytes, MAX_SHARD_BYTES};
use visionllm_weights::Stored;

fn size(file: &str, plan: &Plan) -> (u64, usize) {
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture(file)).unwrap()).unwrap();
    let tensors: Vec<(String, Vec<usize>)> = json["tensors"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect())).collect();
    let planned = plan_tensors(tensors.iter().map(|(n, s)| (n.as_str(), s.as_slice())), plan).unwrap();
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
