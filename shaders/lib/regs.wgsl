// The register-tiled matmul shared by the dense (matmul.wgsl) and quantized (qmatmul.wgsl)
// kernels, for adapters where barriers are dear (caps::Tiling::Registers): no workgroup memory and
// no barrier; each invocation keeps a 4x4 block of C in registers and reads A and B straight from
// storage. A workgroup is 8 x 8 invocations (lanes along n first), a 32 x 32 block of C.
// The including kernel supplies:
//   const KSTEP: u32                      the K advanced by one regs_step;
//   p.m, p.n, p.k                         the problem size, in its uniform `p`;
//   fn regs_step(bi, k0, m0, n0) -> mat4x4<f32>
//                                         element [j][i]: the sum over k in [k0, k0 + KSTEP) of
//                                         A(m0 + i, k) * B(k, n0 + j), zeros outside the matrices;
//   fn store_c(bi, m, n, v: f32)          writes one finished output; called only in bounds.
// The entry point is `main_regs`, dispatched over (ceil(N/32), ceil(M/32), batch) workgroups.

@compute @workgroup_size(64)
fn main_regs(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let n0 = (wid.x * 8u + lid % 8u) * 4u;
    let m0 = (wid.y * 8u + lid / 8u) * 4u;
    let bi = wid.z;
    var acc = mat4x4<f32>();
    for (var k0 = 0u; k0 < p.k; k0 += KSTEP) {
        acc += regs_step(bi, k0, m0, n0);
    }
    // Columns by constant index: a private matrix or array indexed by a loop variable goes to
    // memory on software adapters, which costs more than the arithmetic.
    store_column(bi, m0, n0, acc[0]);
    store_column(bi, m0, n0 + 1u, acc[1]);
    store_column(bi, m0, n0 + 2u, acc[2]);
    store_column(bi, m0, n0 + 3u, acc[3]);
}

// Outputs (m0 .. m0+3, n) of a finished block, those inside C.
fn store_column(bi: u32, m0: u32, n: u32, column: vec4<f32>) {
    if (n >= p.n) { return; }
    for (var i = 0u; i < 4u; i++) {
        if (m0 + i < p.m) { store_c(bi, m0 + i, n, column[i]); }
    }
}
