// Elementwise ops over n elements, f32 arithmetic; T is f32 or f16 storage. One op per variant:
// OP_GELU (exact, erf-based), OP_SCALE (x * s), OP_ADD / OP_MUL (with BINARY: b is either the
// same size as a, or a row [bn] broadcast over the rows of a [n / bn, bn]).

struct Params { n: u32, bn: u32, s: f32, _p: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
#if BINARY
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;
#else
@group(0) @binding(2) var<storage, read_write> y: array<T>;
#endif

// erfc(z) for z >= 0: Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7 everywhere.
// Being relative in erfc (not absolute in erf), it keeps gelu(x) = x * erfc(-x / sqrt 2) / 2
// relatively accurate far into the negative tail, where 1 - erf(...) would cancel to zero.
fn erfc_pos(z: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
        + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    return t * exp(-z * z + poly);
}

fn gelu(x: f32) -> f32 {
    let z = abs(x) * 0.70710678118654752;
    let e = erfc_pos(z);
    // erfc(-x / sqrt 2) is e for x <= 0 and 2 - e for x > 0.
    return 0.5 * x * select(e, 2.0 - e, x > 0.0);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i >= p.n) { return; }
    let v = f32(a[i]);
#if OP_GELU
    let r = gelu(v);
#endif
#if OP_SCALE
    let r = v * p.s;
#endif
#if OP_ADD
    let r = v + f32(b[i % p.bn]);
#endif
#if OP_MUL
    let r = v * f32(b[i % p.bn]);
#endif
    y[i] = T(r);
}
