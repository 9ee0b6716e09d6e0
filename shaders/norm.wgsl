// LayerNorm over the last dim of x [R, C]: y = (x - mean) / sqrt(var + eps) * gamma + beta,
// f32 statistics; T is f32 or f16 storage. `layernorm`: one workgroup of 64 per row (rows spread
// over a 2-D grid); `layernorm_rows` (caps::Tiling::Registers): one invocation per row, no
// barrier. The variance is a second pass over (x - mean)^2 rather than E[x^2] - mean^2, which
// cancels catastrophically when |mean| >> std (DaViT activations drift far from zero).

struct Params { rows: u32, cols: u32, eps: f32, _p: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> gamma: array<T>;
@group(0) @binding(3) var<storage, read> beta: array<T>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;

#include reduce

// The three passes over a row's share (columns first, first + stride, ...): the sum of x - x0, the
// sum of squared deviations from the mean, the normalised write. Shifted data: statistics of
// x - x0 (x0 = the row's first element, exact differences for nearby values) keep the f32 sum
// small, so its rounding does not swamp a small std.
fn shifted_sum(base: u32, x0: f32, first: u32, stride: u32) -> f32 {
    var s = 0.0;
    for (var c = first; c < p.cols; c += stride) { s += f32(x[base + c]) - x0; }
    return s;
}

fn squared_deviations(base: u32, x0: f32, mean: f32, first: u32, stride: u32) -> f32 {
    var q = 0.0;
    for (var c = first; c < p.cols; c += stride) {
        let d = (f32(x[base + c]) - x0) - mean;
        q += d * d;
    }
    return q;
}

fn write_normalised(base: u32, x0: f32, mean: f32, inv: f32, first: u32, stride: u32) {
    for (var c = first; c < p.cols; c += stride) {
        y[base + c] = T(((f32(x[base + c]) - x0) - mean) * inv * f32(gamma[c]) + f32(beta[c]));
    }
}

@compute @workgroup_size(64)
fn layernorm(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32> $SUBGROUP_ARGS) {
    $SUBGROUP_INIT
    let row = wid.x + wid.y * nwg.x;
    // Workgroups past the last row still take part in the reductions (uniform control flow) on a
    // real row, and skip the write.
    let base = min(row, p.rows - 1u) * p.cols;
    let n = f32(p.cols);
    let x0 = f32(x[base]);
    let mean = wg_sum(shifted_sum(base, x0, lid, RWG), lid) / n;
    let inv = inverseSqrt(wg_sum(squared_deviations(base, x0, mean, lid, RWG), lid) / n + p.eps);
    if (row >= p.rows) { return; }
    write_normalised(base, x0, mean, inv, lid, RWG);
}

@compute @workgroup_size(64)
fn layernorm_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = gid.x + gid.y * nwg.x * 64u;
    if (row >= p.rows) { return; }
    let base = row * p.cols;
    let n = f32(p.cols);
    let x0 = f32(x[base]);
    let mean = shifted_sum(base, x0, 0u, 1u) / n;
    let inv = inverseSqrt(squared_deviations(base, x0, mean, 0u, 1u) / n + p.eps);
    write_normalised(base, x0, mean, inv, 0u, 1u);
}
