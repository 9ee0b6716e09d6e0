// Elementwise ops over n elements, f32 arithmetic; T is f32 or f16 storage. One op per variant:
// OP_GELU (exact, erf-based), OP_GELU_TANH (tanh approximation), OP_SCALE (x * s), OP_ADD /
// OP_MUL / OP_SILU_MUL (with BINARY: b is either the same size as a, or a row [bn] broadcast over
// the rows of a [n / bn, bn]); OP_SILU_MUL is SwiGLU's silu(a) * b.

struct Params { n: u32, bn: u32, s: f32, _p: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
#if BINARY
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;
#else
@group(0) @binding(2) var<storage, read_write> y: array<T>;
#endif

#include gelu

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i >= p.n) { return; }
    let v = f32(a[i]);
#if OP_GELU
    let r = gelu(v);
#endif
#if OP_GELU_TANH
    let r = gelu_tanh(v);
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
#if OP_SILU_MUL
    let r = v * sigmoid(v) * f32(b[i % p.bn]);
#endif
    y[i] = T(r);
}
