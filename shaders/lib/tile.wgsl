// The register-tiled matmul shared by the dense (matmul.wgsl) and quantized (qmatmul.wgsl)
// kernels: a TILE x TILE workgroup computes a BM x BN tile of C, each invocation a 4x4 block in
// registers, stepping along K by BK through workgroup memory (f32 As[k][m] and Bs[k][n]).
// What differs between the kernels is how a K step is loaded and how an output is stored, so the
// including kernel supplies:
//   const BK: u32                      the K step (dense 16; quantized 32, one block);
//   p.m, p.n, p.k                      the problem size, in its uniform `p`;
//   fn load_tile(bi, k0, m0, n0, t)    invocation t (of 256) fills its share of As/Bs for the K
//                                      step from k0 of batch bi, zeros outside the matrices
//                                      (through put_a / put_b, or As/Bs directly as vec4);
//   fn store_c(bi, m, n, v: f32)       writes one finished output; called only in bounds.
// The entry point is `main` here, dispatched over (N/BN, M/BM, batch) workgroups.

const TILE: u32 = 16u;
const BM: u32 = 64u;
const BN: u32 = 64u;
var<workgroup> As: array<vec4<f32>, BK * BM / 4u>; // [BK][BM/4]
var<workgroup> Bs: array<vec4<f32>, BK * BN / 4u>; // [BK][BN/4]

fn put_a(k: u32, m: u32, v: f32) {
    let idx = k * BM + m;
    As[idx / 4u][idx % 4u] = v;
}

fn put_b(k: u32, n: u32, v: f32) {
    let idx = k * BN + n;
    Bs[idx / 4u][idx % 4u] = v;
}

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let tx = lid.x;
    let ty = lid.y;
    let t = ty * TILE + tx;
    let n0 = wid.x * BN;
    let m0 = wid.y * BM;
    let bi = wid.z;
    var acc: array<vec4<f32>, 4>;
    for (var i = 0u; i < 4u; i++) { acc[i] = vec4<f32>(0.0); }

    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        load_tile(bi, k0, m0, n0, t);
        workgroupBarrier();
        // Rows 4ty..4ty+3 of A against columns 4tx..4tx+3 of B: one vec4 of each per k.
        for (var kk = 0u; kk < BK; kk++) {
            let av4 = As[kk * (BM / 4u) + ty];
            let bv4 = Bs[kk * (BN / 4u) + tx];
            acc[0] += av4.x * bv4;
            acc[1] += av4.y * bv4;
            acc[2] += av4.z * bv4;
            acc[3] += av4.w * bv4;
        }
        workgroupBarrier();
    }

    for (var i = 0u; i < 4u; i++) {
        let m = m0 + ty * 4u + i;
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + tx * 4u + j;
            if (m < p.m && n < p.n) { store_c(bi, m, n, acc[i][j]); }
        }
    }
}
