//! Softmax against the twin: one column (output exactly 1), C below, at and above the 64-wide
//! workgroup and not a multiple of it, the decoder's vocabulary width, scales < 1, > 1 and
//! negative, large logits (overflow without the max subtraction) and -inf masks.

use super::{compare, float_dtypes, round_to, tolerance, Rng};
use crate::device::Device;
use crate::ops::softmax::softmax;
use crate::recorder::run_and_read;
use crate::twin;

pub async fn check_softmax(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    // (rows, cols, scale, magnitude of x)
    let mut shapes: Vec<(usize, usize, f32, f32)> = vec![
        (1, 1, 1.0, 1.0), (3, 7, 1.0, 4.0), (2, 64, 0.125, 8.0), (5, 65, 2.0, 3.0), (144, 144, 0.176_776_7, 10.0),
        (1, 51_329, 1.0, 10.0), (4, 300, -1.5, 2.0), (3, 50, 1.0, 300.0),
    ];
    for _ in 0..3 {
        shapes.push((rng.range(1, 100), rng.range(1, 700), 0.5 + rng.unit().abs(), 5.0));
    }
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        for &(rows, cols, scale, mag) in &shapes {
            let mut x: Vec<f32> = rng.vec(rows * cols).iter().map(|v| mag * v).collect();
            if cols > 2 && scale > 0.0 {
                // Mask an entry per row, as causal and padding masks do (a mask is -inf after scaling).
                for r in 0..rows {
                    x[r * cols + rng.range(0, cols)] = f32::NEG_INFINITY;
                }
            }
            let x = round_to(dtype, &x);
            let want = round_to(dtype, &twin::softmax::softmax(&x, rows, cols, scale));
            let got = run_and_read(device, |rec| {
                let t = rec.upload_as(&[rows, cols], &x, dtype);
                softmax(rec, &t, scale)
            })
            .await
            .map_err(|e| e.to_string())?;
            // Row by row: each row sums to 1, so the rms scale of a wide row is tiny and a
            // whole-tensor rms would let the narrow rows off lightly.
            for r in 0..rows {
                let span = r * cols..(r + 1) * cols;
                compare(&got[span.clone()], &want[span], tolerance(dtype), &format!("softmax {dtype:?} [{rows}, {cols}] scale {scale} |x| {mag} row {r}"))?;
            }
            cases += 1;
        }
    }
    Ok(cases)
}
