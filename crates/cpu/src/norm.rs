//! Norms over the last dim of x [rows, cols]: LayerNorm (two-pass mean and biased variance, so
//! a large mean does not cancel the variance away) and RMSNorm (x / sqrt(mean(x^2) + eps)).
//!
//! Strategy: per row, lane-parallel f32 sums (vectorized, pairwise-like accuracy), then one
//! fused scale pass; parallel over chunks of rows.

use crate::math;
use crate::par;

pub fn layernorm(x: &[f32], rows: usize, cols: usize, gamma: &[f32], beta: &[f32], eps: f32) -> Vec<f32> {
    per_row(x, rows, cols, |xs, ys| math::dispatch(#[inline(always)] || layernorm_rows(xs, ys, cols, gamma, beta, eps)))
}

#[inline(always)]
fn layernorm_rows(xs: &[f32], ys: &mut [f32], cols: usize, gamma: &[f32], beta: &[f32], eps: f32) {
    for (xr, yr) in xs.chunks_exact(cols).zip(ys.chunks_exact_mut(cols)) {
        // Sums of x - x[0], not of x: with a large mean the raw f32 sum would lose the low bits
        // the deviations live in (mean 1000, std 1: ~1e-4 relative error).
        let shift = xr[0];
        yr.iter_mut().zip(xr).for_each(|(y, &x)| *y = x - shift);
        let mean0 = math::sum(yr) / cols as f32;
        yr.iter_mut().for_each(|y| *y -= mean0);
        // Corrected two-pass: the deviations' own mean (rounding residue) refines mean and var.
        let corr = math::sum(yr) / cols as f32;
        let var = (math::dot(yr, yr) / cols as f32 - corr * corr).max(0.0);
        yr.iter_mut().for_each(|y| *y -= corr);
        let inv = 1.0 / (var + eps).sqrt();
        for ((y, &g), &b) in yr.iter_mut().zip(gamma).zip(beta) {
            *y = *y * inv * g + b;
        }
    }
}

pub fn rmsnorm(x: &[f32], rows: usize, cols: usize, gamma: &[f32], eps: f32) -> Vec<f32> {
    per_row(x, rows, cols, |xs, ys| math::dispatch(#[inline(always)] || rmsnorm_rows(xs, ys, cols, gamma, eps)))
}

#[inline(always)]
fn rmsnorm_rows(xs: &[f32], ys: &mut [f32], cols: usize, gamma: &[f32], eps: f32) {
    for (xr, yr) in xs.chunks_exact(cols).zip(ys.chunks_exact_mut(cols)) {
        let ms = math::dot(xr, xr) / cols as f32;
        let inv = 1.0 / (ms + eps).sqrt();
        for ((y, &x), &g) in yr.iter_mut().zip(xr).zip(gamma) {
            *y = x * inv * g;
        }
    }
}

/// f(x rows, y rows) over chunks of whole rows, in parallel.
fn per_row(x: &[f32], rows: usize, cols: usize, f: impl Fn(&[f32], &mut [f32]) + Sync + Send) -> Vec<f32> {
    let mut out = vec![0f32; rows * cols];
    if cols == 0 {
        return out;
    }
    let per = par::chunk_len(rows, 1, (par::MIN_PAR_ELEMS / cols).max(1));
    par::par_chunks_mut(&mut out, per * cols, |ci, ys| {
        let at = ci * per * cols;
        f(&x[at..at + ys.len()], ys)
    });
    out
}
