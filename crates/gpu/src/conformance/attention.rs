//! Attention kernels against their twins: windows on a padded grid (several windows, one window,
//! head dims from 1 up), plain and cross attention (queries != keys), causal self-attention over a
//! KV cache filled in two appends (prefill then a one-token step), multi-head and grouped-query
//! (2 and 4 query heads per k/v head, one k/v head for all).

use super::{compare, float_dtypes, round_to, tolerance, Rng};
use crate::device::Device;
use crate::ops::attention::{attention, causal_grouped_attention, kv_cache_append, window_attention};
use crate::recorder::Recorder;
use crate::tensor::Tensor;
use crate::twin;

async fn read(device: &Device, rec: Recorder<'_>, t: &Tensor) -> Result<Vec<f32>, String> {
    let mut rec = rec;
    let staged = rec.stage_read(t).map_err(|e| e.to_string())?;
    rec.submit();
    staged.read_f32(device).await.map_err(|e| e.to_string())
}

pub async fn check_window_attention(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        // (grid h, grid w, C, heads, window): multi-window grids, a single window, odd head dims.
        for &(hp, wp, c, heads, win) in &[(24, 12, 16, 2, 12), (12, 12, 8, 1, 12), (6, 9, 6, 3, 3), (4, 4, 3, 3, 2), (2, 2, 4, 1, 1)] {
            let qkv = round_to(dtype, &rng.vec(hp * wp * 3 * c));
            let want = round_to(dtype, &twin::attention::window_attention(&qkv, hp, wp, c, heads, win));
            let mut rec = Recorder::new(device);
            let t = rec.upload_as(&[hp, wp, 3 * c], &qkv, dtype);
            let o = window_attention(&mut rec, &t, heads, win).map_err(|e| e.to_string())?;
            let got = read(device, rec, &o).await?;
            compare(&got, &want, tolerance(dtype), &format!("window_attention {dtype:?} {hp}x{wp} C{c} h{heads} w{win}"))?;
            cases += 1;
        }
    }
    Ok(cases)
}

pub async fn check_attention(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        // (2000 keys of head dim 64 pass the one-invocation-per-query kernel's loop budget: the
        // workgroup kernel takes them on every adapter.)
        for &(nq, nk, heads, hd) in &[(1, 1, 1, 1), (5, 7, 2, 4), (1, 600, 12, 64), (70, 65, 3, 5), (33, 130, 4, 16), (66, 500, 1, 32), (2, 2000, 1, 64)] {
            let c = heads * hd;
            let (q, k, v) = (round_to(dtype, &rng.vec(nq * c)), round_to(dtype, &rng.vec(nk * c)), round_to(dtype, &rng.vec(nk * c)));
            let want = round_to(dtype, &twin::attention::attention(&q, &k, &v, nq, nk, heads, c, None));
            let mut rec = Recorder::new(device);
            let (tq, tk, tv) = (rec.upload_as(&[nq, c], &q, dtype), rec.upload_as(&[nk, c], &k, dtype), rec.upload_as(&[nk, c], &v, dtype));
            let o = attention(&mut rec, &tq, &tk, &tv, heads, None).map_err(|e| e.to_string())?;
            let got = read(device, rec, &o).await?;
            compare(&got, &want, tolerance(dtype), &format!("attention {dtype:?} nq{nq} nk{nk} h{heads} d{hd}"))?;
            cases += 1;
        }
    }
    Ok(cases)
}

