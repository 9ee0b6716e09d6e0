//! Explicit AVX2+FMA inner loops (x86_64) for the two GEMV shapes whose portable form LLVM does
//! not vectorize well: several rows dotted with one weight row (the accumulators of more than one
//! row end up on the stack), and the Q8/Q4 block decode fused with those dots. The callers check
//! [`crate::math::has_avx2`] at run time and otherwise use their portable loops (other CPUs, wasm).
//!
//! Every function here is `unsafe` only because it is compiled for AVX2+FMA (calling it on a CPU
//! without them is undefined); memory is read through bounds-checked subslices, and the raw
//! pointer loads read exactly those subslices.

use std::arch::x86_64::*;

/// Sum of the 8 lanes.
#[inline(always)]
unsafe fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
}

/// 8 floats from `x[at..at + 8]` (bounds-checked).
#[inline(always)]
unsafe fn load8(x: &[f32], at: usize) -> __m256 {
    _mm256_loadu_ps(x[at..at + 8].as_ptr())
}

/// The dot products of each of the M rows `a` with `b` (each a row at least b.len() long).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn dot_rows<const M: usize>(a: [&[f32]; M], b: &[f32]) -> [f32; M] {
    let k = b.len();
    let whole = k / 16 * 16;
    // Two accumulators per row: two independent FMA chains per row hide the FMA latency.
    let mut acc0 = [_mm256_setzero_ps(); M];
    let mut acc1 = [_mm256_setzero_ps(); M];
    let mut c = 0;
    while c < whole {
        let (b0, b1) = (load8(b, c), load8(b, c + 8));
        for r in 0..M {
            acc0[r] = _mm256_fmadd_ps(load8(a[r], c), b0, acc0[r]);
            // Past 4 rows the rows themselves are enough independent chains, and 16 accumulators
            // would not fit the 16 registers.
            if M <= 4 {
                acc1[r] = _mm256_fmadd_ps(load8(a[r], c + 8), b1, acc1[r]);
            } else {
                acc0[r] = _mm256_fmadd_ps(load8(a[r], c + 8), b1, acc0[r]);
            }
        }
        c += 16;
    }
    let mut out = [0f32; M];
    for r in 0..M {
        let tail: f32 = a[r][whole..k].iter().zip(&b[whole..]).map(|(x, y)| x * y).sum();
        out[r] = hsum(_mm256_add_ps(acc0[r], acc1[r])) + tail;
    }
    out
}

/// One Q8 weight row (`words`: 8 per block, `scales`: one per block) dotted with R x rows
/// (`x`: 32 values per block, zero-padded past k).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn q8_row_dots<const R: usize>(words: &[u32], scales: &[f32], x: [&[f32]; R]) -> [f32; R] {
    let mut acc = [_mm256_setzero_ps(); R];
    for (b, &s) in scales.iter().enumerate() {
        let w = &words[b * 8..b * 8 + 8];
        // 32 bytes = the block's 32 values in order, two's complement.
        let v0 = _mm_loadu_si128(w[..4].as_ptr().cast());
        let v1 = _mm_loadu_si128(w[4..].as_ptr().cast());
        let q = [
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v0)),
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128::<8>(v0))),
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v1)),
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128::<8>(v1))),
        ];
        block_fma(&mut acc, &q, _mm256_set1_ps(s), &x, b * 32);
    }
    acc.map(|a| hsum(a))
}

/// One Q4 weight row (`words`: 4 per block) dotted with R x rows whose blocks are in nibble
/// order (see [`q4_nibble_order`]).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn q4_row_dots<const R: usize>(words: &[u32], scales: &[f32], x: [&[f32]; R]) -> [f32; R] {
    let mut acc = [_mm256_setzero_ps(); R];
    let (mask, eight) = (_mm_set1_epi8(0x0f), _mm_set1_epi8(8));
    for (b, &s) in scales.iter().enumerate() {
        let v = _mm_loadu_si128(words[b * 4..b * 4 + 4].as_ptr().cast());
        // Byte i holds value 2i (low nibble) and 2i + 1 (high nibble), each stored as q + 8.
        let lo = _mm_sub_epi8(_mm_and_si128(v, mask), eight);
        let hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16::<4>(v), mask), eight);
        let q = [
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)),
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128::<8>(lo))),
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)),
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128::<8>(hi))),
        ];
        block_fma(&mut acc, &q, _mm256_set1_ps(s), &x, b * 32);
    }
    acc.map(|a| hsum(a))
}

/// acc[r] += s * (q · x[r][at..at + 32]), the block's products summed before the scale.
#[inline(always)]
unsafe fn block_fma<const R: usize>(acc: &mut [__m256; R], q: &[__m256; 4], s: __m256, x: &[&[f32]; R], at: usize) {
    for r in 0..R {
        let xs = &x[r][at..at + 32];
        let mut t = _mm256_mul_ps(q[0], load8(xs, 0));
        t = _mm256_fmadd_ps(q[1], load8(xs, 8), t);
        t = _mm256_fmadd_ps(q[2], load8(xs, 16), t);
        t = _mm256_fmadd_ps(q[3], load8(xs, 24), t);
        acc[r] = _mm256_fmadd_ps(s, t, acc[r]);
    }
}
