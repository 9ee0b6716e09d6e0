//! Checkpoints with the original Microsoft key names (saved as safetensors) convert to exactly the
//! same bytes as the native checkpoint they were made from, so they load and compute the same
//! logits. The Microsoft-named checkpoint is generated here from the tiny224 fixture with the
//! inverse mapping (image_projection transposed, the tied lm_head and the zero final_logits_bias
//! added, as in the original files).

mod common;

use common::{fixture, TempDir};
use visionllm_weights::convert::{convert_dir, Options};
use visionllm_weights::msft::{from_native, to_native, Mapped};
use visionllm_weights::{Checkpoint, Stored};

fn write_microsoft_copy(dir: &std::path::Path) {
    let native = Checkpoint::open_dir(&fixture("tiny224")).unwrap();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut add = |name: String, shape: Vec<usize>, values: &[f32]| tensors.push((name, shape, values.iter().flat_map(|v| v.to_le_bytes()).collect()));
    for name in native.names() {
        let (shape, values) = native.f32(name).unwrap();
        let (ms, transpose) = from_native(name);
        if transpose {
            let (r, c) = (shape[0], shape[1]);
            let t: Vec<f32> = (0..r * c).map(|i| values[(i % r) * c + i / r]).collect();
            add(ms, vec![c, r], &t);
        } else {
            if name == "model.language_model.shared.weight" {
                add("language_model.lm_head.weight".into(), shape.clone(), &values);
                add("language_model.final_logits_bias".into(), vec![1, shape[0]], &vec![0.0; shape[0]]);
            }
            add(ms, shape, &values);
        }
    }
    let views: Vec<(String, safetensors::tensor::TensorView)> =
        tensors.iter().map(|(n, s, b)| (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b).unwrap())).collect();
    safetensors::serialize_to_file(views, None, &dir.join("model.safetensors")).unwrap();
    for f in ["config.json", "tokenizer.json", "preprocessor_config.json"] {
        std::fs::copy(fixture("tiny224").join(f), dir.join(f)).unwrap();
    }
}

#[test]
fn microsoft_names_convert_to_the_same_bytes_as_native() {
    let ms = TempDir::new("msft-src");
    write_microsoft_copy(ms.path());
    let from_ms = TempDir::new("msft-out");
    let from_native = TempDir::new("native-out");
    let r_ms = convert_dir(ms.path(), from_ms.path(), &Options::quant(Stored::Q8)).unwrap();
    let r_native = convert_dir(&fixture("tiny224"), from_native.path(), &Options::quant(Stored::Q8)).unwrap();
    eprintln!("{}", r_ms.table());
    assert_eq!(r_ms.layout, "microsoft (renamed)");
    assert_eq!(r_ms.dropped, ["language_model.final_logits_bias", "language_model.lm_head.weight"]);
    assert_eq!(r_ms.manifest, r_native.manifest, "same manifest, so same shard hashes");
    for s in &r_ms.manifest.shards {
        assert_eq!(std::fs::read(from_ms.path().join(&s.file)).unwrap(), std::fs::read(from_native.path().join(&s.file)).unwrap());
    }
}

#[test]
fn every_base_and_large_key_maps_back_and_forth() {
    for file in ["keys_base.json", "keys_large.json"] {
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture(file)).unwrap()).unwrap();
        let mut seen = std::collections::HashSet::new();
        for name in json["tensors"].as_object().unwrap().keys() {
            let (ms, transpose) = from_native(name);
            assert!(seen.insert(ms.clone()), "{ms} twice");
            let back = to_native(&ms);
            assert_eq!(back, if transpose { Mapped::Transposed(name.clone()) } else { Mapped::Name(name.clone()) }, "{name} -> {ms}");
        }
    }
}
