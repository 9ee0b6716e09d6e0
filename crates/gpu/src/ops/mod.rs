//! Launchers: one per kernel, each recording dispatches into a [`crate::Recorder`]. The plain-Rust
//! twin of every launcher lives under [`crate::twin`] with the same name.

pub mod matmul;
pub mod attention;
pub mod channel_attention;
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

use crate::context::Gpu;
use crate::recorder::Recorder;
use crate::dtype::DType;
use crate::error::{BackendError, Result};
use crate::shader::Variant;
use crate::tensor::Tensor;

/// Float activations must be F32, or F16 on a GPU with shader-f16 (the CPU backend runs f32);
/// all operands alike, and all on the recording's backend.
pub(crate) fn float_dtype(rec: &Recorder, op: &'static str, tensors: &[&Tensor]) -> Result<DType> {
    same_backend(rec, op, tensors)?;
    let dtype = tensors[0].dtype;
    for t in tensors {
        if t.dtype != dtype {
            return Err(crate::error::shape_err(op, format!("mixed dtypes {:?} and {:?}", dtype, t.dtype)));
        }
    }
    match dtype {
        DType::F32 => Ok(dtype),
        DType::F16 if rec.device().supports_f16() => Ok(dtype),
        other => Err(BackendError::DType { op, dtype: other }),
    }
}

/// Every operand must live on the recording's backend (a GPU tensor cannot join CPU work).
pub(crate) fn same_backend(rec: &Recorder, op: &'static str, tensors: &[&Tensor]) -> Result<()> {
    let on_cpu = rec.cpu().is_some();
    match tensors.iter().find(|t| t.is_cpu() != on_cpu) {
        Some(t) => Err(BackendError::WrongBackend { op, detail: format!("{t:?} on a {} recording", rec.device().backend_name()) }),
        None => Ok(()),
    }
}

/// The base variant (element type, subgroups) for operands of `dtype`.
pub(crate) fn variant_for(gpu: &Gpu, dtype: DType) -> Variant {
    gpu.base_variant(dtype == DType::F16)
}

/// The entry point and grid of a (dense or quantized) matmul for the adapter's tiling: one row
/// against [N, K] weights is a GEMV (`lib/gemv.wgsl`), anything else the tiled kernel
/// (`lib/tile.wgsl`: 64x64 per workgroup; `lib/regs.wgsl`: 64 rows x 32 columns).
pub(crate) fn matmul_entry(gpu: &Gpu, gemv: bool, m: usize, n: usize, batch: usize) -> (&'static str, [u32; 3]) {
    use crate::caps::Tiling;
    use crate::recorder::grid;
    match (gemv, gpu.caps.tiling) {
        (true, Tiling::Workgroup) => ("gemv", grid(n as u32)),
        (true, Tiling::Registers) => ("gemv_regs", grid(n.div_ceil(64) as u32)),
        (false, Tiling::Workgroup) => ("main", [n.div_ceil(64) as u32, m.div_ceil(64) as u32, batch as u32]),
        (false, Tiling::Registers) => ("main_regs", [n.div_ceil(32) as u32, m.div_ceil(64) as u32, batch as u32]),
    }
}

/// Element counts are u32 inside the kernels (with room for the last partial workgroup).
pub(crate) fn check_u32(op: &'static str, n: usize) -> Result<()> {
    if n > (u32::MAX as usize) - 1024 {
        return Err(crate::error::shape_err(op, format!("{n} elements exceed what a u32 index can address")));
    }
    Ok(())
}
