//! Twin of `ops::rope`, written as transformers does it: q * cos + rotate_half(q) * sin per head.

/// x [rows, width]; heads of `hd` columns in [0, rotated) rotated by cos/sin [rows, hd], the rest copied.
pub fn rope(x: &[f32], rows: usize, width: usize, cos: &[f32], sin: &[f32], hd: usize, rotated: usize) -> Vec<f32> {
    let mut y = x.to_vec();
    let half = hd / 2;
    for r in 0..rows {
        for h in 0..rotated / hd {
            let head = &x[r * width + h * hd..r * width + (h + 1) * hd];
            // rotate_half(x) = cat(-x[half..], x[..half])
            let rotated_half: Vec<f64> = (0..hd).map(|d| if d < half { -(head[d + half] as f64) } else { head[d - half] as f64 }).collect();
            for d in 0..hd {
                let t = r * hd + d;
                y[r * width + h * hd + d] = (head[d] as f64 * cos[t] as f64 + rotated_half[d] * sin[t] as f64) as f32;
            }
        }
    }
    y
}
