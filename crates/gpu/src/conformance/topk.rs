//! argmax and top-k against the twin, exactly: one column, V below, at and above the 64-wide
//! workgroup, the padded vocabulary 51328 and one past it, k from 1 to 16 including k = V, many
//! ties (values drawn from a few levels, so ties cross invocations' lists), -inf entries, the
//! maximum at the first and last column, and refused k.

use super::{float_dtypes, round_to, Rng};
use crate::device::Device;
use crate::dtype::DType;
use crate::ops::topk::{argmax, topk};
use crate::recorder::Recorder;
use crate::twin;

pub async fn check_topk(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    // (rows, cols, k, levels: 0 for continuous values, else that many distinct values)
    let mut shapes = vec![
        (1, 1, 1, 0), (2, 5, 5, 0), (3, 7, 3, 2), (4, 64, 16, 0), (2, 65, 16, 3), (3, 200, 7, 5),
        (2, 1000, 16, 4), (1, 51_328, 16, 0), (2, 51_329, 10, 50), (3, 51_329, 1, 2), (70, 33, 4, 0),
    ];
    for _ in 0..3 {
        let cols = rng.range(1, 3000);
        shapes.push((rng.range(1, 10), cols, rng.range(1, 17).min(cols), rng.range(0, 6)));
    }
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        for &(rows, cols, k, levels) in &shapes {
            let mut x: Vec<f32> = rng.vec(rows * cols);
            if levels > 0 {
                x = x.iter().map(|v| ((v + 1.0) * levels as f32 / 2.0).floor()).collect();
            }
            for r in 0..rows {
                // Row 0's maximum on its last column, row 1's on its first; -inf somewhere.
                let at = [cols - 1, 0].get(r).copied().unwrap_or_else(|| rng.range(0, cols));
                x[r * cols + at] = 10.0;
                if cols > k {
                    x[r * cols + rng.range(0, cols)] = f32::NEG_INFINITY;
                }
            }
            let x = round_to(dtype, &x);
            let (want_v, want_i) = twin::topk::topk(&x, rows, cols, k);
            let mut rec = Recorder::new(device);
            let t = rec.upload_as(&[rows, cols], &x, dtype);
            let (tv, ti) = topk(&mut rec, &t, k).map_err(|e| e.to_string())?;
            let am = argmax(&mut rec, &t).map_err(|e| e.to_string())?;
            let err = |e: crate::BackendError| e.to_string();
            let (sv, si, sa) = (rec.stage_read(&tv).map_err(err)?, rec.stage_read(&ti).map_err(err)?, rec.stage_read(&am).map_err(err)?);
            rec.submit();
            let e = |e: crate::BackendError| e.to_string();
            let (got_v, got_i, got_a) = (sv.read_f32(device).await.map_err(e)?, si.read_u32(device).await.map_err(e)?, sa.read_u32(device).await.map_err(e)?);
            let what = format!("{dtype:?} [{rows}, {cols}] k {k} levels {levels}");
            if got_i != want_i || got_v != want_v {
                let j = (0..want_i.len()).find(|&j| got_i[j] != want_i[j] || got_v[j] != want_v[j]).unwrap_or(0);
                return Err(format!("topk {what}: slot {j} (row {}): got {} @ {}, expected {} @ {}", j / k, got_v[j], got_i[j], want_v[j], want_i[j]));
            }
            if got_a != twin::topk::argmax(&x, rows, cols) {
                return Err(format!("argmax {what}: got {got_a:?}"));
            }
            cases += 2;
        }
    }
    let mut rec = Recorder::new(device);
    let x = rec.zeros(&[2, 5], DType::F32);
    for k in [0, 6, 17] {
        if topk(&mut rec, &x, k).is_ok() {
            return Err(format!("topk accepted k = {k} for 5 columns"));
        }
    }
    Ok(cases)
}
