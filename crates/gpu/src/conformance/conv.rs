//! conv2d and depthwise 3x3 against the twin: the patch-embedding geometries (k7 s4 p3, k3 s2 p1),
//! 1x1 inputs and kernels, padding larger than the input, asymmetric kernels/strides/pads, odd
//! channel counts, outputs not a multiple of the workgroup, with and without bias.

use super::{compare, float_dtypes, round_to, tolerance, Rng};
use crate::device::Device;
use crate::dtype::DType;
use crate::ops::conv::{conv2d, dwconv3x3, dwconv3x3_residual};
use crate::recorder::{run_and_read, Recorder};
use crate::twin;

/// (h, w, cin, cout, kh, kw, stride, pad)
type ConvCase = (usize, usize, usize, usize, usize, usize, [usize; 2], [usize; 2]);

pub async fn check_conv(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    let mut convs: Vec<ConvCase> = vec![
        (1, 1, 1, 1, 1, 1, [1, 1], [0, 0]),
        (1, 1, 3, 5, 3, 3, [1, 1], [1, 1]),
        (1, 1, 3, 4, 7, 7, [4, 4], [3, 3]),
        (13, 11, 3, 7, 7, 7, [4, 4], [3, 3]),
        (16, 16, 3, 8, 7, 7, [4, 4], [3, 3]),
        (9, 7, 5, 6, 3, 3, [2, 2], [1, 1]),
        (10, 10, 16, 33, 3, 3, [2, 2], [1, 1]),
        (5, 6, 4, 3, 2, 3, [1, 2], [0, 1]),
        (3, 3, 2, 2, 5, 5, [1, 1], [2, 2]),
        (8, 5, 1, 1, 1, 1, [3, 2], [0, 0]),
        (40, 38, 8, 16, 3, 3, [2, 2], [1, 1]),
    ];
    for _ in 0..4 {
        let k = rng.range(1, 6);
        convs.push((rng.range(1, 20), rng.range(1, 20), rng.range(1, 20), rng.range(1, 40), k, k, [rng.range(1, 4), rng.range(1, 4)], [rng.range(0, 3), rng.range(0, 3)]));
    }
    let mut dws = vec![(1, 1, 1), (1, 1, 5), (2, 3, 7), (7, 5, 33), (12, 12, 64), (14, 9, 130)];
    dws.push((rng.range(1, 30), rng.range(1, 30), rng.range(1, 100)));
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        for &(h, w, cin, cout, kh, kw, stride, pad) in &convs {
            if h + 2 * pad[0] < kh || w + 2 * pad[1] < kw {
                continue;
            }
            let x = round_to(dtype, &rng.vec(h * w * cin));
            let wt = round_to(dtype, &rng.vec(cout * cin * kh * kw));
            let bias = rng.bool().then(|| round_to(dtype, &rng.vec(cout)));
            let (want, _, _) = twin::conv::conv2d(&x, h, w, cin, &wt, cout, kh, kw, bias.as_deref(), stride, pad);
            let what = format!("conv2d {dtype:?} x [{h}, {w}, {cin}] w [{cout}, {cin}, {kh}, {kw}] s {stride:?} p {pad:?} bias {}", bias.is_some());
            let got = run_and_read(device, |rec| {
                let tx = rec.upload_as(&[h, w, cin], &x, dtype);
                let tw = rec.upload_as(&[cout, cin, kh, kw], &wt, dtype);
                let tb = bias.as_ref().map(|b| rec.upload_as(&[cout], b, dtype));
                conv2d(rec, &tx, &tw, tb.as_ref(), stride, pad)
            })
            .await
            .map_err(|e| e.to_string())?;
            compare(&got, &round_to(dtype, &want), tolerance(dtype), &what)?;
            cases += 1;
        }
        for &(h, w, c) in &dws {
            let x = round_to(dtype, &rng.vec(h * w * c));
            let wt = round_to(dtype, &rng.vec(c * 9));
            let bias = rng.bool().then(|| round_to(dtype, &rng.vec(c)));
            let residual = rng.bool();
            let want = if residual {
                twin::conv::dwconv3x3_residual(&x, h, w, c, &wt, bias.as_deref())
            } else {
                twin::conv::dwconv3x3(&x, h, w, c, &wt, bias.as_deref())
            };
            let what = format!("dwconv3x3 {dtype:?} [{h}, {w}, {c}] bias {} residual {residual}", bias.is_some());
            let got = run_and_read(device, |rec| {
                let tx = rec.upload_as(&[h, w, c], &x, dtype);
                let tw = rec.upload_as(&[c, 1, 3, 3], &wt, dtype);
                let tb = bias.as_ref().map(|b| rec.upload_as(&[c], b, dtype));
                if residual {
                    dwconv3x3_residual(rec, &tx, &tw, tb.as_ref())
                } else {
                    dwconv3x3(rec, &tx, &tw, tb.as_ref())
                }
            })
            .await
            .map_err(|e| e.to_string())?;
            compare(&got, &round_to(dtype, &want), tolerance(dtype), &what)?;
            cases += 1;
        }
    }
    // Shapes the launcher must refuse rather than run.
    let mut rec = Recorder::new(device);
    let x = rec.zeros(&[4, 4, 3], DType::F32);
    let w = rec.zeros(&[8, 2, 3, 3], DType::F32);
    if conv2d(&mut rec, &x, &w, None, [1, 1], [0, 0]).is_ok() {
        return Err("conv2d accepted a weight with the wrong Cin".into());
    }
    let w = rec.zeros(&[8, 3, 7, 7], DType::F32);
    if conv2d(&mut rec, &x, &w, None, [1, 1], [1, 1]).is_ok() {
        return Err("conv2d accepted a kernel larger than the padded input".into());
    }
    Ok(cases)
}
