//! A linear layer whatever the weight's storage: the model code loads dense (F32/F16) or
//! quantized (Q8/Q4) checkpoints and calls one function, so the choice of kernel lives here.

use crate::error::Result;
use crate::recorder::Recorder;
use crate::tensor::Tensor;

use super::{matmul::linear_dense, qmatmul::qlinear};

/// x [.., K] times the weight [N, K] transposed, plus bias [N] -> [.., N]: the tiled matmul for
/// a dense weight, the dequantizing one for a quantized weight.
pub fn linear(rec: &mut Recorder, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    if w.dtype.is_quantized() {
        qlinear(rec, x, w, bias)
    } else {
        linear_dense(rec, x, w, bias)
    }
}
