// Multi-head scaled dot-product attention. `main` (caps::Tiling::Workgroup): one workgroup per
// (group, head, query): scores for all keys go to workgroup memory, a max/sum reduction gives the
// softmax, and the invocations then split the head dimension to accumulate P·V. `rows` (flag ROWS,
// caps::Tiling::Registers): one invocation per (group, head, query), no barrier (below). This one kernel serves window
// attention (a group is a window of a padded grid), the encoder's self-attention, the decoder's
// causal self-attention over a KV cache, and cross-attention.
//
// Token index of row i in group w: plain attention (win = 0) uses i; window attention uses the
// window's top-left token plus (i / win) grid rows and (i % win) columns.
// Element (row r, head h, dim d) of X in {q, k, v, o} sits at x_off + r * x_rs + h * hd + d.
// CAUSAL: query i may see key j only when j <= i + causal_off.
// Grouped-query attention: query head h reads key/value head h / kv_group (kv_group = 1 for
// multi-head attention), so k and v rows hold heads / kv_group heads.

struct Params {
    nq: u32, nk: u32, hd: u32, heads: u32,
    groups: u32, win: u32, grid_w: u32, nwx: u32,
    q_off: u32, q_rs: u32, k_off: u32, k_rs: u32,
    v_off: u32, v_rs: u32, o_off: u32, o_rs: u32,
    scale: f32, causal_off: u32, kv_group: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<T>;
@group(0) @binding(2) var<storage, read> k: array<T>;
@group(0) @binding(3) var<storage, read> v: array<T>;
@group(0) @binding(4) var<storage, read_write> o: array<T>;

#include reduce

const MAX_KEYS: u32 = 2048u;
const MAX_HD: u32 = 256u;
var<workgroup> sc: array<f32, 2048>;
var<workgroup> qv: array<f32, 256>;

// The token of row 0 of group w (0 for plain attention).
fn window_base(w: u32) -> u32 {
    if (p.win == 0u) { return 0u; }
    return (w / p.nwx) * p.win * p.grid_w + (w % p.nwx) * p.win;
}

fn token(w: u32, i: u32) -> u32 {
    if (p.win == 0u) { return i; }
    return window_base(w) + (i / p.win) * p.grid_w + (i % p.win);
}

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32> $SUBGROUP_ARGS) {
    $SUBGROUP_INIT
    let id = wid.x + wid.y * nwg.x;
    // Out-of-range workgroups still take part in the barriers below with harmless indices.
    let valid = id < p.groups * p.heads * p.nq;
    let cid = min(id, p.groups * p.heads * p.nq - 1u);
    let i = cid % p.nq;
    let h = (cid / p.nq) % p.heads;
    let w = cid / (p.nq * p.heads);
    let kh = h / p.kv_group;
    let qrow = p.q_off + token(w, i) * p.q_rs + h * p.hd;
    for (var d = lid; d < p.hd; d += RWG) { qv[d] = f32(q[qrow + d]); }
    workgroupBarrier();

    var last = p.nk;  // keys [0, last) are visible
#if CAUSAL
    last = min(p.nk, i + p.causal_off + 1u);
#endif
    var local_max = -3.0e38;
    for (var j = lid; j < last; j += RWG) {
        let krow = p.k_off + token(w, j) * p.k_rs + kh * p.hd;
        var s = 0.0;
        for (var d = 0u; d < p.hd; d++) { s += qv[d] * f32(k[krow + d]); }
        s *= p.scale;
        sc[j] = s;
        local_max = max(local_max, s);
    }
    let m = wg_max(local_max, lid);
    var local_sum = 0.0;
    for (var j = lid; j < last; j += RWG) {
        let e = exp(sc[j] - m);
        sc[j] = e;
        local_sum += e;
    }
    let l = wg_sum(local_sum, lid);
    workgroupBarrier();
    if (!valid) { return; }
    let orow = p.o_off + token(w, i) * p.o_rs + h * p.hd;
    for (var d = lid; d < p.hd; d += RWG) {
        var acc = 0.0;
        for (var j = 0u; j < last; j++) {
            acc += sc[j] * f32(v[p.v_off + token(w, j) * p.v_rs + kh * p.hd + d]);
        }
        o[orow + d] = T(acc / l);
    }
}

