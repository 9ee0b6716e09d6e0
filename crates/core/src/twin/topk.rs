//! Twin of `ops::topk`: a full stable sort of each row.

/// Per row of x [rows, cols]: the k largest (value, index) pairs, value descending, lower index
/// first among equal values.
pub fn topk(x: &[f32], rows: usize, cols: usize, k: usize) -> (Vec<f32>, Vec<u32>) {
    let (mut values, mut indices) = (Vec::new(), Vec::new());
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let mut order: Vec<usize> = (0..cols).collect();
        // A stable sort keeps equal values in index order.
        order.sort_by(|&a, &b| row[b].partial_cmp(&row[a]).expect("no NaN in twin inputs"));
        for &i in &order[..k] {
            values.push(row[i]);
            indices.push(i as u32);
        }
    }
    (values, indices)
}

pub fn argmax(x: &[f32], rows: usize, cols: usize) -> Vec<u32> {
    topk(x, rows, cols, 1).1
}
