//! Twin of `ops::softmax`.

/// softmax(scale * x) of each row of x [rows, cols], in f64.
pub fn softmax(x: &[f32], rows: usize, cols: usize, scale: f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows * cols);
    for row in x.chunks(cols).take(rows) {
        let z: Vec<f64> = row.iter().map(|&v| scale as f64 * v as f64).collect();
        let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        out.extend(e.iter().map(|v| (v / sum) as f32));
    }
    out
}
