//! Explicit WebAssembly SIMD (simd128) forms of the Q8/Q4 GEMV inner loop (`simd` has the AVX2
//! ones): LLVM's vectorization of the portable block decode (bytes to f32, times x) is poor in
//! wasm, and the decoder's every step is these dots. The same semantics as the AVX2 kernels: one
//! weight row against R x rows, the block's 32 products summed before its scale; Q4 x in nibble
//! order (`qmatmul::q4_nibble_order`). simd128 is a build-time feature (`.cargo/config.toml`), so
//! these are safe functions: no run-time detection, no unsupported instruction possible.
//! (Baseline simd128 has no fused multiply-add: a multiply and an add, rounded twice.)

use std::arch::wasm32::*;

/// 4 f32 of `x` from `at` (bounds-checked subslice, then one unaligned load).
#[inline(always)]
fn load4(x: &[f32], at: usize) -> v128 {
    let s = &x[at..at + 4];
    // SAFETY: `s` is 4 f32 = 16 bytes in bounds; v128_load has no alignment requirement.
    unsafe { v128_load(s.as_ptr().cast()) }
}

/// 16 bytes of `words` from word `at`.
#[inline(always)]
fn load_words(words: &[u32], at: usize) -> v128 {
    let s = &words[at..at + 4];
    // SAFETY: `s` is 4 u32 = 16 bytes in bounds; v128_load has no alignment requirement.
    unsafe { v128_load(s.as_ptr().cast()) }
}

/// 16 signed bytes as 4 x f32x4, in order.
#[inline(always)]
fn widen(v: v128) -> [v128; 4] {
    let (lo, hi) = (i16x8_extend_low_i8x16(v), i16x8_extend_high_i8x16(v));
    [
        f32x4_convert_i32x4(i32x4_extend_low_i16x8(lo)),
        f32x4_convert_i32x4(i32x4_extend_high_i16x8(lo)),
        f32x4_convert_i32x4(i32x4_extend_low_i16x8(hi)),
        f32x4_convert_i32x4(i32x4_extend_high_i16x8(hi)),
    ]
}

/// acc[r] += s * (q · x[r][at..at + 32]).
#[inline(always)]
fn block_dot<const R: usize>(acc: &mut [v128; R], q: &[v128; 8], s: v128, x: &[&[f32]; R], at: usize) {
    for r in 0..R {
        let xs = &x[r][at..at + 32];
        let mut t = f32x4_mul(q[0], load4(xs, 0));
        for (i, qi) in q.iter().enumerate().skip(1) {
            t = f32x4_add(t, f32x4_mul(*qi, load4(xs, 4 * i)));
        }
        acc[r] = f32x4_add(acc[r], f32x4_mul(s, t));
    }
}

fn hsum(v: v128) -> f32 {
    f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v) + f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v)
}

/// One Q8 weight row (`words`: 8 per block, `scales`: one per block) dotted with R x rows
/// (`x`: 32 values per block, zero-padded past k).
pub fn q8_row_dots<const R: usize>(words: &[u32], scales: &[f32], x: [&[f32]; R]) -> [f32; R] {
    let mut acc = [f32x4_splat(0.0); R];
    for (b, &s) in scales.iter().enumerate() {
        // 32 bytes = the block's 32 values in order, two's complement.
        let [a0, a1, a2, a3] = widen(load_words(words, b * 8));
        let [b0, b1, b2, b3] = widen(load_words(words, b * 8 + 4));
        block_dot(&mut acc, &[a0, a1, a2, a3, b0, b1, b2, b3], f32x4_splat(s), &x, b * 32);
    }
    acc.map(hsum)
}

/// One Q4 weight row (`words`: 4 per block) dotted with R x rows whose blocks are in nibble
/// order (the even values, then the odd ones).
pub fn q4_row_dots<const R: usize>(words: &[u32], scales: &[f32], x: [&[f32]; R]) -> [f32; R] {
    let mut acc = [f32x4_splat(0.0); R];
    let (mask, eight) = (u8x16_splat(0x0f), i8x16_splat(8));
    for (b, &s) in scales.iter().enumerate() {
        let v = load_words(words, b * 4);
        // Byte i holds value 2i (low nibble) and 2i + 1 (high nibble), each stored as q + 8.
        let lo = i8x16_sub(v128_and(v, mask), eight);
        let hi = i8x16_sub(v128_and(u8x16_shr(v, 4), mask), eight);
        let [a0, a1, a2, a3] = widen(lo);
        let [b0, b1, b2, b3] = widen(hi);
        block_dot(&mut acc, &[a0, a1, a2, a3, b0, b1, b2, b3], f32x4_splat(s), &x, b * 32);
    }
    acc.map(hsum)
}
