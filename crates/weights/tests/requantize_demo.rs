//! The shipped demo model, dequantized back to a checkpoint of the transformers layout (f32, as a
//! Hugging Face repository holds it), converts to the very same shard: re-quantizing Q8 values
//! finds the same scales and codes, f16 values survive f32. This is what the browser e2e relies on
//! when it serves that checkpoint as a "Hugging Face repository" and expects the shipped hashes.

mod common;

use common::TempDir;
use visionllm_weights::conversion_plan::Options;
use visionllm_weights::convert::convert_dir;
use visionllm_weights::{Checkpoint, Stored};

#[test]
fn the_demo_model_dequantized_converts_back_to_the_shipped_bytes() {
    let demo = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../public/models/demo"));
    let shipped = Checkpoint::open_dir(&demo).unwrap();
    let native = TempDir::new("demo-native");
    let mut names: Vec<&str> = shipped.names().collect();
    names.sort();
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = names
        .iter()
        .map(|n| {
            let (shape, values) = shipped.f32(n).unwrap();
            (n.to_string(), shape, values.iter().flat_map(|v| v.to_le_bytes()).collect())
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> =
        tensors.iter().map(|(n, s, b)| (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b).unwrap())).collect();
    safetensors::serialize_to_file(views, None, &native.path().join("model.safetensors")).unwrap();
    for f in ["config.json", "tokenizer.json", "preprocessor_config.json"] {
        std::fs::copy(demo.join(f), native.path().join(f)).unwrap();
    }
    let out = TempDir::new("demo-requantized");
    let report = convert_dir(native.path(), out.path(), &Options::quant(Stored::Q8)).unwrap();
    let want = shipped.manifest().unwrap();
    assert_eq!(report.manifest.shards, want.shards, "same shard names, sizes and sha256");
    assert_eq!(report.manifest.tensors, want.tensors);
}
