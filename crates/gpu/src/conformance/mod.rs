//! The conformance suite: every kernel against its CPU twin over random and awkward shapes.
//! The same async checks run natively (`tests/kernels.rs`, on every capability variant) and in
//! the browser (`tests/browser.rs`), so both targets are held to one standard.
//! Behind the `conformance` feature (on for this crate's own tests through its self
//! dev-dependency, and for the model crates' tests), so the app's build does not carry it.

pub mod matmul;
pub mod attention;
pub mod linear;
pub mod logprobs;
pub mod qmatmul;
pub mod conv;
pub mod norm;
pub mod rope;
pub mod elementwise;
pub mod softmax;
pub mod pool;
pub mod embedding;
pub mod copy;
pub mod topk;

use crate::device::Device;
use crate::dtype::DType;

/// splitmix64: a seeded generator with no dependencies, identical on every target.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo) as u64) as usize
    }

    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.unit()).collect()
    }

    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
}

/// Tolerance for a dtype: f32 1e-4, f16 1e-2 (relative, see [`compare`]).
pub fn tolerance(dtype: DType) -> f32 {
    match dtype {
        DType::F16 => 1e-2,
        _ => 1e-4,
    }
}

/// Round values to what an f16 tensor can hold, so a twin sees the GPU's inputs exactly.
pub fn round_to(dtype: DType, v: &[f32]) -> Vec<f32> {
    match dtype {
        DType::F16 => v.iter().map(|&x| half::f16::from_f32(x).to_f32()).collect(),
        _ => v.to_vec(),
    }
}

/// Relative comparison: every element must satisfy |got - want| <= rtol * (|want| + rms(want)).
/// The rms term keeps elements that cancel to nearly zero from demanding absolute precision
/// beyond what the inputs' magnitude allows. Returns the worst ratio err / bound.
pub fn compare(got: &[f32], want: &[f32], rtol: f32, what: &str) -> Result<f32, String> {
    if got.len() != want.len() {
        return Err(format!("{what}: {} values, expected {}", got.len(), want.len()));
    }
    let rms = (want.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / want.len().max(1) as f64).sqrt() as f32;
    let mut worst = 0f32;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let bound = rtol * (w.abs() + rms).max(f32::MIN_POSITIVE);
        let ratio = (g - w).abs() / bound;
        if !(ratio <= 1.0) {
            return Err(format!("{what}: element {i}: got {g}, expected {w} (rtol {rtol}, rms {rms})"));
        }
        worst = worst.max(ratio);
    }
    Ok(worst)
}

/// Which dtypes this device can run float kernels in.
pub fn float_dtypes(device: &Device) -> Vec<DType> {
    if device.supports_f16() {
        vec![DType::F32, DType::F16]
    } else {
        vec![DType::F32]
    }
}

/// Every kernel family once on `device`, seeds from `seed` up: the number of cases that matched.
/// The wasm runs of the CPU backend (in Node, `tests/cpu_wasm.rs`, and in Chromium,
/// `tests/browser.rs`) use it; natively each family is its own test (`tests/kernels.rs`).
pub async fn check_every_kernel(d: &Device, seed: u64) -> Result<usize, String> {
    let mut n = 0;
    n += matmul::check_matmul(d, seed).await?;
    n += qmatmul::check_qmatmul(d, seed + 1).await?;
    n += linear::check_linear(d, seed + 2).await?;
    n += attention::check_window_attention(d, seed + 3).await?;
    n += attention::check_attention(d, seed + 4).await?;
    n += attention::check_causal_attention(d, seed + 5).await?;
    n += attention::check_channel_attention(d, seed + 6).await?;
    n += conv::check_conv(d, seed + 7).await?;
    n += norm::check_layernorm(d, seed + 8).await?;
    n += norm::check_rmsnorm(d, seed + 9).await?;
    n += rope::check_rope(d, seed + 10).await?;
    n += elementwise::check_elementwise(d, seed + 11).await?;
    n += softmax::check_softmax(d, seed + 12).await?;
    n += pool::check_mean_pool(d, seed + 13).await?;
    n += embedding::check_embedding(d, seed + 14).await?;
    n += copy::check_copy(d, seed + 15).await?;
    n += topk::check_topk(d, seed + 16).await?;
    n += logprobs::check_logprobs(d, seed + 17).await?;
    Ok(n)
}
