// Quantized linear layer: C[m, n] = sum_k A[m, k] * dequant(W)[n, k] (+ bias[n]).
// W is Q8 or Q4 exactly as crates/gpu/src/quant.rs packs it: per (row n, block b of 32 along K)
// WPB words of values (Q8: 4 per word, two's complement bytes; Q4: 8 per word, nibble = q + 8),
// then from word scale_off one f16 scale per (n, b), two per word. Dequantization is fused into
// the K loop: one K tile is exactly one quantization block.
// Flags: Q4 (else Q8), BIAS; T is the activation type (f32 or f16).

struct Params {
    m: u32, n: u32, k: u32, blocks: u32,
    scale_off: u32, a_off: u32, c_off: u32, _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> q: array<u32>;
@group(0) @binding(3) var<storage, read_write> c: array<T>;
#if BIAS
@group(0) @binding(4) var<storage, read> bias: array<T>;
#endif

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

// One output (no batches here: bi is always 0).
fn store_c(bi: u32, m: u32, n: u32, v: f32) {
    var r = v;
#if BIAS
    r += f32(bias[n]);
#endif
    c[p.c_off + m * p.n + n] = T(r);
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
    for (var i = 0u; i < 8u; i++) {
        var v = 0.0;
        if (m0 + ar < p.m && k0 + ak + i < p.k) { v = f32(a[p.a_off + (m0 + ar) * p.k + k0 + ak + i]); }
        put_a(ak + i, ar, v);
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

fn gemv_part(n: u32, lid: u32) -> f32 {
    var s = 0.0;
    for (var w = lid; w < p.blocks * WPB; w += RWG) {
        let blk = w / WPB;
        let word = q[n * p.blocks * WPB + w];
        let k0 = blk * BK + (w % WPB) * VPW;
        var part = 0.0;
        for (var i = 0u; i < VPW; i++) {
            if (k0 + i < p.k) { part += f32(a[p.a_off + k0 + i]) * value(word, i); }
        }
        s += part * scale_at(n * p.blocks + blk);
    }
    return s;
}