#if ROWS
// One invocation per (group, head, query) in one pass over the keys: a running maximum rescales
// the running sum and output (online softmax), so no score is stored. q and the output row stay in
// registers as HD4 = ceil(head dim / 4) vec4s (a define); HD is the head dimension.
// Loops run over vec4s, not scalars: lavapipe (gallivm) stops every loop of an invocation once the
// invocation has made 65,535 loop iterations in all, so the launcher sends longer work to `main`.
const HD: u32 = $HD;
const HD4: u32 = $HD4;

// One element of q (which = 0), k (1) or v (2); `which` is a constant at every call.
fn qkv_at(which: u32, i: u32) -> f32 {
    switch which {
        case 0u: { return f32(q[i]); }
        case 1u: { return f32(k[i]); }
        default: { return f32(v[i]); }
    }
}

// Four consecutive head dims of q, k or v from element `at`, zeros past the head dimension.
fn qkv4(which: u32, at: u32, d: u32) -> vec4<f32> {
#if HD_VEC4
    return vec4<f32>(qkv_at(which, at + d), qkv_at(which, at + d + 1u), qkv_at(which, at + d + 2u), qkv_at(which, at + d + 3u));
#else
    var r = vec4<f32>(0.0);
    for (var i = 0u; i < 4u; i++) { if (d + i < HD) { r[i] = qkv_at(which, at + d + i); } }
    return r;
#endif
}

@compute @workgroup_size(64)
fn rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if (id >= p.groups * p.heads * p.nq) { return; }
    let i = id % p.nq;
    let h = (id / p.nq) % p.heads;
    let w = id / (p.nq * p.heads);
    let kh = h / p.kv_group;
    let qrow = p.q_off + token(w, i) * p.q_rs + h * HD;
    var qv: array<vec4<f32>, HD4>;
    for (var d = 0u; d < HD4; d++) { qv[d] = qkv4(0u, qrow, 4u * d); }
    var last = p.nk;  // keys [0, last) are visible (at least key 0)
#if CAUSAL
    last = min(p.nk, i + p.causal_off + 1u);
#endif
    // Key 0 starts the running maximum m, sum l and output acc; each further key rescales them
    // by exp(m - m_new) when it raises the maximum.
    var m = 0.0;
    var l = 1.0;
    var acc: array<vec4<f32>, HD4>;
    // Key j's token, stepped along the window's rows instead of token(w, j): the integer divisions
    // in token() cost more than the dot product on a CPU adapter (SIMD has no vector division).
    var tok = window_base(w);
    var col = 0u;
    for (var j = 0u; j < last; j++) {
        let krow = p.k_off + tok * p.k_rs + kh * HD;
        let vrow = p.v_off + tok * p.v_rs + kh * HD;
        tok += 1u;
        col += 1u;
        if (p.win != 0u && col == p.win) {
            col = 0u;
            tok += p.grid_w - p.win;
        }
        var s = 0.0;
        for (var d = 0u; d < HD4; d++) { s += dot(qv[d], qkv4(1u, krow, 4u * d)); }
        s *= p.scale;
        if (j == 0u) {
            m = s;
            for (var d = 0u; d < HD4; d++) { acc[d] = qkv4(2u, vrow, 4u * d); }
            continue;
        }
        let m_new = max(m, s);
        let rescale = exp(m - m_new);
        let e = exp(s - m_new);
        l = l * rescale + e;
        for (var d = 0u; d < HD4; d++) { acc[d] = acc[d] * rescale + e * qkv4(2u, vrow, 4u * d); }
        m = m_new;
    }
    let orow = p.o_off + token(w, i) * p.o_rs + h * HD;
    for (var d = 0u; d < HD; d++) { o[orow + d] = T(acc[d / 4u][d % 4u] / l); }
}
#endif
