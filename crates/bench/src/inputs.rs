//! The operands of a kernel case, made once on the CPU and given to both engines, so their
//! results can be compared (a peer that silently computed nothing, e.g. past a binding limit,
//! would otherwise look very fast). Layouts are ours; burn_peer.rs rearranges what it needs.

use crate::cases::{Case, Op, Precision};
use visionllm_gpu::conformance::Rng;

/// One operand: shape and row-major values (ours.rs stores the GEMV's weight as Q8/Q4).
pub struct Operand {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// `n` values uniform in [-a, a): reproducible, not degenerate, all a benchmark needs.
pub fn scaled(rng: &mut Rng, n: usize, a: f32) -> Vec<f32> {
    rng.vec(n).into_iter().map(|v| v * a).collect()
}

fn operand(rng: &mut Rng, shape: &[usize], a: f32) -> Operand {
    Operand { shape: shape.to_vec(), values: scaled(rng, shape.iter().product(), a) }
}

/// Operands in the order ours.rs and burn_peer.rs take them:
/// matmul / GEMV: x [m, k], w [n, k]; attention: qkv; decoder: q, k_new, v_new, k_cache,
/// v_cache; dwconv: x [h, w, c], w [c, 1, 3, 3], bias [c]; layernorm: x, gamma, beta.
pub fn make(case: &Case) -> Vec<Operand> {
    let mut rng = Rng::new(1);
    let mut op = |shape: &[usize], a: f32| operand(&mut rng, shape, a);
    match case.op {
        Op::Matmul { m, k, n } => vec![op(&[m, k], 1.0), op(&[n, k], (k as f32).powf(-0.5))],
        Op::QGemv { k, n, .. } => vec![op(&[1, k], 1.0), op(&[n, k], (k as f32).powf(-0.5))],
        Op::WindowAttention { grid, c, .. } => vec![op(&[grid, grid, 3 * c], 1.0)],
        Op::ChannelAttention { tokens, c, .. } => vec![op(&[tokens, 3 * c], 1.0)],
        Op::DecoderAttention { cache_len, c, .. } => vec![op(&[1, c], 1.0), op(&[1, c], 1.0), op(&[1, c], 1.0), op(&[cache_len, c], 1.0), op(&[cache_len, c], 1.0)],
        Op::DwConv { h, w, c } => vec![op(&[h, w, c], 1.0), op(&[c, 1, 3, 3], 0.3), op(&[c], 0.1)],
        Op::LayerNorm { rows, c } => vec![op(&[rows, c], 1.0), op(&[c], 1.0), op(&[c], 0.1)],
    }
}

/// Row-major [rows, cols] -> [cols, rows].
pub fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = v[r * cols + c];
        }
    }
    out
}

/// Largest difference relative to the largest magnitude of `reference`.
pub fn relative_error(a: &[f32], reference: &[f32]) -> f32 {
    if a.len() != reference.len() {
        return f32::INFINITY;
    }
    let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = a.iter().zip(reference).fold(0f32, |m, (x, y)| if (x - y).is_nan() { f32::INFINITY } else { m.max((x - y).abs()) });
    if scale == 0.0 {
        return if diff == 0.0 { 0.0 } else { f32::INFINITY };
    }
    diff / scale
}

/// How far the two engines may differ: f32 rounding, f16 storage, or two different block
/// quantizations of the same weight (ours blocks along k, burn's along n).
pub fn tolerance(case: &Case) -> f32 {
    match case.precision {
        Precision::F32 => 2e-3,
        Precision::F16 => 3e-2,
        Precision::Quant => 0.25,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_and_error() {
        assert_eq!(transpose(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert_eq!(relative_error(&[1.0, 2.0], &[1.0, 4.0]), 0.5);
        assert_eq!(relative_error(&[0.0], &[0.0]), 0.0);
        assert!(relative_error(&[0.0], &[0.0, 1.0]).is_infinite());
        assert!(relative_error(&[f32::NAN], &[1.0]).is_infinite());
    }
}
