//! Layout ops against the twin, compared exactly (values move unchanged): permutes of 1 to 4 dims
//! ([C, H, W] -> [H, W, C], transposes, the head split [N, H, D] -> [H, N, D]) with size-1 and odd
//! dims, concat along every dim (parts of one row/column, a 4-D case), window padding of
//! [H, W, C] to multiples of 12 and cropping back (a round trip), padding before and after, a
//! strided copy at offsets, u32 data, and refused shapes.

use super::{float_dtypes, round_to, Rng};
use crate::device::Device;
use crate::dtype::DType;
use crate::ops::copy::{concat, copy_into, pad, permute, slice, CopyGeometry};
use crate::recorder::{run_and_read, Recorder};
use crate::tensor::Tensor;
use crate::twin;

fn exact(got: &[f32], want: &[f32], what: &str) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{what}: {} values, expected {}", got.len(), want.len()));
    }
    match got.iter().zip(want).position(|(g, w)| g != w) {
        Some(i) => Err(format!("{what}: element {i}: got {}, expected {}", got[i], want[i])),
        None => Ok(()),
    }
}

async fn run(device: &Device, f: impl FnOnce(&mut Recorder) -> crate::error::Result<Tensor>) -> Result<Vec<f32>, String> {
    run_and_read(device, f).await.map_err(|e| e.to_string())
}

