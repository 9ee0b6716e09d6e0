//! Quantized linear layers: x [rows, k] (f32) times a Q8/Q4 weight [n, k] (packed as
//! `visionllm_core::quant` lays it out) transposed, plus bias [n]. The activations stay f32, so
//! the result equals the twin's dequantize-then-multiply up to f32 rounding.
//!
//! Strategy, never dequantizing the whole matrix:
//! - few rows (decode, beams, short prompts: rows <= [`GEMV_MAX_ROWS`]): a GEMV, parallel over
//!   chunks of n. Each weight row's 32-value blocks are decoded in registers and multiplied
//!   against the x rows, so the packed weight is streamed from memory once. On AVX2 CPUs and in
//!   wasm with simd128 an explicit kernel (`simd`, `simd_wasm`) sums each block's products before
//!   applying its scale, for groups of up to 8 x rows while the packed row stays in L1; elsewhere
//!   a portable loop decodes values times scale into lane accumulators.
//! - many rows: panels of [`PANEL`] weight rows are dequantized into a thread-local f32 scratch
//!   and multiplied by gemm (single-threaded per task), parallel over panels (and over row
//!   chunks of x when there are too few panels to occupy the threads).

use std::cell::RefCell;

use visionllm_core::quant::{QuantLayout, BLOCK};
use visionllm_core::DType;

use crate::math;
use crate::par::{self, SendPtr};

/// Up to this many rows use the GEMV (the packed weight read once, decoded in registers).
pub const GEMV_MAX_ROWS: usize = 16;
/// Weight rows dequantized per panel in the GEMM path (a [PANEL, k] f32 scratch per thread).
pub const PANEL: usize = 128;

/// x [rows, k] · dequant(words)[n, k]^T + bias -> [rows, n].
pub fn qlinear(x: &[f32], words: &[u32], dtype: DType, bias: Option<&[f32]>, rows: usize, n: usize, k: usize) -> Vec<f32> {
    let lay = QuantLayout::new(dtype, n, k);
    assert!(x.len() >= rows * k, "qlinear: x has {} values for {rows}x{k}", x.len());
    assert!(words.len() >= lay.total_words(), "qlinear: {} words for a {n}x{k} {dtype:?} weight", words.len());
    if let Some(b) = bias {
        assert!(b.len() >= n, "qlinear: bias has {} values for n = {n}", b.len());
    }
    if rows == 0 || n == 0 {
        return vec![0.0; rows * n];
    }
    if rows <= GEMV_MAX_ROWS {
        gemv(x, words, &lay, bias, rows)
    } else {
        panels(x, words, &lay, bias, rows)
    }
}

/// The f16 scale of block `idx` (= row * blocks + block).
#[inline(always)]
fn scale(words: &[u32], scale_at: usize, idx: usize) -> f32 {
    math::f16_to_f32((words[scale_at + idx / 2] >> (16 * (idx % 2))) as u16)
}

/// Block `idx`'s 32 values times its scale (padding past k decodes to 0).
#[inline(always)]
fn decode_block(words: &[u32], lay: &QuantLayout, scale_at: usize, idx: usize, out: &mut [f32; BLOCK]) {
    let s = scale(words, scale_at, idx);
    match lay.dtype {
        DType::Q8 => {
            let w = &words[idx * 8..idx * 8 + 8];
            for (i, word) in w.iter().enumerate() {
                // Value j sits in byte j % 4 of word j / 4, two's complement.
                let bytes = word.to_le_bytes();
                for t in 0..4 {
                    out[4 * i + t] = bytes[t] as i8 as f32 * s;
                }
            }
        }
        _ => {
            let w = &words[idx * 4..idx * 4 + 4];
            for (i, &word) in w.iter().enumerate() {
                // Value j sits in nibble j % 8 of word j / 8, stored as q + 8.
                for t in 0..8 {
                    out[8 * i + t] = (((word >> (4 * t)) & 0xf) as i32 - 8) as f32 * s;
                }
            }
        }
    }
}

/// Dequantize weight rows [r0, r0 + out.len() / k) into out (row-major [.., k]). Shared with the
/// quantized embedding, which picks single rows.
pub(crate) fn dequantize_rows(words: &[u32], lay: &QuantLayout, r0: usize, out: &mut [f32]) {
    let k = lay.k;
    let scale_at = lay.scale_offset_words();
    let mut blk = [0f32; BLOCK];
    for (i, row) in out.chunks_exact_mut(k).enumerate() {
        for b in 0..lay.blocks {
            decode_block(words, lay, scale_at, (r0 + i) * lay.blocks + b, &mut blk);
            let lo = b * BLOCK;
            let hi = (lo + BLOCK).min(k);
            row[lo..hi].copy_from_slice(&blk[..hi - lo]);
        }
    }
}

