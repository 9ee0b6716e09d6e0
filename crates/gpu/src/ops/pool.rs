//! Mean pooling over tokens (the DaViT tower's pooled image feature): [N, C] -> [1, C].

use crate::error::{shape_err, Result};
use crate::kernel;
use crate::pipeline::Kernel;
use crate::recorder::{grid, Recorder};
use crate::tensor::Tensor;

use super::{check_u32, float_dtype, variant_for};

const POOL: Kernel = kernel!("pool");

/// The mean of the rows of x [.., N, C] (all leading dims count as tokens) -> [1, C].
pub fn mean_pool(rec: &mut Recorder, x: &Tensor) -> Result<Tensor> {
    let dtype = float_dtype(rec, "mean_pool", &[x])?;
    let (rows, cols) = x.dims2();
    if x.shape.len() < 2 || rows == 0 || cols == 0 {
        return Err(shape_err("mean_pool", format!("x {:?}: need [N, C] with N, C > 0", x.shape)));
    }
    check_u32("mean_pool", x.numel())?;
    if let Some(c) = rec.cpu() {
        return Ok(c.from_f32(&[1, cols], visionllm_cpu::pool::mean_pool(x.cpu_read("mean_pool")?.f32(), rows, cols)));
    }
    let y = rec.alloc(&[1, cols], dtype);
    let pipeline = rec.gpu().pipeline(&POOL, "mean_rows", &variant_for(rec.gpu(), dtype));
    rec.dispatch(&pipeline, &[rows as u32, cols as u32, 0, 0], &[x, &y], grid((cols as u32).div_ceil(64)));
    Ok(y)
}
