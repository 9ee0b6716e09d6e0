//! The floor under every backend (ARCHITECTURE.md, "Backends"): what the GPU backend
//! (`visionllm-gpu`), the CPU backend (`visionllm-cpu`), the converter (`visionllm-weights`) and the
//! models agree on, with no device behind it, so the converter and the CPU backend build without
//! wgpu.
//!
//! - `dtype`, `quant`: element types and the quantized block layout (one f16 scale per 32 values);
//! - `geometry`: the index spaces of the op families (strided matmul, attention rows, strided copy);
//! - `error`: one error type for every backend;
//! - `twin`: the plain-Rust twin of every kernel, written for clarity (f64 sums): the oracle both
//!   backends' kernels are checked against.

pub mod dtype;
pub mod epilogue;
pub mod error;
pub mod geometry;
pub mod quant;
pub mod twin;

pub use dtype::{byte_len, DType};
pub use epilogue::Epilogue;
pub use error::{BackendError, Result};