fn gemv(x: &[f32], words: &[u32], lay: &QuantLayout, bias: Option<&[f32]>, rows: usize) -> Vec<f32> {
    let (n, k, blocks) = (lay.n, lay.k, lay.blocks);
    // x rows zero-padded to whole blocks, so every block is a full 32-lane step (the padded
    // weight values are 0, and so are these).
    let kp = blocks * BLOCK;
    let mut xp = vec![0f32; rows * kp];
    for r in 0..rows {
        xp[r * kp..r * kp + k].copy_from_slice(&x[r * k..(r + 1) * k]);
    }
    // The explicit loops: AVX2+FMA (x86_64, detected at run time) or WebAssembly SIMD.
    let explicit = math::has_avx2() || math::has_wasm_simd();
    if explicit && lay.dtype == DType::Q4 {
        // Their Q4 decode yields each block's even values, then its odd ones.
        xp = q4_nibble_order(&xp);
    }
    let scale_at = lay.scale_offset_words();
    // Outputs computed column-major [n, rows] so each task owns a contiguous chunk, then
    // transposed (rows * n values: nothing next to streaming the weight).
    let mut out_t = vec![0f32; n * rows];
    let cols = par::chunk_len(n, 8, 16);
    par::par_chunks_mut(&mut out_t, cols * rows, |ci, chunk| {
        let j0 = ci * cols;
        #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
        if explicit {
            gemv_explicit(&xp, kp, rows, words, lay, scale_at, j0, chunk);
            return;
        }
        math::dispatch(#[inline(always)] || gemv_chunk(&xp, kp, words, lay, scale_at, rows, j0, chunk))
    });
    if let Some(b) = bias {
        for (j, o) in out_t.chunks_exact_mut(rows).enumerate() {
            o.iter_mut().for_each(|o| *o += b[j]);
        }
    }
    if rows == 1 {
        return out_t;
    }
    let mut out = vec![0f32; rows * n];
    for j in 0..n {
        for r in 0..rows {
            out[r * n + j] = out_t[j * rows + r];
        }
    }
    out
}

/// x's blocks of 32 reordered to the order the explicit Q4 loops decode values in: the even
/// values (low nibbles) 0, 2, .., 30, then the odd ones 1, 3, .., 31.
fn q4_nibble_order(x: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    for (o, b) in out.chunks_exact_mut(32).zip(x.chunks_exact(32)) {
        for i in 0..16 {
            o[i] = b[2 * i];
            o[16 + i] = b[2 * i + 1];
        }
    }
    out
}

/// [`gemv_chunk`] with an explicit block decode (AVX2 or WebAssembly SIMD; Q4 x in nibble
/// order): per weight row, the scales once, then the decode-and-dot kernel for each group of up
/// to 8 x rows (the packed row stays in L1 between groups).
#[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
#[allow(clippy::too_many_arguments)]
fn gemv_explicit(xp: &[f32], kp: usize, rows: usize, words: &[u32], lay: &QuantLayout, scale_at: usize, j0: usize, chunk: &mut [f32]) {
    fn run<const R: usize>(xg: &[f32], kp: usize, dtype: DType, w: &[u32], scales: &[f32], out: &mut [f32]) {
        let xr: [&[f32]; R] = std::array::from_fn(|r| &xg[r * kp..(r + 1) * kp]);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: on x86_64 only called when math::has_avx2() holds.
        let dots = unsafe {
            match dtype {
                DType::Q8 => crate::simd::q8_row_dots(w, scales, xr),
                _ => crate::simd::q4_row_dots(w, scales, xr),
            }
        };
        #[cfg(target_arch = "wasm32")]
        let dots = match dtype {
            DType::Q8 => crate::simd_wasm::q8_row_dots(w, scales, xr),
            _ => crate::simd_wasm::q4_row_dots(w, scales, xr),
        };
        out.copy_from_slice(&dots);
    }
    let blocks = lay.blocks;
    let wpb = lay.words_per_block();
    let mut scales = vec![0f32; blocks];
    for (jj, o) in chunk.chunks_exact_mut(rows).enumerate() {
        let j = j0 + jj;
        for (b, s) in scales.iter_mut().enumerate() {
            *s = scale(words, scale_at, j * blocks + b);
        }
        let w = &words[j * blocks * wpb..(j + 1) * blocks * wpb];
        for (xg, og) in xp.chunks(8 * kp).zip(o.chunks_mut(8)) {
            match og.len() {
                1 => run::<1>(xg, kp, lay.dtype, w, &scales, og),
                2 => run::<2>(xg, kp, lay.dtype, w, &scales, og),
                3 => run::<3>(xg, kp, lay.dtype, w, &scales, og),
                4 => run::<4>(xg, kp, lay.dtype, w, &scales, og),
                5 => run::<5>(xg, kp, lay.dtype, w, &scales, og),
                6 => run::<6>(xg, kp, lay.dtype, w, &scales, og),
                7 => run::<7>(xg, kp, lay.dtype, w, &scales, og),
                _ => run::<8>(xg, kp, lay.dtype, w, &scales, og),
            }
        }
    }
}

/// Outputs j0 .. j0 + chunk.len() / rows, column-major [j, row] (portable path): each weight
/// block decoded into registers (values times scale) and multiplied into 32 lane accumulators.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn gemv_chunk(xp: &[f32], kp: usize, words: &[u32], lay: &QuantLayout, scale_at: usize, rows: usize, j0: usize, chunk: &mut [f32]) {
    let blocks = lay.blocks;
    let mut blk = [0f32; BLOCK];
    for (jj, o) in chunk.chunks_exact_mut(rows).enumerate() {
        let j = j0 + jj;
        for (r, o) in o.iter_mut().enumerate() {
            let xr = &xp[r * kp..(r + 1) * kp];
            let mut acc = [0f32; BLOCK];
            for b in 0..blocks {
                // Decoded again per x row: one accumulator set stays live (few rows: cheap).
                decode_block(words, lay, scale_at, j * blocks + b, &mut blk);
                let xs = &xr[b * BLOCK..(b + 1) * BLOCK];
                for i in 0..BLOCK {
                    acc[i] += blk[i] * xs[i];
                }
            }
            let mut folded = [0f32; math::LANES];
            for i in 0..math::LANES {
                folded[i] = acc[i] + acc[i + math::LANES];
            }
            *o = math::hsum(&folded);
        }
    }
}