pub async fn check_causal_attention(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        // (prefill, query heads, k/v heads, head dim, cache rows)
        for &(prefill, heads, kv_heads, hd, max_len) in &[(1, 1, 1, 4, 4), (6, 2, 2, 8, 16), (13, 3, 3, 5, 40), (7, 4, 2, 16, 9), (11, 8, 2, 6, 30), (1, 3, 1, 64, 2), (40, 16, 8, 128, 41)] {
            let (c, kvc) = (heads * hd, kv_heads * hd);
            let total = prefill + 1;
            let (q, k, v) = (round_to(dtype, &rng.vec(total * c)), round_to(dtype, &rng.vec(total * kvc)), round_to(dtype, &rng.vec(total * kvc)));
            // Expected: causal attention over the whole sequence at once.
            let want = round_to(dtype, &twin::attention::grouped_attention(&q, &k, &v, total, total, heads, kv_heads, hd, Some(0)));
            let mut rec = Recorder::new(device);
            let kc = rec.zeros(&[max_len, kvc], dtype);
            let vc = rec.zeros(&[max_len, kvc], dtype);
            let rows = |x: &[f32], w: usize, a: usize, b: usize| x[a * w..b * w].to_vec();
            // Prefill the first `prefill` positions, then one decoding step.
            let q0 = rec.upload_as(&[prefill, c], &rows(&q, c, 0, prefill), dtype);
            let (k0, v0) = (rec.upload_as(&[prefill, kvc], &rows(&k, kvc, 0, prefill), dtype), rec.upload_as(&[prefill, kvc], &rows(&v, kvc, 0, prefill), dtype));
            kv_cache_append(&mut rec, &kc, &k0, 0).map_err(|e| e.to_string())?;
            kv_cache_append(&mut rec, &vc, &v0, 0).map_err(|e| e.to_string())?;
            let o0 = causal_grouped_attention(&mut rec, &q0, &kc, &vc, prefill, heads, kv_heads).map_err(|e| e.to_string())?;
            let q1 = rec.upload_as(&[1, c], &rows(&q, c, prefill, total), dtype);
            let (k1, v1) = (rec.upload_as(&[1, kvc], &rows(&k, kvc, prefill, total), dtype), rec.upload_as(&[1, kvc], &rows(&v, kvc, prefill, total), dtype));
            kv_cache_append(&mut rec, &kc, &k1, prefill).map_err(|e| e.to_string())?;
            kv_cache_append(&mut rec, &vc, &v1, prefill).map_err(|e| e.to_string())?;
            let o1 = causal_grouped_attention(&mut rec, &q1, &kc, &vc, total, heads, kv_heads).map_err(|e| e.to_string())?;
            let s0 = rec.stage_read(&o0).map_err(|e| e.to_string())?;
            let s1 = rec.stage_read(&o1).map_err(|e| e.to_string())?;
            rec.submit();
            let mut got = s0.read_f32(device).await.map_err(|e| e.to_string())?;
            got.extend(s1.read_f32(device).await.map_err(|e| e.to_string())?);
            compare(&got, &want, tolerance(dtype), &format!("causal attention {dtype:?} prefill {prefill} h{heads}/{kv_heads} d{hd}"))?;
            cases += 1;
        }
    }
    // Head counts that do not group are refused.
    let mut rec = Recorder::new(device);
    let q = rec.zeros(&[1, 6 * 4], crate::DType::F32);
    let cache = rec.zeros(&[4, 4 * 4], crate::DType::F32);
    if causal_grouped_attention(&mut rec, &q, &cache, &cache, 1, 6, 4).is_ok() {
        return Err("6 query heads over 4 k/v heads was accepted".into());
    }
    Ok(cases)
}

pub async fn check_channel_attention(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        // (tokens, C, groups): one token, one group, channel groups of 1, long token sums.
        for &(n, c, groups) in &[(1, 4, 1), (5, 6, 3), (49, 16, 2), (144, 32, 4), (3000, 8, 2), (7, 5, 5)] {
            let qkv = round_to(dtype, &rng.vec(n * 3 * c));
            let want = round_to(dtype, &twin::channel_attention::channel_attention(&qkv, n, c, groups));
            let mut rec = Recorder::new(device);
            let t = rec.upload_as(&[n, 3 * c], &qkv, dtype);
            let o = crate::ops::channel_attention::channel_attention(&mut rec, &t, groups).map_err(|e| e.to_string())?;
            let got = read(device, rec, &o).await?;
            compare(&got, &want, tolerance(dtype), &format!("channel_attention {dtype:?} N{n} C{c} G{groups}"))?;
            cases += 1;
        }
    }
    Ok(cases)
}
