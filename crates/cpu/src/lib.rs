//! The CPU backend's fast kernels, on plain slices, one module per op family. Each computes what
//! its twin in `visionllm_core::twin` computes (the twins are the slow f64 oracles; the WGSL
//! kernels and their launchers define the semantics), accumulating in f32.
//!
//! - [`par`]: the thread policy (rayon with the `threads` feature, sequential otherwise);
//! - [`math`]: vectorizable inner loops and scalar functions (exp, erfc-GELU, sigmoid) and the
//!   runtime SIMD dispatch; `simd` (x86_64): explicit AVX2+FMA loops for the GEMVs; `simd_wasm`
//!   (wasm32 with simd128): the Q8/Q4 GEMV loops in WebAssembly SIMD;
//! - [`matmul`] (dense strided GEMM through the `gemm` crate, with the linear-layer epilogue),
//!   [`qmatmul`] (Q8/Q4 linear: GEMV for decode, dequantized panels + gemm otherwise),
//!   [`attention`] (fused, online softmax), [`channel_attention`], [`conv`], [`copy`],
//!   [`elementwise`], [`embedding`], [`norm`], [`pool`], [`rope`], [`softmax`], [`topk`],
//!   [`logprobs`].
//!
//! Inputs are validated by the caller (the backend's dispatch); kernels assert only what keeps
//! their unsafe gemm calls in bounds.

pub mod par;
pub mod math;
#[cfg(target_arch = "x86_64")]
mod simd;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd_wasm;

pub mod attention;
pub mod channel_attention;
pub mod conv;
pub mod copy;
pub mod elementwise;
pub mod embedding;
pub mod logprobs;
pub mod matmul;
pub mod norm;
pub mod pool;
pub mod qmatmul;
pub mod rope;
pub mod softmax;
pub mod topk;
