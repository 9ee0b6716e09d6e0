//! Shared by the reference tests: open a fixture case, read expected tensors, run a recording with
//! taps and compare every tapped tensor that the reference also recorded.
// Each test file uses part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use visionllm_florence2::Florence2;
use visionllm_gpu::{conformance, DType, Device, Gpu, Overrides, Recorder, Tensor};

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

    /// The reference's activations of one forward pass: every tensor under the stage prefixes
    /// (`vision.`, `projector.`, `encoder.`, `decoder.step0.`), inputs and generated ids left out.
    pub fn stage_names(&self) -> Vec<String> {
        let stages = ["vision.", "projector.", "encoder.", "decoder.step0."];
        let mut names: Vec<String> = self.st().names().into_iter().filter(|n| stages.iter().any(|p| n.starts_with(p))).map(str::to_owned).collect();
        names.sort();
        names
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

    /// The case's model on the native GPU adapter (lavapipe in CI).
    pub fn model(&self, dtype: DType) -> Florence2 {
        self.model_on(&gpu(), dtype)
    }

    pub fn model_on(&self, device: &Device, dtype: DType) -> Florence2 {
        Florence2::load_dir(device.clone(), &self.dir, dtype).unwrap()
    }

    /// The image features of the case's pixel values (vision tower and projector), submitted.
    pub fn features(&self, model: &Florence2) -> Tensor {
        let mut rec = Recorder::new(model.device());
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

/// The native GPU adapter (lavapipe in CI).
pub fn gpu() -> Device {
    Device::Gpu(Gpu::new_blocking(Overrides::NONE).expect("a GPU adapter (install mesa-vulkan-drivers for lavapipe)"))
}

/// Every backend a reference test runs on: the CPU backend and the native GPU adapter.
pub fn devices() -> Vec<Device> {
    vec![Device::cpu(), gpu()]
}

/// Record with `f` (which taps tensors), read every tap back, compare each with the reference
/// (under `rename(tap name)`), return the names compared (sorted).
pub fn run_and_compare(case: &Case, device: &Device, rtol: f32, rename: impl Fn(&str) -> String, f: impl FnOnce(&mut Recorder, &mut dyn FnMut(&str, &Tensor))) -> Vec<String> {
    let mut taps: BTreeMap<String, Tensor> = BTreeMap::new();
    let mut rec = Recorder::new(device);
    f(&mut rec, &mut |name, t| {
        taps.insert(rename(name), t.clone());
    });
    let staged: Vec<(String, visionllm_gpu::readback::Staged)> = taps.iter().filter(|(n, _)| case.has(n)).map(|(n, t)| (n.clone(), rec.stage_read(t).unwrap())).collect();
    rec.submit();
    let mut worst = Vec::new();
    for (name, s) in &staged {
        let got = pollster::block_on(s.read_f32(device)).unwrap();
        let want = case.f32(name);
        match conformance::compare(&got, &want, rtol, name) {
            Ok(w) => worst.push(format!("{name}: {w:.3}")),
            Err(e) => panic!("{e}\n(passed before it: {worst:?})"),
        }
    }
    eprintln!("compared on {device:?} (worst err/bound): {worst:?}");
    staged.into_iter().map(|(n, _)| n).collect()
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
