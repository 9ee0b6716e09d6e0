//! Rotary position embedding ("rotate half", as Qwen3's text decoder and ViT apply it) from
//! per-row cos/sin tables, so the position scheme (1-D, multimodal sections, 2-D grids) is the
//! model's business and the kernel only rotates.

use crate::dtype::DType;
use crate::error::{shape_err, Result};
use crate::kernel;
use crate::pipeline::Kernel;
use crate::recorder::{grid, Recorder};
use crate::tensor::Tensor;

use super::{check_u32, float_dtype, variant_for};

const ROPE: Kernel = kernel!("rope");

/// x [R, W] with heads of `head_dim` columns: the first `rotated` columns (whole heads) are
/// rotated by row r's angles, cos and sin [R, head_dim] (f32), the rest copied. Returns [R, W].
pub fn rope(rec: &mut Recorder, x: &Tensor, cos: &Tensor, sin: &Tensor, head_dim: usize, rotated: usize) -> Result<Tensor> {
    let dtype = float_dtype(rec, "rope", &[x])?;
    let (rows, width) = x.dims2();
    let table = [rows, head_dim];
    let tables_ok = cos.dtype == DType::F32 && sin.dtype == DType::F32 && cos.numel() == rows * head_dim && sin.numel() == rows * head_dim;
    if x.shape.len() != 2 || head_dim == 0 || head_dim % 2 != 0 || rotated % head_dim != 0 || rotated > width || !tables_ok {
        return Err(shape_err("rope", format!("x {:?}, cos {:?} {:?}, sin {:?} {:?}, head dim {head_dim}, {rotated} rotated columns (tables must be f32 {table:?})", x.shape, cos.shape, cos.dtype, sin.shape, sin.dtype)));
    }
    super::same_backend(rec, "rope", &[cos, sin])?;
    let n = rows * width;
    check_u32("rope", n)?;
    if let Some(c) = rec.cpu() {
        let (x_, cos, sin) = (x.cpu_read("rope")?, cos.cpu_read("rope")?, sin.cpu_read("rope")?);
        return Ok(c.from_f32(&x.shape, visionllm_cpu::rope::rope(x_.f32(), rows, width, cos.f32(), sin.f32(), head_dim, rotated)));
    }
    let y = rec.alloc(&x.shape, dtype);
    if n == 0 {
        return Ok(y);
    }
    let pipeline = rec.gpu().pipeline(&ROPE, "main", &variant_for(rec.gpu(), dtype));
    let params = [n as u32, width as u32, head_dim as u32, rotated as u32];
    rec.dispatch(&pipeline, &params, &[x, cos, sin, &y], grid((n as u32).div_ceil(256)));
    Ok(y)
}
