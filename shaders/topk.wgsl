// Per-row top-k of x [R, V] (T storage, compared as f32): the k = $TOPK largest values, sorted
// descending, ties broken by the lower index (as a stable descending sort, and argmax = first max).
// One workgroup of 64 per row. Each invocation keeps a sorted private list of its best k over the
// columns lid, lid + 64, ...; the 64 lists are then merged pairwise in shared memory in 6 rounds.
// Shared memory is 64 * k * 8 bytes: 8 KiB at k = 16, inside WebGPU's default 16 KiB.
// NaN compares false, so it is never preferred over a number (it can only fill empty slots).
// Variants: ARGMAX (k = 1, indices only).

struct Params { rows: u32, cols: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
#if ARGMAX
@group(0) @binding(2) var<storage, read_write> out_idx: array<u32>;
#else
@group(0) @binding(2) var<storage, read_write> out_val: array<f32>;
@group(0) @binding(3) var<storage, read_write> out_idx: array<u32>;
#endif

const K: u32 = $TOPK;
const WG: u32 = 64u;
// Marks an unfilled slot; it loses to every element, so values such as -inf need no sentinel.
const EMPTY: u32 = 0xffffffffu;

var<workgroup> sh_val: array<f32, $SLOTS>;
var<workgroup> sh_idx: array<u32, $SLOTS>;

// Whether (av, ai) ranks before (bv, bi).
fn better(av: f32, ai: u32, bv: f32, bi: u32) -> bool {
    if (ai == EMPTY) { return false; }
    if (bi == EMPTY) { return true; }
    return av > bv || (av == bv && ai < bi);
}

@compute @workgroup_size(64)
fn topk(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    // Uniform for the whole workgroup, so the barriers below stay in uniform control flow.
    if (row >= p.rows) { return; }
    let base = row * p.cols;
    var lv: array<f32, K>;
    var li: array<u32, K>;
    for (var j = 0u; j < K; j++) { lv[j] = 0.0; li[j] = EMPTY; }
    for (var c = lid; c < p.cols; c += WG) {
        let v = f32(x[base + c]);
        // Most elements lose to the current k-th best: one comparison and move on.
        if (!better(v, c, lv[K - 1u], li[K - 1u])) { continue; }
        var j = K - 1u;
        loop {
            if (j == 0u || !better(v, c, lv[j - 1u], li[j - 1u])) { break; }
            lv[j] = lv[j - 1u];
            li[j] = li[j - 1u];
            j--;
        }
        lv[j] = v;
        li[j] = c;
    }
    for (var j = 0u; j < K; j++) {
        sh_val[lid * K + j] = lv[j];
        sh_idx[lid * K + j] = li[j];
    }
    workgroupBarrier();
    // Round with stride s: list lid absorbs list lid + s (lid < s). Writers (lid < s) and the
    // lists they read (>= s) never overlap within a round.
    for (var s = WG / 2u; s > 0u; s /= 2u) {
        if (lid < s) {
            var a = lid * K;
            var b = (lid + s) * K;
            // Two sorted lists of k give their top k in k steps; neither list runs out, since
            // after j < k steps the two cursors have advanced j places in total.
            for (var j = 0u; j < K; j++) {
                if (better(sh_val[a], sh_idx[a], sh_val[b], sh_idx[b])) {
                    lv[j] = sh_val[a];
                    li[j] = sh_idx[a];
                    a++;
                } else {
                    lv[j] = sh_val[b];
                    li[j] = sh_idx[b];
                    b++;
                }
            }
            for (var j = 0u; j < K; j++) {
                sh_val[lid * K + j] = lv[j];
                sh_idx[lid * K + j] = li[j];
            }
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        for (var j = 0u; j < K; j++) {
#ifnot ARGMAX
            out_val[row * K + j] = sh_val[j];
#endif
            out_idx[row * K + j] = sh_idx[j];
        }
    }
}
