//! Quantized linear layers (Q8, Q4; see `crate::quant` for the packing), dequantizing inside the
//! K loop so the weights stay packed in GPU memory. `linear`, which picks dense or quantized, is
//! in `super::linear`; re-exported here for the callers that name it by its first home.

use crate::dtype::DType;
use crate::error::{shape_err, BackendError, Result};
use crate::kernel;
use crate::pipeline::Kernel;
use crate::quant::QuantLayout;
use crate::recorder::Recorder;
use crate::tensor::Tensor;

use super::{float_dtype, matmul_entry, variant_for};

pub use super::linear::linear;
use super::linear::Epilogue;

const QMATMUL: Kernel = kernel!("qmatmul");

/// x [.., K] times the quantized weight [N, K] transposed, plus bias [N] -> [.., N].
pub fn qlinear(rec: &mut Recorder, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    qlinear_with(rec, x, w, bias, Epilogue::None)
}

/// [`qlinear`] with its follow-up fused into the store.
pub fn qlinear_with(rec: &mut Recorder, x: &Tensor, w: &Tensor, bias: Option<&Tensor>, epilogue: Epilogue) -> Result<Tensor> {
    if !w.dtype.is_quantized() {
        return Err(BackendError::DType { op: "qlinear", dtype: w.dtype });
    }
    let mut acts = vec![x];
    acts.extend(bias);
    acts.extend(epilogue.residual());
    let dtype = float_dtype(rec, "qlinear", &acts)?;
    let (rows, k) = x.dims2();
    let (n, wk) = (w.shape[0], w.shape[1]);
    if wk != k || bias.is_some_and(|b| b.numel() != n) {
        return Err(shape_err("qlinear", format!("x {:?}, weight {:?}, bias {:?}", x.shape, w.shape, bias.map(|b| &b.shape))));
    }
    super::same_backend(rec, "qlinear", &[w])?;
    let lay = QuantLayout::new(w.dtype, n, k);
    let mut shape = x.shape.clone();
    *shape.last_mut().unwrap() = n;
    if let Some(c) = rec.cpu() {
        if let Some(r) = epilogue.residual() {
            if r.numel() != rows * n {
                return Err(shape_err("qlinear", format!("residual {:?} for an output {shape:?}", r.shape)));
            }
        }
        let (x_, w_, b_) = (x.cpu_read("qlinear")?, w.cpu_read("qlinear")?, bias.map(|b| b.cpu_read("qlinear")).transpose()?);
        let mut y = visionllm_cpu::qmatmul::qlinear(x_.f32(), w_.words(), w.dtype, b_.as_ref().map(|b| b.f32()), rows, n, k);
        let residual = epilogue.residual().map(|r| r.cpu_read("qlinear")).transpose()?;
        visionllm_cpu::matmul::epilogue_in_place(&mut y, epilogue.is_gelu(), residual.as_ref().map(|r| r.f32()));
        return Ok(c.from_f32(&shape, y));
    }
    let out = rec.alloc(&shape, dtype);
    if rows == 0 || n == 0 {
        return Ok(out);
    }
    let params = [rows, n, k, lay.blocks, lay.scale_offset_words(), 0, 0, 0].map(|v| v as u32);
    let variant = variant_for(rec.gpu(), dtype).flag("Q4", w.dtype == DType::Q4).flag("BIAS", bias.is_some()).flag("A_VEC4", k % 4 == 0);
    let variant = super::linear::epilogue_variant(&epilogue, variant, "qlinear", &out.shape)?;
    let mut tensors = vec![x, w, &out];
    tensors.extend(bias);
    tensors.extend(epilogue.residual());
    let (entry, groups) = matmul_entry(rec.gpu(), rows == 1, rows, n, 1);
    let pipeline = rec.gpu().pipeline(&QMATMUL, entry, &variant);
    rec.dispatch(&pipeline, &params, &tensors, groups);
    Ok(out)
}
