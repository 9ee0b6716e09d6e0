// Mean over the rows (tokens) of x [N, C] -> y [1, C], f32 accumulation; T is f32 or f16 storage.
// One invocation per channel walking down its column: neighbouring invocations read neighbouring
// channels of the same token (coalesced), and the sum order is fixed, so results are repeatable.

struct Params { rows: u32, cols: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

@compute @workgroup_size(64)
fn mean_rows(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = (wid.x + wid.y * nwg.x) * 64u + lid;
    if (c >= p.cols) { return; }
    var s = 0.0;
    for (var r = 0u; r < p.rows; r++) { s += f32(x[r * p.cols + c]); }
    y[c] = T(s / f32(p.rows));
}
