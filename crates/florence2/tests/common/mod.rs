//! Shared by the reference tests: open a fixture case, read expected tensors, run a recording with
//! taps and compare every tapped tensor that the reference also recorded.
// Each test file uses part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use visionllm_florence2::Florence2;
use visionllm_gpu::{conformance, DType, Gpu, Overrides, Recorder, Tensor};

pub struct Case {
    pub dir: PathBuf,
    pub expected: Vec<u8>,
    pub info: serde_json::Value,
}

impl Case {
    pub fn open(name: &str) -> Case {
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/florence2")).join(name);
        let expected = std::fs::read(dir.join("expected.safetensors")).unwrap();
        let info = serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        Case { dir, expected, info }
    }

    fn st(&self) -> safetensors::SafeTensors<'_> {
        safetensors::SafeTensors::deserialize(&self.expected).unwrap()
    }

    pub fn has(&self, name: &str) -> bool {
        self.st().names().contains(&name)
    }

    pub fn f32(&self, name: &str) -> Vec<f32> {
        let st = self.st();
        let v = st.tensor(name).unwrap_or_else(|_| panic!("expected tensor {name}"));
        assert_eq!(v.dtype(), safetensors::Dtype::F32, "{name}");
        v.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }

    pub fn ids(&self, name: &str) -> Vec<u32> {
        let st = self.st();
        let v = st.tensor(name).unwrap();
        assert_eq!(v.dtype(), safetensors::Dtype::I64, "{name}");
        v.data().chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap()) as u32).collect()
    }

    pub fn u8(&self, name: &str) -> Vec<u8> {
        self.st().tensor(name).unwrap().data().to_vec()
    }

    pub fn input_size(&self) -> usize {
        self.info["input_size"][0].as_u64().unwrap() as usize
    }

    pub fn model(&self, dtype: DType) -> Florence2 {
        let gpu: Arc<Gpu> = Gpu::new_blocking(Overrides::NONE).unwrap();
        Florence2::load_dir(gpu, &self.dir, dtype).unwrap()
    }

    /// The image features of the case's pixel values (vision tower and projector), submitted.
    pub fn features(&self, model: &Florence2) -> Tensor {
        let mut rec = Recorder::new(model.gpu());
        let features = model.image_features(&mut rec, &self.pixel_values(), &mut |_, _| {}).unwrap();
        rec.submit();
        features
    }

    /// The reference's pixel values: stored whole (tiny224) or rebuilt exactly from the stored
    /// resized uint8 image (f32(f64(u8) / 255), then (x - mean) / std in f32, as asserted there).
    pub fn pixel_values(&self) -> Vec<f32> {
        if self.has("pixel_values") {
            return self.f32("pixel_values");
        }
        let u8s = self.u8("pixel_values_u8");
        let s = self.input_size();
        let mean = visionllm_florence2::preprocess::MEAN;
        let std = visionllm_florence2::preprocess::STD;
        u8s.iter().enumerate().map(|(i, &v)| ((v as f64 * (1.0 / 255.0)) as f32 - mean[i / (s * s)]) / std[i / (s * s)]).collect()
    }
}

/// Record with `f` (which taps tensors), read every tap back, compare each with the reference
/// (under `rename(tap name)`), return how many were compared.
pub fn run_and_compare(case: &Case, gpu: &Gpu, rtol: f32, rename: impl Fn(&str) -> String, f: impl FnOnce(&mut Recorder, &mut dyn FnMut(&str, &Tensor))) -> usize {
    let mut taps: BTreeMap<String, Tensor> = BTreeMap::new();
    let mut rec = Recorder::new(gpu);
    f(&mut rec, &mut |name, t| {
        taps.insert(rename(name), t.clone());
    });
    let staged: Vec<(String, visionllm_gpu::readback::Staged)> = taps.iter().filter(|(n, _)| case.has(n)).map(|(n, t)| (n.clone(), rec.stage_read(t))).collect();
    rec.submit();
    let mut worst = Vec::new();
    for (name, s) in &staged {
        let got = pollster::block_on(s.read_f32(gpu)).unwrap();
        let want = case.f32(name);
        match conformance::compare(&got, &want, rtol, name) {
            Ok(w) => worst.push(format!("{name}: {w:.3}")),
            Err(e) => panic!("{e}\n(passed before it: {worst:?})"),
        }
    }
    eprintln!("compared (worst err/bound): {worst:?}");
    staged.len()
}

/// The one generation path, run to the end (no step stops it).
pub fn generate(
    model: &Florence2,
    input_ids: &[u32],
    features: &Tensor,
    decoding: &visionllm_florence2::Decoding,
    max_new_tokens: usize,
) -> Result<visionllm_florence2::Generated, visionllm_florence2::ModelError> {
    pollster::block_on(model.generate_with(input_ids, features, decoding, max_new_tokens, &mut |_| std::ops::ControlFlow::Continue(())))
}
