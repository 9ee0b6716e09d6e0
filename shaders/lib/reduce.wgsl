// Workgroup reductions over RWG = 64 invocations, deterministic and independent of how the
// hardware maps invocations to subgroups: with subgroups, each subgroup's first lane posts the
// subgroup's result and every other lane posts the neutral element; then every invocation reads
// all 64 slots. Call from uniform control flow only.
const RWG: u32 = 64u;
var<workgroup> red_buf: array<f32, 64>;
var<private> sg_inv: u32;
var<private> sg_size: u32;

fn wg_reduce(v: f32, lid: u32, is_max: bool) -> f32 {
#if SUBGROUPS
    var s: f32;
    if (is_max) { s = subgroupMax(v); } else { s = subgroupAdd(v); }
    var posted = s;
    if (sg_inv != 0u) { posted = select(0.0, -3.0e38, is_max); }
    red_buf[lid] = posted;
    workgroupBarrier();
#else
    red_buf[lid] = v;
    workgroupBarrier();
#endif
    var acc = red_buf[0];
    for (var i = 1u; i < RWG; i++) {
        let x = red_buf[i];
        if (is_max) { acc = max(acc, x); } else { acc += x; }
    }
    workgroupBarrier();
    return acc;
}

fn wg_sum(v: f32, lid: u32) -> f32 { return wg_reduce(v, lid, false); }
fn wg_max(v: f32, lid: u32) -> f32 { return wg_reduce(v, lid, true); }