pub async fn check_copy(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    let mut cases = 0;
    let permutes: Vec<(Vec<usize>, Vec<usize>)> = vec![
        (vec![5], vec![0]),
        (vec![1, 1], vec![1, 0]),
        (vec![7, 13], vec![1, 0]),
        (vec![3, 5, 7], vec![1, 2, 0]),
        (vec![64, 9, 11], vec![1, 2, 0]),
        (vec![1, 4, 1], vec![2, 0, 1]),
        (vec![17, 4, 6], vec![1, 0, 2]),
        (vec![2, 3, 4, 5], vec![0, 2, 1, 3]),
        (vec![3, 1, 5, 2], vec![3, 2, 1, 0]),
    ];
    for dtype in float_dtypes(device) {
        for (shape, perm) in &permutes {
            let x = round_to(dtype, &rng.vec(shape.iter().product()));
            let got = run(device, |rec| {
                let t = rec.upload_as(shape, &x, dtype);
                permute(rec, &t, perm)
            })
            .await?;
            exact(&got, &twin::copy::permute(&x, shape, perm), &format!("permute {dtype:?} {shape:?} by {perm:?}"))?;
            cases += 1;
        }
        let concats: Vec<(Vec<Vec<usize>>, usize)> = vec![
            (vec![vec![1], vec![1]], 0),
            (vec![vec![3, 5], vec![2, 5], vec![1, 5]], 0),
            (vec![vec![3, 5], vec![3, 1], vec![3, 7]], 1),
            (vec![vec![4, 3, 2], vec![4, 3, 5]], 2),
            (vec![vec![2, 1, 3, 4], vec![2, 3, 3, 4]], 1),
        ];
        for (shapes, dim) in &concats {
            let xs: Vec<Vec<f32>> = shapes.iter().map(|s| round_to(dtype, &rng.vec(s.iter().product()))).collect();
            let got = run(device, |rec| {
                let ts: Vec<Tensor> = xs.iter().zip(shapes).map(|(x, s)| rec.upload_as(s, x, dtype)).collect();
                concat(rec, &ts.iter().collect::<Vec<_>>(), *dim)
            })
            .await?;
            let parts: Vec<(&[f32], &[usize])> = xs.iter().zip(shapes).map(|(x, s)| (x.as_slice(), s.as_slice())).collect();
            exact(&got, &twin::copy::concat(&parts, *dim), &format!("concat {dtype:?} {shapes:?} along {dim}"))?;
            cases += 1;
        }
        // Window padding: [H, W, C] -> [Hp, Wp, C] (right/bottom), then crop back to the input.
        for &(h, w, c) in &[(7, 5, 3), (14, 14, 1), (12, 12, 8), (1, 1, 1), (rng.range(1, 30), rng.range(1, 30), rng.range(1, 20))] {
            let (hp, wp) = (h.next_multiple_of(12), w.next_multiple_of(12));
            let x = round_to(dtype, &rng.vec(h * w * c));
            let padded_want = twin::copy::pad(&x, &[h, w, c], &[0, 0, 0], &[hp - h, wp - w, 0], 0.0);
            let got = run(device, |rec| {
                let t = rec.upload_as(&[h, w, c], &x, dtype);
                pad(rec, &t, &[0, 0, 0], &[hp - h, wp - w, 0])
            })
            .await?;
            exact(&got, &padded_want, &format!("pad {dtype:?} [{h}, {w}, {c}] to [{hp}, {wp}, {c}]"))?;
            let got = run(device, |rec| {
                let t = rec.upload_as(&[hp, wp, c], &padded_want, dtype);
                slice(rec, &t, &[0, 0, 0], &[h, w, c])
            })
            .await?;
            exact(&got, &x, &format!("crop {dtype:?} [{hp}, {wp}, {c}] to [{h}, {w}, {c}]"))?;
            cases += 2;
        }
        // Padding on every side and a slice from the middle.
        let (shape, before, after) = ([3, 4, 5], [1, 0, 2], [2, 3, 1]);
        let x = round_to(dtype, &rng.vec(60));
        let got = run(device, |rec| {
            let t = rec.upload_as(&shape, &x, dtype);
            pad(rec, &t, &before, &after)
        })
        .await?;
        exact(&got, &twin::copy::pad(&x, &shape, &before, &after, 0.0), "pad both sides")?;
        let got = run(device, |rec| {
            let t = rec.upload_as(&shape, &x, dtype);
            slice(rec, &t, &[1, 1, 2], &[2, 3, 3])
        })
        .await?;
        exact(&got, &twin::copy::slice(&x, &shape, &[1, 1, 2], &[2, 3, 3]), "slice middle")?;
        cases += 2;
    }
    // A raw strided copy between offsets: a [3, 4] box read transposed out of a [4, 10] buffer at
    // offset 2 into a [3, 9] buffer at offset 5; the untouched destination must stay as it was.
    let src: Vec<f32> = (0..40).map(|i| i as f32).collect();
    let dst0: Vec<f32> = (0..27).map(|i| -(i as f32)).collect();
    let g = CopyGeometry::new(&[3, 4], 2, &[1, 10], 5, &[9, 1]).map_err(|e| e.to_string())?;
    let got = run(device, |rec| {
        let s = rec.upload_f32(&[40], &src);
        let d = rec.upload_f32(&[27], &dst0);
        copy_into(rec, &s, &d, &g)?;
        Ok(d)
    })
    .await?;
    let mut want = dst0.clone();
    for i in 0..3 {
        for j in 0..4 {
            want[5 + i * 9 + j] = src[2 + i + j * 10];
        }
    }
    exact(&got, &want, "strided copy_into")?;
    // u32 values (ids) keep their bits, including ones an f32 path could not represent.
    let ids: Vec<u32> = (0..35).map(|i| u32::MAX - i * 977).collect();
    let mut rec = Recorder::new(device);
    let t = rec.upload_u32(&[5, 7], &ids);
    let y = permute(&mut rec, &t, &[1, 0]).map_err(|e| e.to_string())?;
    let staged = rec.stage_read(&y).map_err(|e| e.to_string())?;
    rec.submit();
    if staged.read_u32(device).await.map_err(|e| e.to_string())? != twin::copy::permute(&ids, &[5, 7], &[1, 0]) {
        return Err("permute of u32 ids changed values".into());
    }
    cases += 2;
    // Refused: not a permutation, mismatched concat parts, slice past the end, rank 5.
    let mut rec = Recorder::new(device);
    let a = rec.zeros(&[2, 3], DType::F32);
    let b = rec.zeros(&[3, 3], DType::F32);
    let five = rec.zeros(&[1, 1, 1, 1, 2], DType::F32);
    let refused = [
        permute(&mut rec, &a, &[0, 0]).is_err(),
        concat(&mut rec, &[&a, &b], 1).is_err(),
        slice(&mut rec, &a, &[1, 0], &[2, 3]).is_err(),
        permute(&mut rec, &five, &[0, 1, 2, 3, 4]).is_err(),
    ];
    if let Some(i) = refused.iter().position(|ok| !ok) {
        return Err(format!("bad-shape case {i} was accepted"));
    }
    Ok(cases)
}
