//! Rotary embedding against its twin: one row, one head, head dims 2 to 128, q-only and fused
//! qkv rows (v carried through unrotated), tables from real position schemes (1-D positions and
//! different angles per row) and random ones, odd row counts, and refused shapes.

use super::{compare, float_dtypes, round_to, tolerance, Rng};
use crate::device::Device;
use crate::dtype::DType;
use crate::ops::rope::rope;
use crate::recorder::{run_and_read, Recorder};
use crate::twin;

/// Tables for positions 0.. with rope_theta 10,000 (the standard 1-D layout, both halves equal).
fn position_tables(rows: usize, hd: usize) -> (Vec<f32>, Vec<f32>) {
    let half = hd / 2;
    let mut cos = Vec::with_capacity(rows * hd);
    let mut sin = Vec::with_capacity(rows * hd);
    for r in 0..rows {
        for d in 0..hd {
            let inv = 1.0 / 10_000f64.powf((2 * (d % half)) as f64 / hd as f64);
            let a = r as f64 * 3.0 * inv;
            cos.push(a.cos() as f32);
            sin.push(a.sin() as f32);
        }
    }
    (cos, sin)
}

pub async fn check_rope(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    // (rows, heads rotated, heads carried, head dim)
    let shapes = [(1, 1, 0, 2), (3, 2, 0, 16), (7, 8, 4, 16), (5, 4, 2, 64), (33, 2, 1, 128), (65, 3, 0, 6), (1, 16, 8, 128), (130, 1, 1, 4)];
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        for (i, &(rows, heads, carried, hd)) in shapes.iter().enumerate() {
            let width = (heads + carried) * hd;
            let rotated = heads * hd;
            let x = round_to(dtype, &rng.vec(rows * width));
            let (cos, sin) = if i % 2 == 0 { position_tables(rows, hd) } else { (rng.vec(rows * hd), rng.vec(rows * hd)) };
            let want = round_to(dtype, &twin::rope::rope(&x, rows, width, &cos, &sin, hd, rotated));
            let got = run_and_read(device, |rec| {
                let tx = rec.upload_as(&[rows, width], &x, dtype);
                let tc = rec.upload_f32(&[rows, hd], &cos);
                let ts = rec.upload_f32(&[rows, hd], &sin);
                rope(rec, &tx, &tc, &ts, hd, rotated)
            })
            .await
            .map_err(|e| e.to_string())?;
            compare(&got, &want, tolerance(dtype), &format!("rope {dtype:?} [{rows}, {width}] hd {hd} rotated {rotated}"))?;
            // Carried columns come through bit for bit.
            for r in 0..rows {
                for c in rotated..width {
                    if got[r * width + c] != x[r * width + c] {
                        return Err(format!("rope {dtype:?}: carried column {c} of row {r} changed"));
                    }
                }
            }
            cases += 1;
        }
    }
    // Refused: odd head dim, partial head, f16 tables, tables of the wrong length.
    let mut rec = Recorder::new(device);
    let x = rec.zeros(&[2, 12], DType::F32);
    let t4 = rec.zeros(&[2, 4], DType::F32);
    let t3 = rec.zeros(&[2, 3], DType::F32);
    let t6 = rec.zeros(&[2, 6], DType::F32);
    let bad = [(&t3, 3, 12), (&t4, 4, 10), (&t4, 4, 16), (&t6, 4, 12)];
    for (t, hd, rotated) in bad {
        if rope(&mut rec, &x, t, t, hd, rotated).is_ok() {
            return Err(format!("rope accepted head dim {hd}, {rotated} rotated columns, table {:?}", t.shape));
        }
    }
    Ok(cases)
}
