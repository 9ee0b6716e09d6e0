//! Mean pooling over tokens: x [rows, cols] -> [cols], the mean of the rows.
//!
//! Strategy: bands of rows summed column-wise in parallel (vectorized over columns), then the
//! band sums added: a blocked summation, so accuracy does not degrade with tens of thousands of
//! rows.

use crate::math;
use crate::par;

pub fn mean_pool(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    if rows == 0 || cols == 0 {
        return vec![0.0; cols];
    }
    // Bands of at most 256 rows: the blocked summation's block.
    let band = par::chunk_len(rows, 1, 1).min(256);
    let bands = rows.div_ceil(band);
    let partial = par::par_map(bands, |b| {
        let (r0, r1) = (b * band, ((b + 1) * band).min(rows));
        math::dispatch(#[inline(always)] || column_sums(&x[r0 * cols..r1 * cols], cols))
    });
    let mut total = vec![0f32; cols];
    for p in &partial {
        total.iter_mut().zip(p).for_each(|(t, &v)| *t += v);
    }
    let inv = 1.0 / rows as f32;
    total.iter_mut().for_each(|t| *t *= inv);
    total
}

#[inline(always)]
fn column_sums(x: &[f32], cols: usize) -> Vec<f32> {
    let mut s = vec![0f32; cols];
    for row in x.chunks_exact(cols) {
        s.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
    }
    s
}
