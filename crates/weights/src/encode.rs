//! Encoding source values into a tensor's stored bytes, a run of values at a time, so a streaming
//! conversion never needs a whole source tensor in memory (Florence-2-large's embedding is 210 MB
//! as f32). Quantized tensors are encoded whole rows at a time: a row's blocks and scales depend
//! on that row only, so rows encoded in pieces give exactly the bytes of the whole matrix.

use visionllm_core::quant::{self, QuantLayout};

use crate::manifest::Stored;
use crate::source_header::SourceDtype;

/// Decode little-endian source elements (whole elements only) to f32.
pub fn decode(dtype: &SourceDtype, bytes: &[u8], out: &mut Vec<f32>) {
    match dtype {
        SourceDtype::F32 => out.extend(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
        SourceDtype::F16 => out.extend(bytes.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())),
        SourceDtype::BF16 => out.extend(bytes.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())),
        SourceDtype::Other(_) => unreachable!("the plan rejects tensors of other dtypes"),
    }
}

/// How far stored values are from the source, accumulated over the runs of one tensor.
#[derive(Clone, Copy, Debug, Default)]
pub struct ErrorStats {
    amax: f64,
    emax: f64,
    w2: f64,
    e2: f64,
}

impl ErrorStats {
    fn add(&mut self, source: &[f32], stored: impl Iterator<Item = f32>) {
        for (&w, s) in source.iter().zip(stored) {
            let (w, e) = (w as f64, (w - s) as f64);
            self.amax = self.amax.max(w.abs());
            self.emax = self.emax.max(e.abs());
            self.w2 += w * w;
            self.e2 += e * e;
        }
    }

    /// (max|w - s| / max|w|, ||w - s|| / ||w||); 0 for an all-zero tensor.
    pub fn relative(&self) -> (f64, f64) {
        let rel = |e: f64, w: f64| if w > 0.0 { e / w } else { 0.0 };
        (rel(self.emax, self.amax), rel(self.e2.sqrt(), self.w2.sqrt()))
    }
}

/// Write `values`, which start at flat index `first` of a tensor of logical `shape` stored as
/// `stored`, into the tensor's bytes `out`. Quantized: `first` and `values.len()` are whole rows.
pub fn write_values(stored: Stored, shape: &[usize], first: usize, values: &[f32], out: &mut [u8], stats: &mut ErrorStats) {
    match stored {
        Stored::F32 => {
            for (i, v) in values.iter().enumerate() {
                out[(first + i) * 4..][..4].copy_from_slice(&v.to_le_bytes());
            }
            stats.add(values, values.iter().copied());
        }
        Stored::F16 => {
            let h: Vec<half::f16> = values.iter().map(|&v| half::f16::from_f32(v)).collect();
            for (i, v) in h.iter().enumerate() {
                out[(first + i) * 2..][..2].copy_from_slice(&v.to_le_bytes());
            }
            stats.add(values, h.iter().map(|v| v.to_f32()));
        }
        q => {
            let (n, k) = (shape[0], shape[1]);
            assert!(first % k == 0 && values.len() % k == 0, "quantized runs are whole rows");
            let (row0, rows) = (first / k, values.len() / k);
            let dtype = q.gpu_dtype();
            let whole = QuantLayout::new(dtype, n, k);
            let part = QuantLayout::new(dtype, rows, k);
            let words = quant::quantize(dtype, rows, k, values);
            // Packed values: rows are contiguous words.
            let per_row = whole.blocks * whole.words_per_block();
            for (i, w) in words[..rows * per_row].iter().enumerate() {
                out[(row0 * per_row + i) * 4..][..4].copy_from_slice(&w.to_le_bytes());
            }
            // Scales: an f16 array after the values, one per (row, block): byte-addressed, so a
            // run whose scale count is odd does not touch its neighbour's half of a word.
            let scale_bytes: Vec<u8> = words[part.scale_offset_words()..].iter().flat_map(|w| w.to_le_bytes()).collect();
            let at = whole.scale_offset_words() * 4 + row0 * whole.blocks * 2;
            let len = rows * whole.blocks * 2;
            out[at..at + len].copy_from_slice(&scale_bytes[..len]);
            stats.add(values, quant::dequantize(dtype, rows, k, &words).into_iter());
        }
    }
}

pub fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = v[r * cols + c];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows encoded in runs of every size give the bytes of the whole matrix (odd scale counts,
    /// K not a multiple of the block, one row).
    #[test]
    fn runs_of_rows_encode_to_the_whole_matrix() {
        let mut state = 7u32;
        for (stored, n, k) in [(Stored::Q4, 7, 45), (Stored::Q8, 5, 33), (Stored::Q4, 1, 64), (Stored::Q8, 9, 96), (Stored::F16, 3, 5)] {
            let values: Vec<f32> = (0..n * k)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 8) as f32 / (1 << 24) as f32 - 0.5
                })
                .collect();
            let len = stored.byte_len(&[n, k]).unwrap() as usize;
            let mut whole = vec![0u8; len];
            write_values(stored, &[n, k], 0, &values, &mut whole, &mut ErrorStats::default());
            if stored.is_quantized() {
                let words = quant::quantize(stored.gpu_dtype(), n, k, &values);
                let want: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
                assert_eq!(whole, want, "{stored:?} {n}x{k}");
            }
            for step in 1..=n {
                let mut pieces = vec![0u8; len];
                let mut stats = ErrorStats::default();
                for row0 in (0..n).step_by(step) {
                    let rows = step.min(n - row0);
                    write_values(stored, &[n, k], row0 * k, &values[row0 * k..(row0 + rows) * k], &mut pieces, &mut stats);
                }
                assert_eq!(pieces, whole, "{stored:?} {n}x{k} in runs of {step} rows");
                assert!(stats.relative().0 > 0.0 && stats.relative().0 < 0.2, "{:?}", stats.relative());
            }
        }
    }
}
