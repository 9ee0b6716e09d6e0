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
