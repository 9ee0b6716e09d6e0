//! Twin of `ops::channel_attention`, following the reference's tensor algebra literally:
//! q, k, v as [G, N, Cg]; attn = softmax((q * N^-0.5)^T k); out = (attn v^T)^T.

pub fn channel_attention(qkv: &[f32], n: usize, c: usize, groups: usize) -> Vec<f32> {
    let cg = c / groups;
    let at = |t: usize, part: usize, g: usize, i: usize| qkv[t * 3 * c + part * c + g * cg + i] as f64;
    let scale = (n as f64).powf(-0.5);
    let mut out = vec![0f32; n * c];
    for g in 0..groups {
        for i in 0..cg {
            let logits: Vec<f64> = (0..cg).map(|j| (0..n).map(|t| at(t, 0, g, i) * scale * at(t, 1, g, j)).sum()).collect();
            let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
            let s: f64 = e.iter().sum();
            for t in 0..n {
                let v: f64 = (0..cg).map(|j| e[j] / s * at(t, 2, g, j)).sum();
                out[t * c + g * cg + i] = v as f32;
            }
        }
    }
    out
}
