//! Elementwise ops against the twin: GELU over [-8, 8] plus a relative check of its negative
//! tail (f32), scale, add and mul with same-shape and broadcast-row operands, sizes 1, odd and
//! past one workgroup, one size past 65535 workgroups (the 2-D grid), and refused shapes.
//! Tanh GELU and SwiGLU's silu(gate) * up over the same shapes, plus their far tails.

use super::{compare, float_dtypes, round_to, tolerance, Rng};
use crate::device::Device;
use crate::dtype::DType;
use crate::ops::elementwise::{add, gelu, gelu_tanh, mul, scale, silu_mul};
use crate::recorder::{run_and_read, Recorder};
use crate::twin;

pub async fn check_elementwise(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    let mut shapes = vec![(1, 1), (1, 7), (3, 5), (2, 256), (5, 257), (77, 129), (16, 768)];
    for _ in 0..3 {
        shapes.push((rng.range(1, 100), rng.range(1, 300)));
    }
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        for &(rows, cols) in &shapes {
            let n = rows * cols;
            let a = round_to(dtype, &rng.vec(n).iter().map(|v| 8.0 * v).collect::<Vec<_>>());
            let what = |op: &str| format!("{op} {dtype:?} [{rows}, {cols}]");
            let got = run_and_read(device, |rec| {
                let t = rec.upload_as(&[rows, cols], &a, dtype);
                gelu(rec, &t)
            })
            .await
            .map_err(|e| e.to_string())?;
            compare(&got, &round_to(dtype, &twin::elementwise::gelu(&a)), tolerance(dtype), &what("gelu"))?;
            let got = run_and_read(device, |rec| {
                let t = rec.upload_as(&[rows, cols], &a, dtype);
                gelu_tanh(rec, &t)
            })
            .await
            .map_err(|e| e.to_string())?;
            compare(&got, &round_to(dtype, &twin::elementwise::gelu_tanh(&a)), tolerance(dtype), &what("gelu_tanh"))?;
            let up = round_to(dtype, &rng.vec(n));
            let got = run_and_read(device, |rec| {
                let (tg, tu) = (rec.upload_as(&[rows, cols], &a, dtype), rec.upload_as(&[rows, cols], &up, dtype));
                silu_mul(rec, &tg, &tu)
            })
            .await
            .map_err(|e| e.to_string())?;
            compare(&got, &round_to(dtype, &twin::elementwise::silu_mul(&a, &up)), tolerance(dtype), &what("silu_mul"))?;
            let s = 0.125 + rng.unit();
            let got = run_and_read(device, |rec| {
                let t = rec.upload_as(&[rows, cols], &a, dtype);
                scale(rec, &t, s)
            })
            .await
            .map_err(|e| e.to_string())?;
            compare(&got, &round_to(dtype, &twin::elementwise::scale(&a, s)), tolerance(dtype), &what("scale"))?;
            for broadcast in [false, true] {
                let b_shape = if broadcast { vec![cols] } else { vec![rows, cols] };
                let b = round_to(dtype, &rng.vec(b_shape.iter().product()));
                for is_add in [true, false] {
                    let want = if is_add { twin::elementwise::binary(&a, &b, |x, y| x + y) } else { twin::elementwise::binary(&a, &b, |x, y| x * y) };
                    let got = run_and_read(device, |rec| {
                        let ta = rec.upload_as(&[rows, cols], &a, dtype);
                        let tb = rec.upload_as(&b_shape, &b, dtype);
                        if is_add { add(rec, &ta, &tb) } else { mul(rec, &ta, &tb) }
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                    let op = format!("{} b {b_shape:?}", if is_add { "add" } else { "mul" });
                    compare(&got, &round_to(dtype, &want), tolerance(dtype), &what(&op))?;
                }
            }
            cases += 8;
        }
    }
    // The negative tail on its own, where values are tiny; an erf-based 1 - erf(..) formula would lose all digits here.
    let tail: Vec<f32> = (0..1000).map(|i| -3.0 - 6.0 * i as f32 / 1000.0).collect();
    let got = run_and_read(device, |rec| {
        let t = rec.upload_f32(&[tail.len()], &tail);
        gelu(rec, &t)
    })
    .await
    .map_err(|e| e.to_string())?;
    // Element by element, so each bound is relative to that element alone.
    for (i, (g, w)) in got.iter().zip(twin::elementwise::gelu(&tail)).enumerate() {
        compare(&[*g], &[w], tolerance(DType::F32), &format!("gelu tail at x = {}", tail[i]))?;
    }
    cases += 1;
    // Far tails of tanh GELU and silu, where a naive exp(-x) overflows (past |x| ~ 88): values
    // whose results are normal floats or exact zeros (not the subnormal band, which adapters that
    // flush subnormals to zero would answer with 0).
    let far: Vec<f32> = vec![-200.0, -80.0, -30.0, -10.0, 10.0, 30.0, 90.0, 200.0];
    let ones = vec![1.0f32; far.len()];
    let got = run_and_read(device, |rec| {
        let t = rec.upload_f32(&[far.len()], &far);
        gelu_tanh(rec, &t)
    })
    .await
    .map_err(|e| e.to_string())?;
    for (i, (g, w)) in got.iter().zip(twin::elementwise::gelu_tanh(&far)).enumerate() {
        compare(&[*g], &[w], tolerance(DType::F32), &format!("gelu_tanh at x = {}", far[i]))?;
    }
    let got = run_and_read(device, |rec| {
        let (tg, tu) = (rec.upload_f32(&[far.len()], &far), rec.upload_f32(&[far.len()], &ones));
        silu_mul(rec, &tg, &tu)
    })
    .await
    .map_err(|e| e.to_string())?;
    for (i, (g, w)) in got.iter().zip(twin::elementwise::silu_mul(&far, &ones)).enumerate() {
        compare(&[*g], &[w], tolerance(DType::F32), &format!("silu at x = {}", far[i]))?;
    }
    cases += 2;
    // More than 65535 workgroups of 256: the launch spreads over y and the kernel must rebuild
    // the linear index.
    let n = 65536 * 256 + 3;
    let a: Vec<f32> = (0..n).map(|i| (i % 1000) as f32).collect();
    let got = run_and_read(device, |rec| {
        let t = rec.upload_f32(&[n], &a);
        scale(rec, &t, 0.5)
    })
    .await
    .map_err(|e| e.to_string())?;
    compare(&got, &twin::elementwise::scale(&a, 0.5), tolerance(DType::F32), "scale over a 2-D grid")?;
    cases += 1;
    // Shapes that must be refused.
    let mut rec = Recorder::new(device);
    let a = rec.zeros(&[4, 6], DType::F32);
    for bad in [vec![6, 4], vec![4], vec![2, 6], vec![24]] {
        let b = rec.zeros(&bad, DType::F32);
        if add(&mut rec, &a, &b).is_ok() {
            return Err(format!("add accepted a [4, 6] with b {bad:?}"));
        }
    }
    // SwiGLU's operands share one shape: a broadcast row is a mistake there.
    let row = rec.zeros(&[6], DType::F32);
    if silu_mul(&mut rec, &a, &row).is_ok() {
        return Err("silu_mul accepted a [6] row for a [4, 6] gate".into());
    }
    Ok(cases)
}