thread_local! {
    /// Each thread's dequantized panel, kept between calls so panels cost no allocation.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

fn panels(x: &[f32], words: &[u32], lay: &QuantLayout, bias: Option<&[f32]>, rows: usize) -> Vec<f32> {
    let (n, k) = (lay.n, lay.k);
    let mut out = vec![0f32; rows * n];
    if let Some(b) = bias {
        out.chunks_exact_mut(n).for_each(|r| r.copy_from_slice(&b[..n]));
    }
    if k == 0 {
        return out;
    }
    let n_panels = n.div_ceil(PANEL);
    // Enough tasks to occupy every thread; row chunks of at least 64 rows (each re-dequantizes
    // its panel, which is cheap next to 64 * PANEL * k multiply-adds).
    let want = 2 * par::threads();
    let row_chunks = want.div_ceil(n_panels).min(rows.div_ceil(64)).max(1);
    let rows_per = rows.div_ceil(row_chunks);
    let row_chunks = rows.div_ceil(rows_per);
    let op = SendPtr(out.as_mut_ptr());
    par::par_for(n_panels * row_chunks, |task| {
        let (p, rc) = (task / row_chunks, task % row_chunks);
        let (j0, j1) = (p * PANEL, ((p + 1) * PANEL).min(n));
        let (r0, r1) = (rc * rows_per, ((rc + 1) * rows_per).min(rows));
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let need = (j1 - j0) * k;
            if s.len() < need {
                s.resize(need, 0.0);
            }
            let panel = &mut s[..need];
            dequantize_rows(words, lay, j0, panel);
            // SAFETY: out is [rows, n] row-major and this task writes only its block
            // [r0, r1) x [j0, j1) (tasks cover disjoint blocks); x is read in [r0, r1) x [0, k)
            // and the panel is [j1 - j0, k], all within their allocations (checked above).
            unsafe {
                gemm::gemm(
                    r1 - r0, j1 - j0, k,
                    op.get().add(r0 * n + j0), 1, n as isize,
                    bias.is_some(),
                    x.as_ptr().add(r0 * k), 1, k as isize,
                    panel.as_ptr(), k as isize, 1,
                    1.0, 1.0,
                    false, false, false,
                    gemm::Parallelism::None,
                );
            }
        });
    });
    out
}
