//! Twin of `ops::qmatmul`: the same dequantization (`quant::dequantize`), then a plain linear layer.

use crate::dtype::DType;
use crate::quant::dequantize;

pub fn qlinear(x: &[f32], words: &[u32], dtype: DType, bias: Option<&[f32]>, rows: usize, n: usize, k: usize) -> Vec<f32> {
    let w = dequantize(dtype, n, k, words);
    super::matmul::linear(x, &w, bias, rows, n, k)
}
