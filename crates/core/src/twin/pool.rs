//! Twin of `ops::pool`.

/// The mean of the rows of x [rows, cols] -> [cols], in f64.
pub fn mean_pool(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols)
        .map(|c| ((0..rows).map(|r| x[r * cols + c] as f64).sum::<f64>() / rows as f64) as f32)
        .collect()
}
