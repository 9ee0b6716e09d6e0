//! Twins of `ops::attention`, written the straightforward way: gather a window's tokens into a
//! list, then textbook softmax(q k^T * scale) v per head.

/// Textbook attention for one head over explicit row lists; `visible(i, j)` masks keys.
fn head_attention(
    q: &[f32], k: &[f32], v: &[f32], o: &mut [f32],
    rows: (&[usize], &[usize]), row_len: (usize, usize, usize, usize),
    head_off: (usize, usize), hd: usize, scale: f32, visible: impl Fn(usize, usize) -> bool,
) {
    // Query and output heads start at qo, key and value heads at kv (they differ under GQA).
    let (qo, kv) = head_off;
    let (qrows, krows) = rows;
    let (q_rs, k_rs, v_rs, o_rs) = row_len;
    for (i, &qi) in qrows.iter().enumerate() {
        let scores: Vec<f64> = krows
            .iter()
            .enumerate()
            .map(|(j, &kj)| {
                if !visible(i, j) {
                    return f64::NEG_INFINITY;
                }
                let dot: f64 = (0..hd).map(|d| q[qi * q_rs + qo + d] as f64 * k[kj * k_rs + kv + d] as f64).sum();
                dot * scale as f64
            })
            .collect();
        let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
        let sum: f64 = e.iter().sum();
        for d in 0..hd {
            let acc: f64 = krows.iter().zip(&e).map(|(&kj, w)| w * v[kj * v_rs + kv + d] as f64).sum();
            o[qi * o_rs + qo + d] = (acc / sum) as f32;
        }
    }
}

/// q [nq, C], k and v [nk, C] -> [nq, C]; query i sees key j when `causal_offset` is None or
/// j <= i + offset.
pub fn attention(q: &[f32], k: &[f32], v: &[f32], nq: usize, nk: usize, heads: usize, c: usize, causal_offset: Option<usize>) -> Vec<f32> {
    grouped_attention(q, k, v, nq, nk, heads, heads, c / heads, causal_offset)
}

/// Grouped-query attention: q [nq, heads * hd], k and v [nk, kv_heads * hd]; query head h uses
/// key/value head h / (heads / kv_heads), as transformers' `repeat_kv` lays them out.
#[allow(clippy::too_many_arguments)]
pub fn grouped_attention(q: &[f32], k: &[f32], v: &[f32], nq: usize, nk: usize, heads: usize, kv_heads: usize, hd: usize, causal_offset: Option<usize>) -> Vec<f32> {
    let (c, kc) = (heads * hd, kv_heads * hd);
    let mut o = vec![0f32; nq * c];
    let qrows: Vec<usize> = (0..nq).collect();
    let krows: Vec<usize> = (0..nk).collect();
    for h in 0..heads {
        let kh = h / (heads / kv_heads);
        head_attention(q, k, v, &mut o, (&qrows, &krows), (c, kc, kc, c), (h * hd, kh * hd), hd, (hd as f32).powf(-0.5), |i, j| {
            causal_offset.is_none_or(|off| j <= i + off)
        });
    }
    o
}

/// qkv [Hp, Wp, 3C] -> [Hp, Wp, C], attention inside each `window` x `window` tile.
pub fn window_attention(qkv: &[f32], hp: usize, wp: usize, c: usize, heads: usize, window: usize) -> Vec<f32> {
    let hd = c / heads;
    let mut o = vec![0f32; hp * wp * c];
    let (q, k, v) = (&qkv[..], &qkv[c..], &qkv[2 * c..]);
    for wy in 0..hp / window {
        for wx in 0..wp / window {
            let tokens: Vec<usize> = (0..window * window).map(|i| (wy * window + i / window) * wp + wx * window + i % window).collect();
            for h in 0..heads {
                head_attention(q, k, v, &mut o, (&tokens, &tokens), (3 * c, 3 * c, 3 * c, c), (h * hd, h * hd), hd, (hd as f32).powf(-0.5), |_, _| true);
            }
        }
    }
    o
}
