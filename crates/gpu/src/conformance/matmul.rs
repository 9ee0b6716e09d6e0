//! Matmul and GEMV against the twin: tile multiples and not, size 1, vec4 and scalar paths,
//! transposed and plain B, broadcast batches, fused bias, strided (transposed) A.

use super::{compare, float_dtypes, round_to, tolerance, Rng};
use crate::device::Device;
use crate::dtype::DType;
use crate::ops::matmul::{matmul_scaled_into, MatmulGeometry};
use crate::recorder::Recorder;
use crate::twin;

pub async fn check_matmul(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    let mut shapes = vec![
        (1, 1, 1, 1),
        (1, 1, 7, 5),
        (1, 1, 96, 64),
        (1, 1, 130, 33),
        (1, 3, 5, 7),
        (2, 64, 64, 16),
        (3, 65, 33, 17),
        (1, 130, 70, 36),
        (2, 1, 9, 40),
        (1, 128, 128, 128),
    ];
    for _ in 0..6 {
        shapes.push((rng.range(1, 4), rng.range(1, 150), rng.range(1, 150), rng.range(1, 100)));
    }
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        for &(batch, m, n, k) in &shapes {
            for trans_b in [false, true] {
                let broadcast = rng.bool();
                let bias = rng.bool();
                let g = MatmulGeometry::contiguous(batch, m, n, k, trans_b, broadcast);
                run_case(device, dtype, &g, bias, 1.0, &mut rng).await?;
                cases += 1;
            }
        }
        // A read transposed (k-major) and C written into a wider row at an offset, as channel
        // attention does.
        for &(m, n, k) in &[(5, 6, 7), (32, 32, 300), (1, 4, 8)] {
            let g = MatmulGeometry {
                batch: 2, m, n, k,
                a_off: 3, a_bs: m, a_rs: 1, a_ks: 2 * m + 3,
                b_off: 0, b_bs: k * n, b_ks: n, b_ns: 1,
                c_off: 5, c_bs: n, c_rs: 2 * n + 5,
            };
            run_case(device, dtype, &g, false, 1.0, &mut rng).await?;
            // With a scale folded into the store (channel attention's N^-0.5).
            run_case(device, dtype, &g, true, 0.037, &mut rng).await?;
            cases += 2;
        }
    }
    Ok(cases)
}

async fn run_case(device: &Device, dtype: DType, g: &MatmulGeometry, with_bias: bool, alpha: f32, rng: &mut Rng) -> Result<(), String> {
    let (ea, eb, ec) = g.extents();
    let a = round_to(dtype, &rng.vec(ea));
    let b = round_to(dtype, &rng.vec(eb));
    let bias = with_bias.then(|| round_to(dtype, &rng.vec(g.n)));
    let c0 = round_to(dtype, &rng.vec(ec));
    let mut want = c0.clone();
    twin::matmul::matmul_scaled_into(&a, &b, &mut want, g, bias.as_deref(), alpha);
    let mut rec = Recorder::new(device);
    let ta = rec.upload_as(&[ea], &a, dtype);
    let tb = rec.upload_as(&[eb], &b, dtype);
    let tc = rec.upload_as(&[ec], &c0, dtype);
    let tbias = bias.as_ref().map(|v| rec.upload_as(&[g.n], v, dtype));
    matmul_scaled_into(&mut rec, &ta, &tb, &tc, g, tbias.as_ref(), alpha).map_err(|e| e.to_string())?;
    let staged = rec.stage_read(&tc).map_err(|e| e.to_string())?;
    rec.submit();
    let got = staged.read_f32(device).await.map_err(|e| e.to_string())?;
    let want = round_to(dtype, &want);
    compare(&got, &want, tolerance(dtype), &format!("matmul {dtype:?} {g:?} bias={with_bias} alpha={alpha}")).map(|_| ())
}
