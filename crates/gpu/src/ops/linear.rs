//! A linear layer whatever the weight's storage: the model code loads dense (F32/F16) or
//! quantized (Q8/Q4) checkpoints and calls one function, so the choice of kernel lives here.
//! An [`Epilogue`] fuses what follows a linear layer into its store, so the output is written once
//! and the follow-up dispatch disappears.

use crate::error::{shape_err, Result};
use crate::recorder::Recorder;
use crate::shader::Variant;
use crate::tensor::Tensor;

use super::{matmul::linear_dense_with, qmatmul::qlinear_with};

/// What the store does after the bias (shaders/lib/epilogue.wgsl), over GPU tensors.
pub type Epilogue<'a> = visionllm_core::Epilogue<'a, Tensor>;

/// The shader flags, after checking a residual's element count against the output's (its dtype
/// is checked with the other operands', by `float_dtype`).
pub(crate) fn epilogue_variant(epilogue: &Epilogue, variant: Variant, op: &'static str, out_shape: &[usize]) -> Result<Variant> {
    if let Epilogue::Residual(r) = epilogue {
        if r.numel() != out_shape.iter().product::<usize>() {
            return Err(shape_err(op, format!("residual {:?} for an output {out_shape:?}", r.shape)));
        }
    }
    Ok(variant.flag("GELU", epilogue.is_gelu()).flag("RESIDUAL", epilogue.residual().is_some()))
}

/// x [.., K] times the weight [N, K] transposed, plus bias [N] -> [.., N]: the tiled matmul for
/// a dense weight, the dequantizing one for a quantized weight.
pub fn linear(rec: &mut Recorder, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    linear_with(rec, x, w, bias, Epilogue::None)
}

/// [`linear`] with its follow-up fused into the store.
pub fn linear_with(rec: &mut Recorder, x: &Tensor, w: &Tensor, bias: Option<&Tensor>, epilogue: Epilogue) -> Result<Tensor> {
    if w.dtype.is_quantized() {
        qlinear_with(rec, x, w, bias, epilogue)
    } else {
        linear_dense_with(rec, x, w, bias, epilogue)
    }
}
