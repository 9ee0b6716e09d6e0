// LayerNorm over the last dim of x [R, C]: y = (x - mean) / sqrt(var + eps) * gamma + beta,
// f32 statistics; T is f32 or f16 storage. `layernorm`: one workgroup of 64 per row (rows spread
// over a 2-D grid); `layernorm_rows` (caps::Tiling::Registers): one invocation per row, no barrier. The variance is a second pass over (x - mean)^2 rather than E[x^2] - mean^2, which
// cancels catastrophically when |mean| >> std (DaViT activations drift far from zero).

struct Params { rows: u32, cols: u32, eps: f32, _p: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> gamma: array<T>;
@group(0) @binding(3) var<storage, read> beta: array<T>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;

#include reduce

@compute @workgroup_size(64)
fn layernorm(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32> $SUBGROUP_ARGS) {
    $SUBGROUP_INIT
    let row = wid.x + wid.y * nwg.x;
    // Workgroups past the last row still take part in the reductions (uniform control flow) on a
    // real row, and skip the write.
    let base = min(row, p.rows - 1u) * p.cols;
    let n = f32(p.cols);
    // Shifted data: statistics of x - x0 (x0 = the row's first element, exact differences for
    // nearby values) keep the f32 sum small, so its rounding does not swamp a small std.
    let x0 = f32(x[base]);
    var s = 0.0;
    for (var c = lid; c < p.cols; c += RWG) { s += f32(x[base + c]) - x0; }
    let mean = wg_sum(s, lid) / n;
    var q = 0.0;
    for (var c = lid; c < p.cols; c += RWG) {
        let d = (f32(x[base + c]) - x0) - mean;
        q += d * d;
    }
    let inv = inverseSqrt(wg_sum(q, lid) / n + p.eps);
    if (row >= p.rows) { return; }
    for (var c = lid; c < p.cols; c += RWG) {
        y[base + c] = T(((f32(x[base + c]) - x0) - mean) * inv * f32(gamma[c]) + f32(beta[c]));
    }
}

@compute @workgroup_size(64)
fn layernorm_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = gid.x + gid.y * nwg.x * 64u;
    if (row >= p.rows) { return; }
    let base = row * p.cols;
    let n = f32(p.cols);
    // The same shifted two-pass statistics as `layernorm`, by one invocation.
    let x0 = f32(x[base]);
    var s = 0.0;
    for (var c = 0u; c < p.cols; c++) { s += f32(x[base + c]) - x0; }
    let mean = s / n;
    var q = 0.0;
    for (var c = 0u; c < p.cols; c++) {
        let d = (f32(x[base + c]) - x0) - mean;
        q += d * d;
    }
    let inv = inverseSqrt(q / n + p.eps);
    for (var c = 0u; c < p.cols; c++) {
        y[base + c] = T(((f32(x[base + c]) - x0) - mean) * inv * f32(gamma[c]) + f32(beta[c]));
    }
}
