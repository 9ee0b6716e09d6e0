//! A full-size random checkpoint with Florence-2-base's real key names and shapes (from
//! `keys_base.json`; generated here, never committed) converts to Q4 with every tensor accounted
//! for: 665 tensors in the file (668 state-dict entries minus the 3 tied aliases), 231,443,968
//! parameters + the 102,400-element temporal buffer, each in its class and stored dtype; the
//! shards verify, and their size is exactly what the size table (`model_sizes.rs`) predicts.

mod common;

use std::io::Write;

use common::{fixture, TempDir};
use visionllm_weights::classify::{classify, Class, Plan};
use visionllm_weights::convert::{convert_dir, plan_tensors, Options, MAX_PART_BYTES};
use visionllm_weights::shards::{pack, predicted_bytes, MAX_SHARD_BYTES};
use visionllm_weights::{Checkpoint, Stored};

fn keys(file: &str) -> (serde_json::Value, Vec<(String, Vec<usize>)>) {
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture(file)).unwrap()).unwrap();
    let tensors = json["tensors"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect())).collect();
    (json, tensors)
}

/// Write `model.safetensors` (f16) with these tensors; values cycle through a small random pool
/// (cheap to make, still varied enough that every block gets its own scale).
fn write_random_checkpoint(dir: &std::path::Path, tensors: &[(String, Vec<usize>)]) {
    let mut header = serde_json::Map::new();
    let mut offset = 0u64;
    for (name, shape) in tensors {
        let bytes = shape.iter().product::<usize>() as u64 * 2;
        header.insert(name.clone(), serde_json::json!({ "dtype": "F16", "shape": shape, "data_offsets": [offset, offset + bytes] }));
        offset += bytes;
    }
    let mut header = serde_json::to_vec(&header).unwrap();
    header.resize(header.len().next_multiple_of(8), b' ');
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let pool: Vec<u8> = (0..1 << 20)
        .flat_map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2;
            half::f16::from_f32(v).to_le_bytes()
        })
        .collect();
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("model.safetensors")).unwrap());
    out.write_all(&(header.len() as u64).to_le_bytes()).unwrap();
    out.write_all(&header).unwrap();
    for (i, (_, shape)) in tensors.iter().enumerate() {
        let mut left = shape.iter().product::<usize>() * 2;
        let mut at = (i * 7919 * 2) % pool.len();
        while left > 0 {
            let n = left.min(pool.len() - at);
            out.write_all(&pool[at..at + n]).unwrap();
            left -= n;
            at = 0;
        }
    }
    out.flush().unwrap();
}

#[test]
fn full_size_base_checkpoint_converts_with_every_tensor_accounted_for() {
    let (json, tensors) = keys("keys_base.json");
    assert_eq!(tensors.len(), 665);
    let src = TempDir::new("fullsize-src");
    write_random_checkpoint(src.path(), &tensors);
    std::fs::copy(fixture("config_base.json"), src.path().join("config.json")).unwrap();
    let out = TempDir::new("fullsize-q4");
    let t = std::time::Instant::now();
    let report = convert_dir(src.path(), out.path(), &Options::quant(Stored::Q4)).unwrap();
    eprintln!("{}converted in {:.1} s", report.table(), t.elapsed().as_secs_f64());
    drop(src);

    let m = &report.manifest;
    assert_eq!(m.tensors.len(), 665);
    assert_eq!(json["num_state_dict_entries"].as_u64().unwrap(), 665 + 3, "3 tied aliases are not in the file");
    let by_name: std::collections::HashMap<&str, &visionllm_weights::manifest::TensorEntry> = m.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut elements = 0u64;
    for (name, shape) in &tensors {
        let entry = by_name.get(name.as_str()).unwrap_or_else(|| panic!("{name} missing from the manifest"));
        assert_eq!(&entry.shape, shape, "{name}");
        let class = classify(name, shape);
        assert_ne!(class, Class::Other, "{name} has no class");
        assert_eq!(entry.class, class.name(), "{name}");
        let want = if matches!(class, Class::Matmul | Class::Embedding) { Stored::Q4 } else { Stored::F16 };
        assert_eq!(entry.dtype, want, "{name}");
        elements += shape.iter().product::<usize>() as u64;
    }
    assert_eq!(elements, 231_546_368);
    assert_eq!(elements - 102_400, 231_443_968, "parameters = elements - the temporal buffer [100, 1024]");
    assert_eq!(json["num_parameters"].as_u64().unwrap(), 231_443_968);
    let counted: u64 = report.classes.values().map(|c| c.params).sum();
    assert_eq!(counted, elements, "the per-class report counts every value once");
    assert_eq!(report.classes[&Class::Matmul].tensors, 193);

    for (i, s) in m.shards.iter().enumerate() {
        let in_shard: Vec<_> = m.tensors.iter().filter(|t| t.shard == i).collect();
        let data: u64 = in_shard.iter().map(|t| t.length).sum();
        assert!(data <= MAX_SHARD_BYTES || in_shard.len() == 1, "{}: {data} bytes in {} tensors", s.file, in_shard.len());
    }
    let planned = plan_tensors(tensors.iter().map(|(n, s)| (n.as_str(), s.as_slice())), &Plan::for_quant(Stored::Q4), MAX_PART_BYTES).unwrap();
    assert_eq!(m.total_bytes, predicted_bytes(&planned, &pack(&planned, MAX_SHARD_BYTES)), "the size table's prediction");
    let written: u64 = m.shards.iter().map(|s| std::fs::metadata(out.path().join(&s.file)).unwrap().len()).sum();
    assert_eq!(written, m.total_bytes);
    let t = std::time::Instant::now();
    let ckpt = Checkpoint::open_dir(out.path()).unwrap();
    eprintln!("verified {} shards in {:.1} s", m.shards.len(), t.elapsed().as_secs_f64());
    assert!(ckpt.quantized("model.language_model.shared.weight").unwrap().is_some());
}
