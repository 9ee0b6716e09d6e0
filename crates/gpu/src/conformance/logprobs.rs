//! Search log-probs against the twin: plain rows, biases as large as beam search's -1e9 filler,
//! a forced token, banned pairs (repeated and out of range ones ignored), V = 1 and V > 51k.

use super::{compare, float_dtypes, round_to, tolerance, Rng};
use crate::device::Device;
use crate::ops::logprobs::search_log_probs;
use crate::recorder::Recorder;
use crate::twin;

pub async fn check_logprobs(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        for &(rows, cols) in &[(1, 1), (3, 7), (3, 1481), (2, 51329)] {
            for forced in [None, Some((cols as u32 - 1) / 2)] {
                let x: Vec<f32> = round_to(dtype, &rng.vec(rows * cols).iter().map(|v| v * 8.0).collect::<Vec<_>>());
                let bias: Vec<f32> = (0..rows).map(|r| if r == 0 { -0.75 } else { -1e9 }).collect();
                let banned: Vec<(u32, u32)> = (0..5).map(|_| (rng.range(0, rows + 1) as u32, rng.range(0, cols + 2) as u32)).collect();
                let want = twin::logprobs::search_log_probs(&x, rows, cols, &bias, forced, &banned);
                let mut rec = Recorder::new(device);
                let t = rec.upload_as(&[rows, cols], &x, dtype);
                let out = search_log_probs(&mut rec, &t, &bias, forced, &banned).map_err(|e| e.to_string())?;
                let staged = rec.stage_read(&out).map_err(|e| e.to_string())?;
                rec.submit();
                let got = staged.read_f32(device).await.map_err(|e| e.to_string())?;
                // Compare row by row: the -1e9 filler rows would otherwise dominate the rms floor.
                for r in 0..rows {
                    let (g, w) = (&got[r * cols..(r + 1) * cols], &want[r * cols..(r + 1) * cols]);
                    // -inf entries must match exactly; finite ones within tolerance.
                    for (i, (a, b)) in g.iter().zip(w).enumerate() {
                        if (*a == twin::logprobs::NEG_INF) != (*b == twin::logprobs::NEG_INF) {
                            return Err(format!("search_log_probs {dtype:?} {rows}x{cols} row {r} col {i}: got {a}, want {b}"));
                        }
                    }
                    let keep = |v: &[f32]| v.iter().map(|x| if *x == twin::logprobs::NEG_INF { 0.0 } else { *x }).collect::<Vec<_>>();
                    compare(&keep(g), &keep(w), tolerance(crate::DType::F32), &format!("search_log_probs {dtype:?} {rows}x{cols} row {r} forced {forced:?}"))?;
                }
                cases += 1;
            }
        }
    }
    Ok(cases)
}
