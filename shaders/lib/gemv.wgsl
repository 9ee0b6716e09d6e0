// The one-row GEMV entry point shared by the dense (matmul.wgsl) and quantized (qmatmul.wgsl)
// kernels: one workgroup of RWG invocations per output n (over a 2-D grid, see
// recorder::grid), each summing its share of the dot product, then one reduction (through
// subgroups when available). The including kernel supplies:
//   p.n                           the number of outputs, in its uniform `p`;
//   fn gemv_part(n, lid) -> f32   invocation lid's share of output n's dot product (n < p.n);
//   fn store_c(bi, m, n, v: f32)  writes the finished output (called with bi = m = 0).
#include reduce

@compute @workgroup_size(64)
fn gemv(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32> $SUBGROUP_ARGS) {
    $SUBGROUP_INIT
    let n = wid.x + wid.y * nwg.x;
    let valid = n < p.n;
    // Workgroups past the last output skip the loads but still reduce (uniform control flow).
    var s = 0.0;
    if (valid) { s = gemv_part(n, lid); }
    let total = wg_sum(s, lid);
    if (valid && lid == 0u) { store_c(0u, 0u, n, total); }
}
