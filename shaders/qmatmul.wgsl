// Quantized linear layer: C[m, n] = sum_k A[m, k] * dequant(W)[n, k] (+ bias[n]).
// W is Q8 or Q4 exactly as crates/gpu/src/quant.rs packs it: per (row n, block b of 32 along K)
// WPB words of values (Q8: 4 per word, two's complement bytes; Q4: 8 per word, nibble = q + 8),
// then from word scale_off one f16 scale per (n, b), two per word. Dequantization is fused into
// the K loop: one K tile is exactly one quantization block.
// Flags: Q4 (else Q8), BIAS, GELU / RESIDUAL (lib/epilogue), A_VEC4 (K a multiple of 4: A read
// as vec4); T is the activation type (f32 or f16).

struct Params {
    m: u32, n: u32, k: u32, blocks: u32,
    scale_off: u32, a_off: u32, c_off: u32, _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#if A_VEC4
@group(0) @binding(1) var<storage, read> a: array<T4>;
#else
@group(0) @binding(1) var<storage, read> a: array<T>;
#endif
@group(0) @binding(2) var<storage, read> q: array<u32>;
@group(0) @binding(3) var<storage, read_write> c: array<T>;
#if BIAS
@group(0) @binding(4) var<storage, read> bias: array<T>;
#endif
#include epilogue

#if Q4
const WPB: u32 = 4u;  // words per block
const VPW: u32 = 8u;  // values per word
#else
const WPB: u32 = 8u;
const VPW: u32 = 4u;
#endif

fn scale_at(idx: u32) -> f32 {
    return unpack2x16float(q[p.scale_off + idx / 2u])[idx % 2u];
}

fn value(word: u32, i: u32) -> f32 {
#if Q4
    return f32(i32((word >> (4u * i)) & 15u) - 8);
#else
    return f32(extractBits(bitcast<i32>(word), 8u * i, 8u));
#endif
}

// Values 4h .. 4h+3 of a word (h is 0 for Q8; 0 or 1 for Q4), unscaled.
fn values4(word: u32, h: u32) -> vec4<f32> {
    return vec4<f32>(value(word, 4u * h), value(word, 4u * h + 1u), value(word, 4u * h + 2u), value(word, 4u * h + 3u));
}

// A(m, k .. k+4) for k a multiple of 4, zeros outside the matrix.
fn load_a4(m: u32, k: u32) -> vec4<f32> {
    if (m >= p.m || k >= p.k) { return vec4<f32>(0.0); }
    let at = p.a_off + m * p.k + k;
#if A_VEC4
    return vec4<f32>(a[at / 4u]);
#else
    var v = vec4<f32>(0.0);
    for (var i = 0u; i < 4u; i++) {
        if (k + i < p.k) { v[i] = f32(a[at + i]); }
    }
    return v;
#endif
}

// One output (no batches here: bi is always 0).
fn store_c(bi: u32, m: u32, n: u32, v: f32) {
    var r = v;
#if BIAS
    r += f32(bias[n]);
#endif
    let idx = p.c_off + m * p.n + n;
    c[idx] = T(epilogue(r, idx));
}

// The tiled entry point `main` is in lib/tile.wgsl; this file gives it load_tile and store_c.
const BK: u32 = 32u; // one quantization block per K step
#include tile

// One K step (= one block) of A and the dequantized W into the tile's workgroup memory.
fn load_tile(bi: u32, k0: u32, m0: u32, n0: u32, t: u32) {
    let blk = k0 / BK;
    // A tile: row t/4, eight consecutive k from (t%4)*8, stored as As[k][m].
    let ar = t / 4u;
    let ak = (t % 4u) * 8u;
    let lo = load_a4(m0 + ar, k0 + ak);
    let hi = load_a4(m0 + ar, k0 + ak + 4u);
    for (var i = 0u; i < 4u; i++) {
        put_a(ak + i, ar, lo[i]);
        put_a(ak + 4u + i, ar, hi[i]);
    }
    // W tile: row n = t/4 of the tile, its words of this block split over four invocations.
    let bn = t / 4u;
    let n = n0 + bn;
    for (var w = (t % 4u) * (WPB / 4u); w < (t % 4u + 1u) * (WPB / 4u); w++) {
        var word = 0u;
        var s = 0.0;
        if (n < p.n) {
            word = q[(n * p.blocks + blk) * WPB + w];
            s = scale_at(n * p.blocks + blk);
        }
        for (var i = 0u; i < VPW; i++) { put_b(w * VPW + i, bn, value(word, i) * s); }
    }
}

// GEMV for one row of A, entry point `gemv`: this invocation's share of output n, the row's
// words (every word of every block) spread over the RWG invocations.
#include gemv

fn gemv_part(n: u32, first: u32, stride: u32) -> f32 {
    var s = 0.0;
    for (var w = first; w < p.blocks * WPB; w += stride) {
        let blk = w / WPB;
        let word = q[n * p.blocks * WPB + w];
        let k0 = blk * BK + (w % WPB) * VPW;
        var part = 0.0;
        for (var h = 0u; h < VPW / 4u; h++) { part += dot(load_a4(0u, k0 + 4u * h), values4(word, h)); }
        s += part * scale_at(n * p.blocks + blk);
    }
    return s;
}

// The register-tiled entry point `main_regs` (see lib/regs.wgsl): an 8x4 block over one block.
const KSTEP: u32 = BK;
#include regs


// Columns: A's rows m0.. m0+3 over four k from k.
fn a_rows4(m0: u32, k: u32) -> mat4x4<f32> {
    return mat4x4<f32>(load_a4(m0, k), load_a4(m0 + 1u, k), load_a4(m0 + 2u, k), load_a4(m0 + 3u, k));
}

fn regs_step(bi: u32, k0: u32, m0: u32, n0: u32) -> Block {
    let blk = k0 / BK;
    // Rows n0.. of W past the matrix read row n0 (in bounds) and are never stored. (Vectors, not
    // arrays: see lib/regs.wgsl on private arrays.)
    let n = select(vec4<u32>(n0), vec4<u32>(n0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(n0) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.n));
    let block = n * p.blocks + blk;
    let wrow = block * WPB;
    var lo = mat4x4<f32>();
    var hi = mat4x4<f32>();
    for (var w = 0u; w < WPB; w++) {
        let words = vec4<u32>(q[wrow.x + w], q[wrow.y + w], q[wrow.z + w], q[wrow.w + w]);
        for (var h = 0u; h < VPW / 4u; h++) {
            let k = k0 + w * VPW + 4u * h;
            // Dequantized once, used for all eight rows.
            let w4 = mat4x4<f32>(values4(words.x, h), values4(words.y, h), values4(words.z, h), values4(words.w, h));
            lo += transpose(a_rows4(m0, k)) * w4;
            hi += transpose(a_rows4(m0 + 4u, k)) * w4;
        }
    }
    // Column j is output n0 + j: one scale per (row, block).
    let s = vec4<f32>(scale_at(block.x), scale_at(block.y), scale_at(block.z), scale_at(block.w));
    return Block(mat4x4<f32>(lo[0] * s.x, lo[1] * s.y, lo[2] * s.z, lo[3] * s.w), mat4x4<f32>(hi[0] * s.x, hi[1] * s.y, hi[2] * s.z, hi[3] * s.w));
}
