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

fn finish(m: u32, n: u32, v: f32) {
    var r = v;
#if BIAS
    r += f32(bias[n]);
#endif
    c[p.c_off + m * p.n + n] = T(r);
}

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 32u;
var<workgroup> As: array<vec4<f32>, 512>; // [BK][BM/4]
var<workgroup> Bs: array<vec4<f32>, 512>; // [BK][BN/4]

@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let tx = lid3.x;
    let ty = lid3.y;
    let t = ty * 16u + tx;
    let n0 = wid.x * BN;
    let m0 = wid.y * BM;
    var acc: array<vec4<f32>, 4>;
    for (var i = 0u; i < 4u; i++) { acc[i] = vec4<f32>(0.0); }

    for (var blk = 0u; blk < p.blocks; blk++) {
        let k0 = blk * BK;
        // A tile: row t/4, eight consecutive k from (t%4)*8, stored as As[k][m].
        let ar = t / 4u;
        let ak = (t % 4u) * 8u;
        for (var i = 0u; i < 8u; i++) {
            var v = 0.0;
            if (m0 + ar < p.m && k0 + ak + i < p.k) { v = f32(a[p.a_off + (m0 + ar) * p.k + k0 + ak + i]); }
            let idx = (ak + i) * BM + ar;
            As[idx / 4u][idx % 4u] = v;
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
            for (var i = 0u; i < VPW; i++) {
                let idx = (w * VPW + i) * BN + bn;
                Bs[idx / 4u][idx % 4u] = value(word, i) * s;
            }
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            let av4 = As[kk * 16u + ty];
            let bv4 = Bs[kk * 16u + tx];
            acc[0] += av4.x * bv4;
            acc[1] += av4.y * bv4;
            acc[2] += av4.z * bv4;
            acc[3] += av4.w * bv4;
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let m = m0 + ty * 4u + i;
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + tx * 4u + j;
            if (m < p.m && n < p.n) { finish(m, n, acc[i][j]); }
        }
    }
}

// GEMV for one row of A: one workgroup per output n; the row's words are spread over 64
// invocations (every word of every block), then reduced.
#include reduce

@compute @workgroup_size(64)
fn gemv(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32> $SUBGROUP_ARGS) {
    $SUBGROUP_INIT
    let n = wid.x + wid.y * nwg.x;
    let valid = n < p.n;
    let nn = min(n, p.n - 1u);
    var s = 0.0;
    for (var w = lid; w < p.blocks * WPB; w += RWG) {
        let blk = w / WPB;
        let word = q[nn * p.blocks * WPB + w];
        let k0 = blk * BK + (w % WPB) * VPW;
        var part = 0.0;
        for (var i = 0u; i < VPW; i++) {
            if (k0 + i < p.k) { part += f32(a[p.a_off + k0 + i]) * value(word, i); }
        }
        s += part * scale_at(nn * p.blocks + blk);
    }
    let total = wg_sum(s, lid);
    if (valid && lid == 0u) { finish(0u, n, total); }
}
