//! Embedding lookup: rows of a table [vocab, dim] gathered by ids, out-of-range ids clamped to
//! the last row (as the GPU kernel does).
//!
//! Strategy: one row copy per id (a memcpy); for a quantized table (Q8/Q4, a tied embedding) only
//! the picked rows are dequantized, block by block. Parallel over ids for long id lists.

use visionllm_core::quant::QuantLayout;
use visionllm_core::DType;

use crate::par;
use crate::qmatmul::dequantize_rows;

pub fn embedding(table: &[f32], vocab: usize, dim: usize, ids: &[u32]) -> Vec<f32> {
    gather(vocab, dim, ids, |row, out| out.copy_from_slice(&table[row * dim..(row + 1) * dim]))
}

pub fn embedding_quantized(words: &[u32], dtype: DType, vocab: usize, dim: usize, ids: &[u32]) -> Vec<f32> {
    let lay = QuantLayout::new(dtype, vocab, dim);
    gather(vocab, dim, ids, |row, out| dequantize_rows(words, &lay, row, out))
}

fn gather(vocab: usize, dim: usize, ids: &[u32], fill: impl Fn(usize, &mut [f32]) + Sync + Send) -> Vec<f32> {
    let mut out = vec![0f32; ids.len() * dim];
    if dim == 0 || vocab == 0 {
        return out;
    }
    let per = par::chunk_len(ids.len(), 1, (par::MIN_PAR_ELEMS / dim).max(1));
    par::par_chunks_mut(&mut out, per * dim, |ci, chunk| {
        for (i, row) in chunk.chunks_exact_mut(dim).enumerate() {
            fill((ids[ci * per + i] as usize).min(vocab - 1), row);
        }
    });
    out
}
