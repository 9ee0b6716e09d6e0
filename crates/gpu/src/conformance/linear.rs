//! `linear` against the twins: it must pick the dense kernel for F32/F16 weights and the
//! dequantizing one for Q8/Q4 weights, with and without bias, for one row (GEMV) and many, with
//! each fused epilogue (none, GELU, a residual).

use super::{compare, float_dtypes, round_to, tolerance, Rng};
use crate::device::Device;
use crate::dtype::DType;
use crate::ops::linear::{linear_with, Epilogue};
use crate::quant::quantize;
use crate::recorder::run_and_read;
use crate::twin;

pub async fn check_linear(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        for wtype in [dtype, DType::Q8, DType::Q4] {
            for &(rows, n, k, with_bias) in &[(1, 40, 64, true), (7, 70, 100, false), (65, 3, 33, true), (33, 36, 32, false)] {
                for fused in ["none", "gelu", "residual"] {
                    let x = round_to(dtype, &rng.vec(rows * k));
                    let w = round_to(dtype, &rng.vec(n * k));
                    let bias = with_bias.then(|| round_to(dtype, &rng.vec(n)));
                    let residual = (fused == "residual").then(|| round_to(dtype, &rng.vec(rows * n)));
                    let words = wtype.is_quantized().then(|| quantize(wtype, n, k, &w));
                    let plain = match &words {
                        Some(words) => twin::qmatmul::qlinear(&x, words, wtype, bias.as_deref(), rows, n, k),
                        None => twin::matmul::linear(&x, &w, bias.as_deref(), rows, n, k),
                    };
                    let want = twin::matmul::epilogue(&plain, fused == "gelu", residual.as_deref());
                    let got = run_and_read(device, |rec| {
                        let tx = rec.upload_as(&[rows, k], &x, dtype);
                        let tw = match &words {
                            Some(words) => rec.upload_bytes(&[n, k], wtype, bytemuck::cast_slice(words)),
                            None => rec.upload_as(&[n, k], &w, dtype),
                        };
                        let tb = bias.as_ref().map(|b| rec.upload_as(&[n], b, dtype));
                        let tr = residual.as_ref().map(|r| rec.upload_as(&[rows, n], r, dtype));
                        let epilogue = match (fused, &tr) {
                            ("gelu", _) => Epilogue::Gelu,
                            (_, Some(r)) => Epilogue::Residual(r),
                            _ => Epilogue::None,
                        };
                        linear_with(rec, &tx, &tw, tb.as_ref(), epilogue)
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                    let what = format!("linear {dtype:?} weight {wtype:?} rows {rows} n {n} k {k} bias {with_bias} epilogue {fused}");
                    compare(&got, &round_to(dtype, &want), tolerance(dtype), &what)?;
                    cases += 1;
                }
            }
        }
    }
    Ok(cases)
}
