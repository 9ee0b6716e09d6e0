//! Norms over the last dim: LayerNorm (every LayerNorm in Florence-2: DaViT's channels-last norms,
//! the projector's, BART's; Qwen3-VL's ViT) and RMSNorm (Qwen3's decoder norms and per-head q/k
//! norms): one workgroup per row, or one invocation per row where barriers are dear.

use crate::caps::Tiling;
use crate::error::{shape_err, Result};
use crate::kernel;
use crate::pipeline::Kernel;
use crate::recorder::{grid, Recorder};
use crate::tensor::Tensor;

use super::{float_dtype, variant_for};

const NORM: Kernel = kernel!("norm");
const RMSNORM: Kernel = kernel!("rmsnorm");

/// x [.., C] normalised over C, then scaled by gamma [C] and shifted by beta [C].
pub fn layernorm(rec: &mut Recorder, x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f32) -> Result<Tensor> {
    let dtype = float_dtype(rec, "layernorm", &[x, gamma, beta])?;
    let (rows, cols) = x.dims2();
    if x.shape.is_empty() || cols == 0 || gamma.numel() != cols || beta.numel() != cols {
        return Err(shape_err("layernorm", format!("x {:?}, gamma {:?}, beta {:?}", x.shape, gamma.shape, beta.shape)));
    }
    if !(eps >= 0.0 && eps.is_finite()) {
        return Err(shape_err("layernorm", format!("eps {eps} must be finite and >= 0")));
    }
    if let Some(c) = rec.cpu() {
        let (x_, g, b) = (x.cpu_read("layernorm")?, gamma.cpu_read("layernorm")?, beta.cpu_read("layernorm")?);
        return Ok(c.from_f32(&x.shape, visionllm_cpu::norm::layernorm(x_.f32(), rows, cols, g.f32(), b.f32(), eps)));
    }
    let y = rec.alloc(&x.shape, dtype);
    if rows == 0 {
        return Ok(y);
    }
    let (entry, groups) = match rec.gpu().caps.tiling {
        Tiling::Workgroup => ("layernorm", grid(rows as u32)),
        Tiling::Registers => ("layernorm_rows", grid(rows.div_ceil(64) as u32)),
    };
    let pipeline = rec.gpu().pipeline(&NORM, entry, &variant_for(rec.gpu(), dtype));
    let params = [rows as u32, cols as u32, eps.to_bits(), 0];
    rec.dispatch(&pipeline, &params, &[x, gamma, beta, &y], groups);
    Ok(y)
}

/// x [.., C] divided by its root mean square over C (plus eps), then scaled by gamma [C]. A
/// per-head norm is this over x viewed as [rows * heads, head_dim].
pub fn rmsnorm(rec: &mut Recorder, x: &Tensor, gamma: &Tensor, eps: f32) -> Result<Tensor> {
    let dtype = float_dtype(rec, "rmsnorm", &[x, gamma])?;
    let (rows, cols) = x.dims2();
    if x.shape.is_empty() || cols == 0 || gamma.numel() != cols {
        return Err(shape_err("rmsnorm", format!("x {:?}, gamma {:?}", x.shape, gamma.shape)));
    }
    if !(eps >= 0.0 && eps.is_finite()) {
        return Err(shape_err("rmsnorm", format!("eps {eps} must be finite and >= 0")));
    }
    if let Some(c) = rec.cpu() {
        let (x_, g) = (x.cpu_read("rmsnorm")?, gamma.cpu_read("rmsnorm")?);
        return Ok(c.from_f32(&x.shape, visionllm_cpu::norm::rmsnorm(x_.f32(), rows, cols, g.f32(), eps)));
    }
    let y = rec.alloc(&x.shape, dtype);
    if rows == 0 {
        return Ok(y);
    }
    let (entry, groups) = match rec.gpu().caps.tiling {
        Tiling::Workgroup => ("rmsnorm", grid(rows as u32)),
        Tiling::Registers => ("rmsnorm_rows", grid(rows.div_ceil(64) as u32)),
    };
    let pipeline = rec.gpu().pipeline(&RMSNORM, entry, &variant_for(rec.gpu(), dtype));
    let params = [rows as u32, cols as u32, eps.to_bits(), 0];
    rec.dispatch(&pipeline, &params, &[x, gamma, &y], groups);
    Ok(y)
}
