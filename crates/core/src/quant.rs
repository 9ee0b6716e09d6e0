//! Symmetric block quantization of weight matrices [N, K] (N outputs, K inputs, the layout of a
//! linear layer's weight): one f16 scale per block of 32 values along K, values packed in u32.
//!
//! Layout of one quantized tensor, in u32 words (the kernels read exactly this):
//! - values: row n, block b at word `(n * blocks + b) * WORDS`, `WORDS` = 8 for Q8, 4 for Q4;
//!   Q8 value j of a block sits in word j/4, bits 8*(j%4), two's complement;
//!   Q4 value j sits in word j/8, bits 4*(j%8), stored as q + 8 (q in -7..=7);
//! - scales: from word `scale_offset`, f16 number `n * blocks + b`, two per word (low half first).
//!
//! K that is not a multiple of 32 is padded with zeros inside the last block.

use half::f16;

use crate::dtype::DType;

pub const BLOCK: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantLayout {
    pub dtype: DType,
    pub n: usize,
    pub k: usize,
    pub blocks: usize,
}

impl QuantLayout {
    pub fn new(dtype: DType, n: usize, k: usize) -> Self {
        assert!(dtype.is_quantized(), "{dtype:?} is not a quantized dtype");
        QuantLayout { dtype, n, k, blocks: k.div_ceil(BLOCK) }
    }

    /// u32 words of packed values per block.
    pub fn words_per_block(&self) -> usize {
        match self.dtype {
            DType::Q8 => 8,
            _ => 4,
        }
    }

    fn qmax(&self) -> f32 {
        match self.dtype {
            DType::Q8 => 127.0,
            _ => 7.0,
        }
    }

    pub fn scale_offset_words(&self) -> usize {
        self.n * self.blocks * self.words_per_block()
    }

    pub fn total_words(&self) -> usize {
        self.scale_offset_words() + (self.n * self.blocks).div_ceil(2)
    }

    pub fn total_bytes(&self) -> u64 {
        self.total_words() as u64 * 4
    }
}

/// Quantize a row-major [N, K] matrix. Values are rounded with the f16-rounded scale, so the
/// dequantized numbers are exactly what the GPU computes.
pub fn quantize(dtype: DType, n: usize, k: usize, w: &[f32]) -> Vec<u32> {
    assert_eq!(w.len(), n * k, "quantize: {n}x{k} needs {} values", n * k);
    let lay = QuantLayout::new(dtype, n, k);
    let wpb = lay.words_per_block();
    let mut out = vec![0u32; lay.total_words()];
    let scale_at = lay.scale_offset_words();
    for row in 0..n {
        for b in 0..lay.blocks {
            let lo = b * BLOCK;
            let vals = &w[row * k + lo..row * k + (lo + BLOCK).min(k)];
            let amax = vals.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = f16::from_f32((amax / lay.qmax()).min(f16::MAX.to_f32()));
            let s = scale.to_f32();
            let idx = row * lay.blocks + b;
            out[scale_at + idx / 2] |= (scale.to_bits() as u32) << (16 * (idx % 2));
            let base = idx * wpb;
            for (j, v) in vals.iter().enumerate() {
                let q = if s == 0.0 { 0.0 } else { (v / s).round().clamp(-lay.qmax(), lay.qmax()) } as i32;
                match dtype {
                    DType::Q8 => out[base + j / 4] |= ((q as u8) as u32) << (8 * (j % 4)),
                    _ => out[base + j / 8] |= ((q + 8) as u32) << (4 * (j % 8)),
                }
            }
            // Padding values stay 0 for Q8; for Q4 the stored nibble for q = 0 is 8.
            if dtype == DType::Q4 {
                for j in vals.len()..BLOCK {
                    out[base + j / 8] |= 8 << (4 * (j % 8));
                }
            }
        }
    }
    out
}

/// The CPU twin of the kernels' dequantization: value (n, k) as the GPU sees it.
pub fn dequantize(dtype: DType, n: usize, k: usize, words: &[u32]) -> Vec<f32> {
    let lay = QuantLayout::new(dtype, n, k);
    let wpb = lay.words_per_block();
    let scale_at = lay.scale_offset_words();
    let mut out = vec![0f32; n * k];
    for row in 0..n {
        for col in 0..k {
            let (b, j) = (col / BLOCK, col % BLOCK);
            let idx = row * lay.blocks + b;
            let scale = f16::from_bits((words[scale_at + idx / 2] >> (16 * (idx % 2))) as u16).to_f32();
            let word = words[idx * wpb + j / if dtype == DType::Q8 { 4 } else { 8 }];
            let q = match dtype {
                DType::Q8 => ((word >> (8 * (j % 4))) & 0xff) as u8 as i8 as i32,
                _ => ((word >> (4 * (j % 8))) & 0xf) as i32 - 8,
            };
            out[row * k + col] = q as f32 * scale;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_error_is_within_half_a_step() {
        let (n, k) = (3, 45);
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0).collect();
        for dtype in [DType::Q8, DType::Q4] {
            let words = quantize(dtype, n, k, &w);
            assert_eq!(words.len(), QuantLayout::new(dtype, n, k).total_words());
            let back = dequantize(dtype, n, k, &words);
            let qmax = if dtype == DType::Q8 { 127.0 } else { 7.0 };
            for row in 0..n {
                for b in 0..2 {
                    let cols = b * 32..((b + 1) * 32).min(k);
                    let amax = cols.clone().map(|c| w[row * k + c].abs()).fold(0f32, f32::max);
                    let step = amax / qmax;
                    for c in cols {
                        let err = (back[row * k + c] - w[row * k + c]).abs();
                        assert!(err <= step * 0.5 + amax * 1e-3, "{dtype:?} ({row},{c}) err {err} step {step}");
                    }
                }
            }
        }
    }

    #[test]
    fn hand_packed_q4_block() {
        // One row, K = 3: amax 7 -> scale 1, q = [7, -7, 0]; stored nibbles 15, 1, 8, padding 8.
        let words = quantize(DType::Q4, 1, 3, &[7.0, -7.0, 0.0]);
        assert_eq!(words[0], 0x8888_881f);
        assert_eq!(words[1], 0x8888_8888);
        assert_eq!(words[4] & 0xffff, f16::from_f32(1.0).to_bits() as u32);
        assert_eq!(dequantize(DType::Q4, 1, 3, &words), vec![7.0, -7.0, 0.0]);
    }
}
