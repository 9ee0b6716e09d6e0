//! Quantized matmul and GEMV against the twin of the same quantized math: Q8 and Q4, K not a
//! multiple of 32, one row (GEMV) and many, N and M not multiples of the tile, bias or not.

use super::{compare, float_dtypes, round_to, tolerance, Rng};
use crate::device::Device;
use crate::dtype::DType;
use crate::ops::qmatmul::qlinear;
use crate::quant::quantize;
use crate::recorder::Recorder;
use crate::twin;

pub async fn check_qmatmul(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    // Rows 1..16 take the CPU backend's GEMV, whose explicit kernels (AVX2, WebAssembly SIMD) work
    // on groups of up to 8 x rows: 3, 8, 9 and 16 rows cover a partial group, a full one, one
    // past it and two full ones.
    let mut shapes = vec![(1, 1, 1), (1, 5, 31), (1, 64, 32), (1, 70, 100), (2, 3, 33), (3, 9, 70), (8, 33, 65), (9, 17, 96), (16, 12, 40), (65, 65, 64), (17, 130, 95), (128, 96, 256)];
    for _ in 0..4 {
        shapes.push((rng.range(1, 140), rng.range(1, 140), rng.range(1, 200)));
    }
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        for qtype in [DType::Q8, DType::Q4] {
            for &(rows, n, k) in &shapes {
                let with_bias = rng.bool();
                let x = round_to(dtype, &rng.vec(rows * k));
                let w = rng.vec(n * k);
                let bias = with_bias.then(|| round_to(dtype, &rng.vec(n)));
                let words = quantize(qtype, n, k, &w);
                let want = round_to(dtype, &twin::qmatmul::qlinear(&x, &words, qtype, bias.as_deref(), rows, n, k));
                let mut rec = Recorder::new(device);
                let tx = rec.upload_as(&[rows, k], &x, dtype);
                let tw = rec.upload_bytes(&[n, k], qtype, bytemuck::cast_slice(&words));
                let tb = bias.as_ref().map(|b| rec.upload_as(&[n], b, dtype));
                let out = qlinear(&mut rec, &tx, &tw, tb.as_ref()).map_err(|e| e.to_string())?;
                let staged = rec.stage_read(&out).map_err(|e| e.to_string())?;
                rec.submit();
                let got = staged.read_f32(device).await.map_err(|e| e.to_string())?;
                compare(&got, &want, tolerance(dtype), &format!("qlinear {dtype:?} {qtype:?} rows {rows} n {n} k {k}"))?;
                cases += 1;
            }
        }
    }
    Ok(cases)
}
