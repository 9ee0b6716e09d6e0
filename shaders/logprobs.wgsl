// Log-probabilities for search: out[r, t] = x[r, t] - logsumexp(x[r, :]) + bias[r], with a forced
// token (every other token -inf, the forced one 0 + bias), then a list of banned (row, token)
// pairs set to -inf (pairs outside the logits are ignored). One workgroup per row; f32 output.
// The bans are applied by their row's workgroup after the row is written, rather than by a
// second entry point: one dispatch, and every binding is used by the one entry point (an auto
// layout drops unused bindings, and the launcher binds all four).

struct Params { rows: u32, cols: u32, forced: u32, banned: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> ban: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

#include logsumexp

const NEG_INF: f32 = -3.4028234e38;
const NONE: u32 = 0xffffffffu;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32> $SUBGROUP_ARGS) {
    $SUBGROUP_INIT
    let r = wid.x;
    let base = r * p.cols;
    let st = row_logsumexp(base, p.cols, 1.0, lid);
    let lse = st.row_max + log(st.sum_exp);
    let b = bias[r];
    for (var t = lid; t < p.cols; t += RWG) {
        var v = f32(x[base + t]) - lse + b;
        if (p.forced != NONE) { v = select(NEG_INF, b, t == p.forced); }
        out[base + t] = v;
    }
    // Every invocation's writes of the row land before any ban overwrites one of them.
    storageBarrier();
    for (var i = lid; i < p.banned; i += RWG) {
        let t = ban[2u * i + 1u];
        if (ban[2u * i] == r && t < p.cols) { out[base + t] = NEG_INF; }
    }
}
