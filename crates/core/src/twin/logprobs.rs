//! Twin of `ops::logprobs`.

pub const NEG_INF: f32 = -f32::MAX;

pub fn search_log_probs(x: &[f32], rows: usize, cols: usize, bias: &[f32], forced: Option<u32>, banned: &[(u32, u32)]) -> Vec<f32> {
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let m = row.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v as f64));
        let lse = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
        for t in 0..cols {
            out[r * cols + t] = match forced {
                Some(f) if f as usize == t => bias[r],
                Some(_) => NEG_INF,
                None => (row[t] as f64 - lse + bias[r] as f64) as f32,
            };
        }
    }
    for &(r, t) in banned {
        if (r as usize) < rows && (t as usize) < cols {
            out[r as usize * cols + t as usize] = NEG_INF;
        }
    }
    out
}
