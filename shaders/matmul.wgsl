// Matrix multiply C[b] = alpha * A[b] * B[b] (+ bias), f32 accumulation; T is f32 or f16 storage.
// Addressing in elements: A(m,k) = a_off + b*a_bs + m*a_rs + k*a_ks,
// B(k,n) = b_off + b*b_bs + k*b_ks + n*b_ns, C(m,n) = c_off + b*c_bs + m*c_rs + n.
// With b_ks = 1, B is "transposed" ([N, K] rows, the layout of linear weights).
// Variants: A_VEC4 (a_ks = 1, K, a_rs, a_off, a_bs multiples of 4), B_VEC4_K (b_ks = 1 likewise),
// B_VEC4_N (b_ns = 1, N, b_ks, b_off, b_bs multiples of 4), BIAS, GELU / RESIDUAL (lib/epilogue).

struct Params {
    m: u32, n: u32, k: u32, batch: u32,
    a_off: u32, a_bs: u32, a_rs: u32, a_ks: u32,
    b_off: u32, b_bs: u32, b_ks: u32, b_ns: u32,
    c_off: u32, c_bs: u32, c_rs: u32, alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
#if A_VEC4
@group(0) @binding(1) var<storage, read> a: array<T4>;
#else
@group(0) @binding(1) var<storage, read> a: array<T>;
#endif
#if B_VEC4_K
@group(0) @binding(2) var<storage, read> b: array<T4>;
#else
#if B_VEC4_N
@group(0) @binding(2) var<storage, read> b: array<T4>;
#else
@group(0) @binding(2) var<storage, read> b: array<T>;
#endif
#endif
@group(0) @binding(3) var<storage, read_write> c: array<T>;
#if BIAS
@group(0) @binding(4) var<storage, read> bias: array<T>;
#endif
#include epilogue

// The tiled entry point `main` (64x64 tiles, 4x4 per invocation) is in lib/tile.wgsl; this file
// gives it load_tile and store_c.
const BK: u32 = 16u;
#include tile

fn load_a4(bi: u32, m: u32, k: u32) -> vec4<f32> {
    // Four consecutive k of row m, zero outside the matrix.
    if (m >= p.m) { return vec4<f32>(0.0); }
#if A_VEC4
    if (k >= p.k) { return vec4<f32>(0.0); }
    return vec4<f32>(a[(p.a_off + bi * p.a_bs + m * p.a_rs + k) / 4u]);
#else
    var v = vec4<f32>(0.0);
    for (var i = 0u; i < 4u; i++) {
        if (k + i < p.k) { v[i] = f32(a[p.a_off + bi * p.a_bs + m * p.a_rs + (k + i) * p.a_ks]); }
    }
    return v;
#endif
}

// Scalar element access whatever the binding's vector width.
fn a_at(idx: u32) -> f32 {
#if A_VEC4
    return f32(a[idx / 4u][idx % 4u]);
#else
    return f32(a[idx]);
#endif
}

fn b_at(idx: u32) -> f32 {
#if B_VEC4_K
    return f32(b[idx / 4u][idx % 4u]);
#else
#if B_VEC4_N
    return f32(b[idx / 4u][idx % 4u]);
#else
    return f32(b[idx]);
#endif
#endif
}

fn load_b_scalar(bi: u32, k: u32, n: u32) -> f32 {
    if (k >= p.k || n >= p.n) { return 0.0; }
    return b_at(p.b_off + bi * p.b_bs + k * p.b_ks + n * p.b_ns);
}

// One output: alpha scales before the store, so f16 outputs of long sums do not overflow.
fn store_c(bi: u32, m: u32, n: u32, acc: f32) {
    var v = acc * p.alpha;
#if BIAS
    v += f32(bias[n]);
#endif
    let idx = p.c_off + bi * p.c_bs + m * p.c_rs + n;
    c[idx] = T(epilogue(v, idx));
}

// One K step of A and B into the tile's workgroup memory (see tile.wgsl).
fn load_tile(bi: u32, k0: u32, m0: u32, n0: u32, t: u32) {
    // A tile: thread t loads row t/4, k quad (t%4)*4, stored transposed as As[k][m].
    let ar = t / 4u;
    let ak = (t % 4u) * 4u;
    let av = load_a4(bi, m0 + ar, k0 + ak);
    for (var i = 0u; i < 4u; i++) { put_a(ak + i, ar, av[i]); }
    // B tile as Bs[k][n].
#if B_VEC4_N
    let bk = t / 16u;
    let bn = (t % 16u) * 4u;
    var bv = vec4<f32>(0.0);
    if (k0 + bk < p.k && n0 + bn < p.n) {
        bv = vec4<f32>(b[(p.b_off + bi * p.b_bs + (k0 + bk) * p.b_ks + n0 + bn) / 4u]);
    }
    Bs[bk * (BN / 4u) + bn / 4u] = bv;
#else
    let bn = t / 4u;
    let bk = (t % 4u) * 4u;
    var bv = vec4<f32>(0.0);
#if B_VEC4_K
    if (n0 + bn < p.n && k0 + bk < p.k) {
        bv = vec4<f32>(b[(p.b_off + bi * p.b_bs + (n0 + bn) * p.b_ns + k0 + bk) / 4u]);
    }
#else
    for (var i = 0u; i < 4u; i++) { bv[i] = load_b_scalar(bi, k0 + bk + i, n0 + bn); }
#endif
    for (var i = 0u; i < 4u; i++) { put_b(bk + i, bn, bv[i]); }
#endif
}

// GEMV for one row of A against B stored as [N, K] rows (b_ks = 1), entry point `gemv`: this
// invocation's share of output n, the K loop split over the RWG invocations.
#include gemv

fn gemv_part(n: u32, first: u32, stride: u32) -> f32 {
    var s = 0.0;
#if B_VEC4_K
    for (var k = first * 4u; k < p.k; k += stride * 4u) {
        let av = load_a4(0u, 0u, k);
        s += dot(av, vec4<f32>(b[(p.b_off + n * p.b_ns + k) / 4u]));
    }
#else
    for (var k = first; k < p.k; k += stride) {
        s += a_at(p.a_off + k * p.a_ks) * b_at(p.b_off + n * p.b_ns + k);
    }
#endif
    return s;
}

// The register-tiled entry point `main_regs` (see lib/regs.wgsl): an 8x4 block over four k.
const KSTEP: u32 = 4u;
#include regs

// B(k .. k+4, n) as one vec4, zeros outside the matrix.
fn load_b4k(bi: u32, k: u32, n: u32) -> vec4<f32> {
    if (n >= p.n) { return vec4<f32>(0.0); }
#if B_VEC4_K
    if (k >= p.k) { return vec4<f32>(0.0); }
    return vec4<f32>(b[(p.b_off + bi * p.b_bs + n * p.b_ns + k) / 4u]);
#else
    return vec4<f32>(load_b_scalar(bi, k, n), load_b_scalar(bi, k + 1u, n), load_b_scalar(bi, k + 2u, n), load_b_scalar(bi, k + 3u, n));
#endif
}

#if B_VEC4_N
// B(k, n .. n+4) as one vec4 (n is a multiple of 4, so all four or none are inside).
fn load_b4n(bi: u32, k: u32, n: u32) -> vec4<f32> {
    if (k >= p.k || n >= p.n) { return vec4<f32>(0.0); }
    return vec4<f32>(b[(p.b_off + bi * p.b_bs + k * p.b_ks + n) / 4u]);
}
#endif

// Columns: A's rows m0.. m0+3 over four k from k0.
fn a_rows4(bi: u32, m0: u32, k0: u32) -> mat4x4<f32> {
    return mat4x4<f32>(load_a4(bi, m0, k0), load_a4(bi, m0 + 1u, k0), load_a4(bi, m0 + 2u, k0), load_a4(bi, m0 + 3u, k0));
}

fn regs_step(bi: u32, k0: u32, m0: u32, n0: u32) -> Block {
    // Columns: B's columns n0.. over the same k as the rows of A.
#if B_VEC4_N
    // Four k rows of four n (vec4 loads along n), turned into columns per n.
    let b4 = transpose(mat4x4<f32>(load_b4n(bi, k0, n0), load_b4n(bi, k0 + 1u, n0), load_b4n(bi, k0 + 2u, n0), load_b4n(bi, k0 + 3u, n0)));
#else
    let b4 = mat4x4<f32>(load_b4k(bi, k0, n0), load_b4k(bi, k0, n0 + 1u), load_b4k(bi, k0, n0 + 2u), load_b4k(bi, k0, n0 + 3u));
#endif
    return Block(transpose(a_rows4(bi, m0, k0)) * b4, transpose(a_rows4(bi, m0 + 4u, k0)) * b4);
}
