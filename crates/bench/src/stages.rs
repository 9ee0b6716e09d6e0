//! One image through a loaded model, stage by stage, through the model's public path: the vision
//! tower + projector (`Florence2::image_features`, waited for on the GPU), then
//! `Florence2::generate_with` (the one generation path), whose `on_step` hook gives per-step
//! counts. Counters come from the runtime (`Gpu::profiler`: queue submits and dispatches since
//! the device was made; none on the CPU backend, which records nothing); memory from wgpu's
//! allocator report (live bytes on the device, sampled after every stage and step; `None` where
//! the backend has no report, e.g. in a browser), or on the CPU backend its tensors' bytes.

use std::ops::ControlFlow;
use std::time::Instant;

use serde_json::{json, Value};
use visionllm_florence2::{Decoding, Florence2};
use visionllm_gpu::{Device, Recorder, Tensor};

use crate::timing::{ms, round3};

/// Live bytes the device has allocated (weights, pooled activations, caches, staging; on the CPU
/// backend the tensors' memory).
pub fn device_bytes(device: &Device) -> Option<u64> {
    match device {
        Device::Gpu(gpu) => gpu.device.generate_allocator_report().map(|r| r.total_allocated_bytes),
        Device::Cpu(cpu) => Some(cpu.memory().live()),
    }
}

/// The process's peak resident set (Linux `VmHWM`), for the CPU backend's memory report.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The highest `gpu_bytes` seen.
#[derive(Default, Clone, Copy)]
pub struct Peak(pub Option<u64>);

impl Peak {
    pub fn sample(&mut self, device: &Device) {
        if let Some(b) = device_bytes(device) {
            self.0 = Some(self.0.map_or(b, |p| p.max(b)));
        }
    }
}

/// Vision tower + projector on CHW pixel values, waited for: (features, ms).
pub fn vision(model: &Florence2, pixels: &[f32]) -> Result<(Tensor, f64), String> {
    let t = Instant::now();
    let mut rec = Recorder::new(model.device());
    let features = model.image_features(&mut rec, pixels, &mut |_, _| {}).map_err(|e| e.to_string())?;
    rec.submit();
    pollster::block_on(model.device().idle()).map_err(|e| e.to_string())?;
    Ok((features, ms(t.elapsed())))
}

/// What one generation measured.
pub struct Decoded {
    pub ids: Vec<u32>,
    pub encoder_ms: f64,
    pub decode_ms: f64,
    pub first_step_ms: f64,
    pub submits_per_token: Option<f64>,
    pub dispatches_per_token: Option<f64>,
}

impl Decoded {
    pub fn tokens(&self) -> usize {
        self.ids.len().saturating_sub(1)
    }

    /// The per-decoding fields of the contract.
    pub fn json(&self) -> Value {
        let tokens = self.tokens().max(1) as f64;
        json!({
            "encoder_ms": round3(self.encoder_ms),
            "decode_ms_per_token": round3(self.decode_ms / tokens),
            "tokens": self.tokens(),
            "first_step_ms": round3(self.first_step_ms),
            "submits_per_token": self.submits_per_token.map(round3),
            "dispatches_per_token": self.dispatches_per_token.map(round3),
        })
    }
}

/// Encoder + decoder for `ids` over `features`, sampling `peak` after every step.
pub fn generate(model: &Florence2, ids: &[u32], features: &Tensor, decoding: &Decoding, max_new_tokens: usize, peak: &mut Peak) -> Result<Decoded, String> {
    let device = model.device().clone();
    // Counts after each step: the differences between steps 1 and n are the steady-state cost of
    // a token (step 1 also computes every layer's cross-attention keys and values).
    let mut counts: Vec<(u64, u64)> = Vec::new();
    let mut first_step_ms = 0.0;
    let generated = pollster::block_on(model.generate_with(ids, features, decoding, max_new_tokens, &mut |step| {
        if let Some(gpu) = device.gpu() {
            counts.push(gpu.profiler.counts());
        }
        if step.new_tokens == 1 {
            first_step_ms = ms(step.elapsed);
        }
        peak.sample(&device);
        ControlFlow::Continue(())
    }))
    .map_err(|e| e.to_string())?;
    peak.sample(&device);
    let per_token = |pick: fn(&(u64, u64)) -> u64| match (counts.first(), counts.last()) {
        (Some(a), Some(b)) if counts.len() >= 2 => Some((pick(b) - pick(a)) as f64 / (counts.len() - 1) as f64),
        _ => None,
    };
    Ok(Decoded {
        encoder_ms: ms(generated.encode_time),
        decode_ms: ms(generated.decode_time),
        first_step_ms,
        submits_per_token: per_token(|c| c.0),
        dispatches_per_token: per_token(|c| c.1),
        ids: generated.ids,
    })
}

/// With `VISIONLLM_PROFILE=1` the runtime times every dispatch: print where the time went
/// (stderr, so `--json` output stays one object per line).
pub fn print_profile(device: &Device, stage: &str) {
    let Some(gpu) = device.gpu().filter(|g| g.profiler.enabled()) else { return };
    let kernels = gpu.profiler.take();
    let total: f64 = kernels.iter().map(|k| k.ms).sum();
    eprintln!("profile {stage}: {total:.1} ms in {} dispatches", kernels.iter().map(|k| k.dispatches).sum::<u64>());
    for k in kernels.iter().take(20) {
        eprintln!("  {:>9.1} ms {:>5.1}% {:>6}x  {}", k.ms, 100.0 * k.ms / total.max(1e-9), k.dispatches, k.name);
    }
}
