//! Elementwise ops, the twins' semantics: exact GELU (erf via the GPU's erfc fit, relative error
//! ~1e-7 including the negative tail), tanh GELU, SwiGLU's silu(gate) * up with a stable
//! sigmoid, scale by a constant, and add / mul where b has a's length or is one row broadcast
//! over every row of a (a bias).
//!
//! Strategy: branch-free scalar functions ([`crate::math`]) in plain loops that LLVM vectorizes
//! inside the runtime SIMD dispatch; parallel over chunks of at least [`par::MIN_PAR_ELEMS`].

use crate::math;
use crate::par;

/// y[i] = f(i, a[i]) over chunks, in parallel.
fn map(a: &[f32], align: usize, f: impl Fn(usize, &mut [f32], &[f32]) + Sync + Send) -> Vec<f32> {
    let mut y = vec![0f32; a.len()];
    let chunk = par::chunk_len(a.len(), align.max(1), par::MIN_PAR_ELEMS);
    par::par_chunks_mut(&mut y, chunk, |ci, ys| {
        let lo = ci * chunk;
        math::dispatch(#[inline(always)] || f(lo, ys, &a[lo..lo + ys.len()]))
    });
    y
}

pub fn gelu(x: &[f32]) -> Vec<f32> {
    map(x, 1, #[inline(always)] |_, y, x| unary(y, x, math::gelu))
}

pub fn gelu_tanh(x: &[f32]) -> Vec<f32> {
    map(x, 1, #[inline(always)] |_, y, x| unary(y, x, math::gelu_tanh))
}

/// Inlined into the SIMD dispatch (as every loop here), so it is compiled with its features.
#[inline(always)]
fn unary(y: &mut [f32], x: &[f32], f: impl Fn(f32) -> f32) {
    y.iter_mut().zip(x).for_each(|(y, &x)| *y = f(x));
}

#[inline(always)]
fn zip2(y: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) {
    for ((y, &a), &b) in y.iter_mut().zip(a).zip(b) {
        *y = f(a, b);
    }
}

/// silu(gate) * up = gate * sigmoid(gate) * up (same lengths).
pub fn silu_mul(gate: &[f32], up: &[f32]) -> Vec<f32> {
    assert_eq!(gate.len(), up.len(), "silu_mul: gate and up lengths differ");
    map(gate, 1, #[inline(always)] |lo, y, g| zip2(y, g, &up[lo..lo + g.len()], |g, u| g * math::sigmoid(g) * u))
}

pub fn scale(x: &[f32], s: f32) -> Vec<f32> {
    map(x, 1, #[inline(always)] |_, y, x| unary(y, x, |x| x * s))
}

/// a + b; b has a's length, or is one row of length cols broadcast over every row of a.
pub fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    binary(a, b, |x, y| x + y)
}

/// a * b; b has a's length, or is one row broadcast over every row of a.
pub fn mul(a: &[f32], b: &[f32]) -> Vec<f32> {
    binary(a, b, |x, y| x * y)
}

fn binary(a: &[f32], b: &[f32], op: impl Fn(f32, f32) -> f32 + Copy + Sync + Send) -> Vec<f32> {
    if a.is_empty() {
        return Vec::new();
    }
    assert!(!b.is_empty(), "binary op: empty b for {} values", a.len());
    if b.len() == a.len() {
        return map(a, 1, #[inline(always)] |lo, y, x| zip2(y, x, &b[lo..lo + x.len()], op));
    }
    // Broadcast row: chunks of whole rows, each row zipped with b (so y[i] uses b[i % cols]).
    let cols = b.len();
    map(a, cols, #[inline(always)] |_, y, x| broadcast_rows(y, x, b, op))
}

#[inline(always)]
fn broadcast_rows(y: &mut [f32], x: &[f32], b: &[f32], op: impl Fn(f32, f32) -> f32 + Copy) {
    for (yr, xr) in y.chunks_mut(b.len()).zip(x.chunks(b.len())) {
        zip2(yr, xr, b, op);
    }
}
