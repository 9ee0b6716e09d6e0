// RMSNorm over the last dim of x [R, C] (Qwen3's norms, and its per-head q/k norms viewed as
// [L * heads, head_dim]): y = gamma * (x / sqrt(mean(x^2) + eps)), f32 statistics; T is f32 or f16
// storage. `rmsnorm`: one workgroup of 64 per row; `rmsnorm_rows` (caps::Tiling::Registers): one
// invocation per row, no barrier. No mean is subtracted, so there is no cancellation to guard
// against (unlike LayerNorm); a row of zeros gives zeros (eps keeps the scale finite).

struct Params { rows: u32, cols: u32, eps: f32, _p: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> gamma: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;

#include reduce

fn sum_squares(base: u32, first: u32, stride: u32) -> f32 {
    var s = 0.0;
    for (var c = first; c < p.cols; c += stride) {
        let v = f32(x[base + c]);
        s += v * v;
    }
    return s;
}

// The reference rounds x * inv to the storage type before the gamma product (f16 models); in f32
// that rounding is the identity.
fn write_scaled(base: u32, inv: f32, first: u32, stride: u32) {
    for (var c = first; c < p.cols; c += stride) {
        y[base + c] = T(f32(gamma[c]) * f32(T(f32(x[base + c]) * inv)));
    }
}

@compute @workgroup_size(64)
fn rmsnorm(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32> $SUBGROUP_ARGS) {
    $SUBGROUP_INIT
    let row = wid.x + wid.y * nwg.x;
    // Workgroups past the last row reduce a real row (uniform control flow) and skip the write.
    let base = min(row, p.rows - 1u) * p.cols;
    let inv = inverseSqrt(wg_sum(sum_squares(base, lid, RWG), lid) / f32(p.cols) + p.eps);
    if (row >= p.rows) { return; }
    write_scaled(base, inv, lid, RWG);
}

@compute @workgroup_size(64)
fn rmsnorm_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = gid.x + gid.y * nwg.x * 64u;
    if (row >= p.rows) { return; }
    let base = row * p.cols;
    let inv = inverseSqrt(sum_squares(base, 0u, 1u) / f32(p.cols) + p.eps);
    write_scaled(base, inv, 0u, 1u);
}
