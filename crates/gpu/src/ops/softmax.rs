//! Softmax over the last dim with an optional scale folded in (attention scores times
//! head_dim^-0.5 need no separate pass), one workgroup per row.

use crate::error::{shape_err, Result};
use crate::kernel;
use crate::pipeline::Kernel;
use crate::recorder::{grid, Recorder};
use crate::tensor::Tensor;

use super::{float_dtype, variant_for};

const SOFTMAX: Kernel = kernel!("softmax");

/// softmax(scale * x) over the last dim of x [.., C].
pub fn softmax(rec: &mut Recorder, x: &Tensor, scale: f32) -> Result<Tensor> {
    let dtype = float_dtype(rec, "softmax", &[x])?;
    let (rows, cols) = x.dims2();
    if x.shape.is_empty() || cols == 0 || !scale.is_finite() {
        return Err(shape_err("softmax", format!("x {:?} with scale {scale}: need a non-empty last dim and a finite scale", x.shape)));
    }
    if let Some(c) = rec.cpu() {
        return Ok(c.from_f32(&x.shape, visionllm_cpu::softmax::softmax(x.cpu_read("softmax")?.f32(), rows, cols, scale)));
    }
    let y = rec.alloc(&x.shape, dtype);
    if rows == 0 {
        return Ok(y);
    }
    let pipeline = rec.gpu().pipeline(&SOFTMAX, "softmax", &variant_for(rec.gpu(), dtype));
    rec.dispatch(&pipeline, &[rows as u32, cols as u32, scale.to_bits(), 0], &[x, &y], grid(rows as u32));
    Ok(y)
}
