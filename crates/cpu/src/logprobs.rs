//! Log-softmax for search with a logits processor's adjustments: out[r, t] = x[r, t] -
//! logsumexp(x[r, :]) + bias[r]; with `forced`, every token but the forced one is -inf
//! (-f32::MAX) and the forced one is bias[r]; banned (row, token) pairs are -inf (pairs outside
//! the logits ignored).
//!
//! Strategy: per row a vectorized max and sum of exp (stable log-sum-exp), one subtract pass;
//! parallel over rows (beams) when there are several.

use crate::math;
use crate::par;

pub const NEG_INF: f32 = -f32::MAX;

pub fn search_log_probs(x: &[f32], rows: usize, cols: usize, bias: &[f32], forced: Option<u32>, banned: &[(u32, u32)]) -> Vec<f32> {
    let mut out = vec![0f32; rows * cols];
    if cols == 0 {
        return out;
    }
    par::par_chunks_mut(&mut out, cols, |r, o| match forced {
        Some(f) => {
            o.fill(NEG_INF);
            if let Some(t) = o.get_mut(f as usize) {
                *t = bias[r];
            }
        }
        None => math::dispatch(#[inline(always)] || log_softmax_row(&x[r * cols..(r + 1) * cols], o, bias[r])),
    });
    for &(r, t) in banned {
        if (r as usize) < rows && (t as usize) < cols {
            out[r as usize * cols + t as usize] = NEG_INF;
        }
    }
    out
}

/// row - logsumexp(row) + b into o.
#[inline(always)]
fn log_softmax_row(row: &[f32], o: &mut [f32], b: f32) {
    let m = math::max(row);
    // exp(x - m) staged in the output row, so the exp loop vectorizes apart from the sum.
    o.iter_mut().zip(row).for_each(|(o, &v)| *o = math::exp(v - m));
    let lse = m + math::sum(o).ln();
    o.iter_mut().zip(row).for_each(|(o, &v)| *o = v - lse + b);
}
