//! Softmax over the last dim with a scale folded in: softmax(scale * x) per row of x [rows, cols].
//!
//! Strategy: per row, the max of the scaled values, exp of the differences (stable: no
//! overflow), their sum, then one multiply by its inverse; vectorized lane loops, parallel over
//! chunks of rows.

use crate::math;
use crate::par;

pub fn softmax(x: &[f32], rows: usize, cols: usize, scale: f32) -> Vec<f32> {
    let mut out = vec![0f32; rows * cols];
    if cols == 0 {
        return out;
    }
    let chunk = par::chunk_len(rows, 1, (par::MIN_PAR_ELEMS / cols).max(1)) * cols;
    par::par_chunks_mut(&mut out, chunk, |ci, o| {
        math::dispatch(#[inline(always)] || softmax_rows(&x[ci * chunk..ci * chunk + o.len()], o, cols, scale))
    });
    out
}

/// Rows of x into o, inlined into the SIMD dispatch (so compiled with its features).
#[inline(always)]
fn softmax_rows(x: &[f32], o: &mut [f32], cols: usize, scale: f32) {
    for (xrow, orow) in x.chunks_exact(cols).zip(o.chunks_exact_mut(cols)) {
        softmax_row(xrow, orow, scale);
    }
}

#[inline(always)]
fn softmax_row(xrow: &[f32], orow: &mut [f32], scale: f32) {
    orow.iter_mut().zip(xrow).for_each(|(o, &x)| *o = scale * x);
    let m = math::max(orow);
    orow.iter_mut().for_each(|o| *o = math::exp(*o - m));
    let inv = 1.0 / math::sum(orow);
    orow.iter_mut().for_each(|o| *o *= inv);
}
