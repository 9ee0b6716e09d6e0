//! LayerNorm against the twin: one column, one row, C below, at and far above the 64-wide
//! workgroup and not a multiple of it, the model's widths, a large mean offset (which a one-pass
//! E[x^2] - mean^2 variance gets wrong), a constant row (variance 0: only eps keeps it finite).
//! RMSNorm over the same kind of shapes, per-head views ([L * heads, head_dim]), Qwen3's eps, a
//! row of zeros (only eps keeps it finite) and a large-magnitude row.

use super::{compare, float_dtypes, round_to, tolerance, Rng};
use crate::device::Device;
use crate::ops::norm::{layernorm, rmsnorm};
use crate::recorder::run_and_read;
use crate::twin;

pub async fn check_layernorm(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    // (rows, cols, offset added to every x)
    let mut shapes: Vec<(usize, usize, f32)> = vec![(1, 1, 0.0), (1, 7, 0.0), (3, 64, 0.0), (5, 65, 0.0), (2, 1000, 0.0), (17, 128, 0.0), (4, 768, 0.0), (9, 33, 300.0), (6, 256, 1000.0), (130, 24, 0.0)];
    for _ in 0..4 {
        shapes.push((rng.range(1, 80), rng.range(1, 600), 0.0));
    }
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        for &(rows, cols, offset) in &shapes {
            // f16 cannot hold 1000 + small noise: keep the offset where the dtype resolves it.
            let offset = if dtype == crate::DType::F16 { offset.min(30.0) } else { offset };
            let x: Vec<f32> = rng.vec(rows * cols).iter().map(|v| v + offset).collect();
            let x = round_to(dtype, &x);
            let gamma = round_to(dtype, &rng.vec(cols).iter().map(|v| 1.0 + 0.5 * v).collect::<Vec<_>>());
            let beta = round_to(dtype, &rng.vec(cols));
            cases += case(device, dtype, &x, rows, cols, &gamma, &beta, 1e-5).await?;
        }
        // A constant row: the output is exactly beta (x - mean = 0), for any eps.
        let cols = 70;
        let x = vec![0.25f32; 2 * cols];
        let beta = round_to(dtype, &rng.vec(cols));
        cases += case(device, dtype, &x, 2, cols, &rng.vec(cols), &beta, 1e-5).await?;
    }
    Ok(cases)
}

#[allow(clippy::too_many_arguments)]
async fn case(device: &Device, dtype: crate::DType, x: &[f32], rows: usize, cols: usize, gamma: &[f32], beta: &[f32], eps: f32) -> Result<usize, String> {
    let gamma = round_to(dtype, gamma);
    let want = round_to(dtype, &twin::norm::layernorm(x, rows, cols, &gamma, beta, eps));
    let got = run_and_read(device, |rec| {
        let tx = rec.upload_as(&[rows, cols], x, dtype);
        let tg = rec.upload_as(&[cols], &gamma, dtype);
        let tb = rec.upload_as(&[cols], beta, dtype);
        layernorm(rec, &tx, &tg, &tb, eps)
    })
    .await
    .map_err(|e| e.to_string())?;
    compare(&got, &want, tolerance(dtype), &format!("layernorm {dtype:?} [{rows}, {cols}] |mean| {}", x[0].abs().round()))?;
    Ok(1)
}

pub async fn check_rmsnorm(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    // (rows, cols, scale of x): per-head views of Qwen3 heads (128, 64, 16) among them.
    let mut shapes: Vec<(usize, usize, f32)> = vec![(1, 1, 1.0), (1, 7, 1.0), (3, 64, 1.0), (5, 65, 1.0), (2, 1000, 1.0), (24, 128, 1.0), (7 * 4, 16, 1.0), (4, 2048, 1.0), (9, 33, 300.0), (130, 24, 1.0)];
    for _ in 0..4 {
        shapes.push((rng.range(1, 80), rng.range(1, 600), 1.0));
    }
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        for &(rows, cols, mag) in &shapes {
            let mag = if dtype == crate::DType::F16 { mag.min(30.0) } else { mag };
            let x = round_to(dtype, &rng.vec(rows * cols).iter().map(|v| v * mag).collect::<Vec<_>>());
            let gamma = round_to(dtype, &rng.vec(cols).iter().map(|v| 1.0 + 0.5 * v).collect::<Vec<_>>());
            cases += rms_case(device, dtype, &x, rows, cols, &gamma, 1e-6).await?;
        }
        // A row of zeros next to a normal row: zeros out, the other row unaffected.
        let cols = 70;
        let mut x = vec![0f32; cols];
        x.extend(round_to(dtype, &rng.vec(cols)));
        cases += rms_case(device, dtype, &x, 2, cols, &round_to(dtype, &rng.vec(cols)), 1e-6).await?;
    }
    Ok(cases)
}

async fn rms_case(device: &Device, dtype: crate::DType, x: &[f32], rows: usize, cols: usize, gamma: &[f32], eps: f32) -> Result<usize, String> {
    let want = round_to(dtype, &twin::norm::rmsnorm(x, rows, cols, gamma, eps));
    let got = run_and_read(device, |rec| {
        let tx = rec.upload_as(&[rows, cols], x, dtype);
        let tg = rec.upload_as(&[cols], gamma, dtype);
        rmsnorm(rec, &tx, &tg, eps)
    })
    .await
    .map_err(|e| e.to_string())?;
    compare(&got, &want, tolerance(dtype), &format!("rmsnorm {dtype:?} [{rows}, {cols}]"))?;
    Ok(1)
}
