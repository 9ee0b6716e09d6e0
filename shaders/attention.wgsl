// Multi-head scaled dot-product attention, one workgroup per (group, head, query):
// scores for all keys go to workgroup memory, a max/sum reduction gives the softmax, and the
// invocations then split the head dimension to accumulate P·V. This one kernel serves window
// attention (a group is a window of a padded grid), the encoder's self-attention, the decoder's
// causal self-attention over a KV cache, and cross-attention.
//
// Token index of row i in group w: plain attention (win = 0) uses i; window attention uses the
// window's top-left token plus (i / win) grid rows and (i % win) columns.
// Element (row r, head h, dim d) of X in {q, k, v, o} sits at x_off + r * x_rs + h * hd + d.
// CAUSAL: query i may see key j only when j <= i + causal_off.

struct Params {
    nq: u32, nk: u32, hd: u32, heads: u32,
    groups: u32, win: u32, grid_w: u32, nwx: u32,
    q_off: u32, q_rs: u32, k_off: u32, k_rs: u32,
    v_off: u32, v_rs: u32, o_off: u32, o_rs: u32,
    scale: f32, causal_off: u32, _p0: u32, _p1: u32,
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

fn token(w: u32, i: u32) -> u32 {
    if (p.win == 0u) { return i; }
    let base = (w / p.nwx) * p.win * p.grid_w + (w % p.nwx) * p.win;
    return base + (i / p.win) * p.grid_w + (i % p.win);
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
    let qrow = p.q_off + token(w, i) * p.q_rs + h * p.hd;
    for (var d = lid; d < p.hd; d += RWG) { qv[d] = f32(q[qrow + d]); }
    workgroupBarrier();

    var last = p.nk;  // keys [0, last) are visible
#if CAUSAL
    last = min(p.nk, i + p.causal_off + 1u);
#endif
    var local_max = -3.0e38;
    for (var j = lid; j < last; j += RWG) {
        let krow = p.k_off + token(w, j) * p.k_rs + h * p.hd;
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
            acc += sc[j] * f32(v[p.v_off + token(w, j) * p.v_rs + h * p.hd + d]);
        }
        o[orow + d] = T(acc / l);
    }
}
