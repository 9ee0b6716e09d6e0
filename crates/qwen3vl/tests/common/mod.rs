//! Shared by the reference tests: open a fixture case (`tests/fixtures/qwen3vl/<case>`), read
//! expected tensors, run a recording with taps and compare every tapped tensor the reference
//! also recorded.
// Each test file uses part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use visionllm_gpu::{conformance, DType, Device, Gpu, Overrides, Recorder, Tensor};
use visionllm_qwen3vl::Qwen3Vl;

pub const CASES: [&str; 3] = ["tiny", "odd", "photo"];

pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    pub expected: Vec<u8>,
    pub info: serde_json::Value,
}

impl Case {
    pub fn open(name: &str) -> Case {
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/qwen3vl")).join(name);
        let expected = std::fs::read(dir.join("expected.safetensors")).unwrap();
        let info = serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        Case { name: name.to_string(), dir, expected, info }
    }

    fn st(&self) -> safetensors::SafeTensors<'_> {
        safetensors::SafeTensors::deserialize(&self.expected).unwrap()
    }

    pub fn has(&self, name: &str) -> bool {
        self.st().names().contains(&name)
    }

    pub fn f32(&self, name: &str) -> Vec<f32> {
        let st = self.st();
        let v = st.tensor(name).unwrap_or_else(|_| panic!("{}: expected tensor {name}", self.name));
        assert_eq!(v.dtype(), safetensors::Dtype::F32, "{name}");
        v.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }

    pub fn i64s(&self, name: &str) -> Vec<i64> {
        let st = self.st();
        let v = st.tensor(name).unwrap_or_else(|_| panic!("{}: expected tensor {name}", self.name));
        assert_eq!(v.dtype(), safetensors::Dtype::I64, "{name}");
        v.data().chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()
    }

    pub fn ids(&self, name: &str) -> Vec<u32> {
        self.i64s(name).into_iter().map(|v| u32::try_from(v).unwrap()).collect()
    }

    pub fn u8(&self, name: &str) -> Vec<u8> {
        self.st().tensor(name).unwrap().data().to_vec()
    }

    pub fn system(&self) -> Option<String> {
        self.info["system"].as_str().map(str::to_string)
    }

    pub fn prompt_text(&self) -> String {
        self.info["prompt_text"].as_str().unwrap().to_string()
    }

    /// The case's image as interleaved RGB (width, height, bytes).
    pub fn image(&self) -> (usize, usize, Vec<u8>) {
        let img = image::open(self.dir.join("image.png")).unwrap().to_rgb8();
        (img.width() as usize, img.height() as usize, img.into_raw())
    }

    /// The case's model on the native GPU adapter (lavapipe in CI).
    pub fn model(&self, dtype: DType) -> Qwen3Vl {
        self.model_on(&gpu(), dtype)
    }

    pub fn model_on(&self, device: &Device, dtype: DType) -> Qwen3Vl {
        Qwen3Vl::load_dir(device.clone(), &self.dir, dtype).unwrap()
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

/// Record with `f` (which taps tensors), read every tap back, compare each with the reference,
/// return the names compared.
pub fn run_and_compare(case: &Case, device: &Device, rtol: f32, f: impl FnOnce(&mut Recorder, &mut dyn FnMut(&str, &Tensor))) -> Vec<String> {
    let mut taps: BTreeMap<String, Tensor> = BTreeMap::new();
    let mut rec = Recorder::new(device);
    f(&mut rec, &mut |name, t| {
        taps.insert(name.to_string(), t.clone());
    });
    let staged: Vec<(String, visionllm_gpu::readback::Staged)> = taps.iter().filter(|(n, _)| case.has(n)).map(|(n, t)| (n.clone(), rec.stage_read(t).unwrap())).collect();
    rec.submit();
    let mut worst = Vec::new();
    for (name, s) in &staged {
        let got = pollster::block_on(s.read_f32(device)).unwrap();
        let want = case.f32(name);
        match conformance::compare(&got, &want, rtol, &format!("{}: {name}", case.name)) {
            Ok(w) => worst.push(format!("{name}: {w:.3}")),
            Err(e) => panic!("{e}\n(passed before it: {worst:?})"),
        }
    }
    eprintln!("{} on {device:?}: compared (worst err/bound): {worst:?}", case.name);
    staged.into_iter().map(|(n, _)| n).collect()
}
