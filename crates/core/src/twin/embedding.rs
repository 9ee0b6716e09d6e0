//! Twin of `ops::embedding`.

/// Rows of table [vocab, dim] picked by ids, out-of-range ids clamped to the last row.
pub fn embedding(table: &[f32], vocab: usize, dim: usize, ids: &[u32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(ids.len() * dim);
    for &id in ids {
        let row = (id as usize).min(vocab - 1);
        out.extend_from_slice(&table[row * dim..(row + 1) * dim]);
    }
    out
}

/// Rows of a quantized table (Q8/Q4 words as `crate::quant` packs them), dequantized.
pub fn embedding_quantized(words: &[u32], dtype: crate::dtype::DType, vocab: usize, dim: usize, ids: &[u32]) -> Vec<f32> {
    embedding(&crate::quant::dequantize(dtype, vocab, dim, words), vocab, dim, ids)
}
