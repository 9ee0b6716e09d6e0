// The register-tiled matmul shared by the dense (matmul.wgsl) and quantized (qmatmul.wgsl)
// kernels, for adapters where barriers are dear (caps::Tiling::Registers): no workgroup memory and
// no barrier; each invocation keeps an 8x4 block of C (8 rows, 4 columns) in registers and reads A
// and B straight from storage, so each B value (for the quantized kernel: each dequantized weight)
// serves eight rows. A workgroup is 8 x 8 invocations (lanes along n first), a 64 x 32 block of C.
// The including kernel supplies:
//   const KSTEP: u32                      the K advanced by one regs_step;
//   p.m, p.n, p.k                         the problem size, in its uniform `p`;
//   fn regs_step(bi, k0, m0, n0) -> Block
//                                         lo[j][i] (hi[j][i]): the sum over k in [k0, k0 + KSTEP)
//                                         of A(m0 + i, k) * B(k, n0 + j) (row m0 + 4 + i for hi),
//                                         zeros outside the matrices;
//   fn store_c(bi, m, n, v: f32)          writes one finished output; called only in bounds.
// The entry point is `main_regs`, dispatched over (ceil(N/32), ceil(M/64), batch) workgroups.

struct Block {
    lo: mat4x4<f32>,
    hi: mat4x4<f32>,
}

@compute @workgroup_size(64)
fn main_regs(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let n0 = (wid.x * 8u + lid % 8u) * 4u;
    let m0 = (wid.y * 8u + lid / 8u) * 8u;
    let bi = wid.z;
    var lo = mat4x4<f32>();
    var hi = mat4x4<f32>();
    for (var k0 = 0u; k0 < p.k; k0 += KSTEP) {
        let step = regs_step(bi, k0, m0, n0);
        lo += step.lo;
        hi += step.hi;
    }
    // Columns by constant index: a private matrix or array indexed by a loop variable goes to
    // memory on software adapters, which costs more than the arithmetic.
    store_column(bi, m0, n0, lo[0]);
    store_column(bi, m0, n0 + 1u, lo[1]);
    store_column(bi, m0, n0 + 2u, lo[2]);
    store_column(bi, m0, n0 + 3u, lo[3]);
    store_column(bi, m0 + 4u, n0, hi[0]);
    store_column(bi, m0 + 4u, n0 + 1u, hi[1]);
    store_column(bi, m0 + 4u, n0 + 2u, hi[2]);
    store_column(bi, m0 + 4u, n0 + 3u, hi[3]);
}

// Outputs (m0 .. m0+3, n) of a finished block, those inside C.
fn store_column(bi: u32, m0: u32, n: u32, column: vec4<f32>) {
    if (n >= p.n) { return; }
    for (var i = 0u; i < 4u; i++) {
        if (m0 + i < p.m) { store_c(bi, m0 + i, n, column[i]); }
    }
}
