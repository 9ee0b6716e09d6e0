//! Rotary position embedding, "rotate half" form: x [rows, width], the first `rotated` columns
//! (whole heads of hd) rotated by row r's cos/sin [rows, hd], the rest copied. Within a head,
//! y[d] = x[d] cos[d] - x[d + hd/2] sin[d] and y[d + hd/2] = x[d + hd/2] cos[d + hd/2] + x[d] sin[d + hd/2].
//!
//! Strategy: per row and head, two vectorized half-head loops; parallel over chunks of rows.

use crate::math;
use crate::par;

pub fn rope(x: &[f32], rows: usize, width: usize, cos: &[f32], sin: &[f32], hd: usize, rotated: usize) -> Vec<f32> {
    let mut y = x[..rows * width].to_vec();
    if width == 0 || hd == 0 {
        return y;
    }
    let per = par::chunk_len(rows, 1, (par::MIN_PAR_ELEMS / width).max(1));
    par::par_chunks_mut(&mut y, per * width, |ci, chunk| {
        let r0 = ci * per;
        math::dispatch(#[inline(always)] || rope_rows(chunk, width, &cos[r0 * hd..], &sin[r0 * hd..], hd, rotated))
    });
    y
}

/// Rows of y rotated in place; cos and sin start at the first row's table.
#[inline(always)]
fn rope_rows(y: &mut [f32], width: usize, cos: &[f32], sin: &[f32], hd: usize, rotated: usize) {
    let half = hd / 2;
    for (r, yr) in y.chunks_exact_mut(width).enumerate() {
        let (c, s) = (&cos[r * hd..(r + 1) * hd], &sin[r * hd..(r + 1) * hd]);
        for head in yr[..rotated / hd * hd].chunks_exact_mut(hd) {
            let (lo, hi) = head.split_at_mut(half);
            for d in 0..half {
                let (a, b) = (lo[d], hi[d]);
                lo[d] = a * c[d] - b * s[d];
                hi[d] = b * c[d + half] + a * s[d + half];
            }
        }
    }
}
