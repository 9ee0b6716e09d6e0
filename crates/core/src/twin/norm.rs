//! Twin of `ops::norm`.

/// LayerNorm of each row of x [rows, cols] in f64: two-pass mean and (biased) variance.
pub fn layernorm(x: &[f32], rows: usize, cols: usize, gamma: &[f32], beta: &[f32], eps: f32) -> Vec<f32> {
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / cols as f64;
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / cols as f64;
        let inv = 1.0 / (var + eps as f64).sqrt();
        for c in 0..cols {
            out[r * cols + c] = ((row[c] as f64 - mean) * inv * gamma[c] as f64 + beta[c] as f64) as f32;
        }
    }
    out
}

/// RMSNorm of each row of x [rows, cols] in f64: x / sqrt(mean(x^2) + eps) * gamma.
pub fn rmsnorm(x: &[f32], rows: usize, cols: usize, gamma: &[f32], eps: f32) -> Vec<f32> {
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let ms = row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / cols as f64;
        let inv = 1.0 / (ms + eps as f64).sqrt();
        for c in 0..cols {
            out[r * cols + c] = (row[c] as f64 * inv * gamma[c] as f64) as f32;
        }
    }
    out
}
