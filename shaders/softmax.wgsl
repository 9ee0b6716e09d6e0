// Softmax over the last dim of x [R, C] with a scale folded in: y = exp(s x - max(s x)) / sum,
// f32 arithmetic; T is f32 or f16 storage. One workgroup of 64 per row (rows over a 2-D grid).
// Subtracting the row max keeps exp from overflowing; -inf entries (masks) give 0. A row that is
// all -inf has no defined softmax and comes out NaN, as in PyTorch.

struct Params { rows: u32, cols: u32, scale: f32, _p: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

#include logsumexp

@compute @workgroup_size(64)
fn softmax(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32> $SUBGROUP_ARGS) {
    $SUBGROUP_INIT
    let row = wid.x + wid.y * nwg.x;
    // Workgroups past the last row still reduce (uniform control flow) and skip the write.
    let base = min(row, p.rows - 1u) * p.cols;
    let lse = row_logsumexp(base, p.cols, p.scale, lid);
    let inv = 1.0 / lse.sum_exp;
    if (row >= p.rows) { return; }
    for (var c = lid; c < p.cols; c += RWG) {
        y[base + c] = T(exp(p.scale * f32(x[base + c]) - lse.row_max) * inv);
    }
}
