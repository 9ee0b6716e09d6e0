// The one-row GEMV entry points shared by the dense (matmul.wgsl) and quantized (qmatmul.wgsl)
// kernels. `gemv` (caps::Tiling::Workgroup): one workgroup of RWG invocations per output n (over
// a 2-D grid, see recorder::grid), each summing its share of the dot product, then one reduction
// (through subgroups when available). `gemv_regs` (caps::Tiling::Registers): one invocation per
// output, the whole dot product, no barrier; 64 outputs per workgroup.
// The including kernel supplies:
//   p.n                                    the number of outputs, in its uniform `p`;
//   fn gemv_part(n, first, stride) -> f32  the share of output n's dot product that starts at
//                                          part `first` and takes every `stride`-th part (n < p.n);
//   fn store_c(bi, m, n, v: f32)           writes the finished output (called with bi = m = 0).
#include reduce

@compute @workgroup_size(64)
fn gemv_regs(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n = gid.x + gid.y * nwg.x * 64u;
    if (n < p.n) { store_c(0u, 0u, n, gemv_part(n, 0u, 1u)); }
}

@compute @workgroup_size(64)
fn gemv(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32> $SUBGROUP_ARGS) {
    $SUBGROUP_INIT
    let n = wid.x + wid.y * nwg.x;
    let valid = n < p.n;
    // Workgroups past the last output skip the loads but still reduce (uniform control flow).
    var s = 0.0;
    if (valid) { s = gemv_part(n, lid, RWG); }
    let total = wg_sum(s, lid);
    if (valid && lid == 0u) { store_c(0u, 0u, n, total); }
}
