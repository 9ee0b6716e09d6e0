//! Greedy decoding and candidate selection over the logits: argmax and top-k (k <= 16) per row,
//! one workgroup per row, ties to the lower index (see `shaders/topk.wgsl`).

use crate::dtype::DType;
use crate::error::{shape_err, Result};
use crate::kernel;
use crate::pipeline::Kernel;
use crate::recorder::{grid, Recorder};
use crate::tensor::Tensor;

use super::{check_u32, float_dtype, variant_for};

const TOPK: Kernel = kernel!("topk");
/// Largest k: the merge keeps 64 lists of k (value, index) pairs in 16 KiB of shared memory.
pub const MAX_K: usize = 16;
const WG: usize = 64;

/// The index of the largest value of each row of x [.., V] -> u32 [rows] (first one on ties).
pub fn argmax(rec: &mut Recorder, x: &Tensor) -> Result<Tensor> {
    let (rows, cols) = checked(rec, x, 1, "argmax")?;
    if let Some(c) = rec.cpu() {
        return Ok(c.from_u32(&[rows], visionllm_cpu::topk::argmax(x.cpu_read("argmax")?.f32(), rows, cols)));
    }
    let idx = rec.alloc(&[rows], DType::U32);
    launch(rec, x, rows, cols, 1, &[x, &idx]);
    Ok(idx)
}

/// The k largest values of each row of x [.., V], sorted descending (ties: lower index first)
/// -> (values f32 [rows, k], indices u32 [rows, k]).
pub fn topk(rec: &mut Recorder, x: &Tensor, k: usize) -> Result<(Tensor, Tensor)> {
    let (rows, cols) = checked(rec, x, k, "topk")?;
    if let Some(c) = rec.cpu() {
        let (values, idx) = visionllm_cpu::topk::topk(x.cpu_read("topk")?.f32(), rows, cols, k);
        return Ok((c.from_f32(&[rows, k], values), c.from_u32(&[rows, k], idx)));
    }
    let values = rec.alloc(&[rows, k], DType::F32);
    let idx = rec.alloc(&[rows, k], DType::U32);
    launch(rec, x, rows, cols, k, &[x, &values, &idx]);
    Ok((values, idx))
}

fn checked(rec: &Recorder, x: &Tensor, k: usize, op: &'static str) -> Result<(usize, usize)> {
    float_dtype(rec, op, &[x])?;
    let (rows, cols) = x.dims2();
    if x.shape.is_empty() || k == 0 || k > MAX_K || k > cols {
        return Err(shape_err(op, format!("x {:?} with k = {k}: need 1 <= k <= min({MAX_K}, last dim)", x.shape)));
    }
    check_u32(op, x.numel())?;
    Ok((rows, cols))
}

fn launch(rec: &mut Recorder, x: &Tensor, rows: usize, cols: usize, k: usize, tensors: &[&Tensor]) {
    if rows == 0 {
        return;
    }
    let variant = variant_for(rec.gpu(), x.dtype).flag("ARGMAX", tensors.len() == 2).define("TOPK", k as u32).define("SLOTS", (WG * k) as u32);
    let pipeline = rec.gpu().pipeline(&TOPK, "topk", &variant);
    rec.dispatch(&pipeline, &[rows as u32, cols as u32, 0, 0], tensors, grid(rows as u32));
}
