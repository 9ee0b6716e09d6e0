//! Mean pooling against the twin: one token, one channel, channel counts below, at and above the
//! 64-wide workgroup, the tower's 577 x 1024, a large offset, and refused empty inputs.

use super::{compare, float_dtypes, round_to, tolerance, Rng};
use crate::device::Device;
use crate::dtype::DType;
use crate::ops::pool::mean_pool;
use crate::recorder::{run_and_read, Recorder};
use crate::twin;

pub async fn check_mean_pool(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    let mut shapes: Vec<(usize, usize, f32)> = vec![(1, 1, 0.0), (1, 9, 0.0), (7, 1, 0.0), (3, 64, 0.0), (5, 65, 0.0), (577, 1024, 0.0), (49, 131, 20.0)];
    for _ in 0..3 {
        shapes.push((rng.range(1, 300), rng.range(1, 300), 0.0));
    }
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        for &(rows, cols, offset) in &shapes {
            let x = round_to(dtype, &rng.vec(rows * cols).iter().map(|v| v + offset).collect::<Vec<_>>());
            let want = round_to(dtype, &twin::pool::mean_pool(&x, rows, cols));
            let got = run_and_read(device, |rec| {
                let t = rec.upload_as(&[rows, cols], &x, dtype);
                mean_pool(rec, &t)
            })
            .await
            .map_err(|e| e.to_string())?;
            compare(&got, &want, tolerance(dtype), &format!("mean_pool {dtype:?} [{rows}, {cols}] offset {offset}"))?;
            cases += 1;
        }
    }
    let mut rec = Recorder::new(device);
    for bad in [vec![0, 4], vec![4, 0], vec![5]] {
        let t = rec.zeros(&bad, DType::F32);
        if mean_pool(&mut rec, &t).is_ok() {
            return Err(format!("mean_pool accepted {bad:?}"));
        }
    }
    Ok(cases)
}
