//! Top-k and argmax per row of x [rows, cols]: values descending, ties to the lower index (the
//! twin's stable sort).
//!
//! Strategy: one scan per row keeping a sorted list of the k best; a value enters only when it
//! beats the current k-th (strictly, so among equal values the earlier index stays ahead), which
//! makes the scan nearly a plain compare per element. Large k falls back to a stable sort.
//! Parallel over rows.

use crate::par;

/// Above this k a stable sort of the row is cheaper than insertion into the list.
const INSERT_MAX_K: usize = 64;

pub fn topk(x: &[f32], rows: usize, cols: usize, k: usize) -> (Vec<f32>, Vec<u32>) {
    let k = k.min(cols);
    let per_row = par::par_map(rows, |r| row_topk(&x[r * cols..(r + 1) * cols], k));
    let mut values = Vec::with_capacity(rows * k);
    let mut indices = Vec::with_capacity(rows * k);
    for (v, i) in per_row {
        values.extend(v);
        indices.extend(i);
    }
    (values, indices)
}

pub fn argmax(x: &[f32], rows: usize, cols: usize) -> Vec<u32> {
    par::par_map(rows, |r| {
        let row = &x[r * cols..(r + 1) * cols];
        let mut best = 0;
        for (i, &v) in row.iter().enumerate().skip(1) {
            if v > row[best] {
                best = i;
            }
        }
        best as u32
    })
}

fn row_topk(row: &[f32], k: usize) -> (Vec<f32>, Vec<u32>) {
    if k == 0 {
        return (Vec::new(), Vec::new());
    }
    if k > INSERT_MAX_K {
        let mut order: Vec<u32> = (0..row.len() as u32).collect();
        order.sort_by(|&a, &b| row[b as usize].partial_cmp(&row[a as usize]).unwrap_or(std::cmp::Ordering::Equal));
        order.truncate(k);
        return (order.iter().map(|&i| row[i as usize]).collect(), order);
    }
    let (mut vals, mut idx): (Vec<f32>, Vec<u32>) = (Vec::with_capacity(k + 1), Vec::with_capacity(k + 1));
    for (i, &v) in row.iter().enumerate() {
        // Full and v does not beat the k-th (NaN never enters).
        if vals.len() == k && v.partial_cmp(&vals[k - 1]) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        // After every kept value >= v: equal values keep index order.
        let at = vals.partition_point(|&kept| kept >= v);
        vals.insert(at, v);
        idx.insert(at, i as u32);
        if vals.len() > k {
            vals.pop();
            idx.pop();
        }
    }
    (vals, idx)
}
