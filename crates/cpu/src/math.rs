//! Shared inner loops and scalar functions, written so LLVM vectorizes them: fixed-width lane
//! arrays instead of sequential sums (float addition is not reassociated otherwise), and
//! branch-free functions (selects) so loops over them stay SIMD.
//!
//! [`dispatch`] runs a closure compiled for AVX2+FMA when the CPU has them (x86_64, checked at
//! run time); elsewhere (other CPUs, wasm with simd128 set at build time) it runs the closure as
//! compiled. The closures passed to it are `#[inline(always)]`, and so is every helper they call,
//! so their whole body is compiled inside the AVX2 function.

/// Lanes of the accumulators: 16 f32 = two AVX2 registers, enough independent chains to hide
/// the add latency.
pub const LANES: usize = 16;

/// Set by [`use_simd`]`(false)`: the portable paths run even on an AVX2 CPU (so tests cover them).
static PORTABLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the explicit SIMD paths may be used (default true). For tests and comparisons: with
/// `false` every kernel takes its portable path; results agree to f32 rounding either way.
pub fn use_simd(enabled: bool) {
    PORTABLE.store(!enabled, std::sync::atomic::Ordering::Relaxed);
}

/// Whether this CPU has AVX2 and FMA and SIMD is not switched off (std caches the detection;
/// this is two relaxed loads).
#[inline(always)]
pub fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        !PORTABLE.load(std::sync::atomic::Ordering::Relaxed)
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the explicit WebAssembly SIMD loops may run: built for wasm32 with simd128 (a
/// build-time feature) and SIMD not switched off.
#[inline(always)]
pub fn has_wasm_simd() -> bool {
    cfg!(all(target_arch = "wasm32", target_feature = "simd128")) && !PORTABLE.load(std::sync::atomic::Ordering::Relaxed)
}

/// Run `f` compiled for the best instruction set this CPU has.
#[inline(always)]
pub fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        return unsafe { with_avx2(f) };
    }
    f()
}

/// `f`, compiled with AVX2 and FMA enabled (f is inlined here).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Sum of a slice, in LANES partial sums (pairwise-like accuracy, vectorized).
#[inline(always)]
pub fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let mut it = x.chunks_exact(LANES);
    for c in &mut it {
        for i in 0..LANES {
            acc[i] += c[i];
        }
    }
    hsum(&acc) + it.remainder().iter().sum::<f32>()
}

/// Largest value of a slice (-inf when empty), in LANES partial maxima.
#[inline(always)]
pub fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut it = x.chunks_exact(LANES);
    for c in &mut it {
        for i in 0..LANES {
            acc[i] = acc[i].max(c[i]);
        }
    }
    let m = acc.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    it.remainder().iter().copied().fold(m, f32::max)
}

/// Dot product of the common prefix of two slices.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    // The AVX2 kernel's shuffle reduction beats the 16 scalar adds of the lanes below (which
    // dominate short dots such as attention's per-key products).
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        return unsafe { crate::simd::dot_rows([a], b)[0] };
    }
    let mut acc = [0f32; LANES];
    let (mut ia, mut ib) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    for (x, y) in (&mut ia).zip(&mut ib) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ia.remainder().iter().zip(ib.remainder()).map(|(x, y)| x * y).sum();
    hsum(&acc) + tail
}

/// y += s * x over the common prefix.
#[inline(always)]
pub fn axpy(y: &mut [f32], s: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += s * *x;
    }
}

/// Sum of the lanes. Sequential on purpose: with this shape LLVM's SLP vectorizer turns the
/// lane loops above into full-width vectors (a tree-shaped sum made it pick 2-wide ones).
#[inline(always)]
pub fn hsum(acc: &[f32; LANES]) -> f32 {
    let mut s = 0.0;
    for a in acc {
        s += a;
    }
    s
}

/// e^x in f32 (Cephes' expf: range reduction by ln 2, degree-6 polynomial), relative error
/// ~2e-7, correctly gradual into the subnormal range (gelu's and silu's far negative tails stay
/// exact there); 0 below -104 and for -inf, inf above 88.72. Written without branches or library
/// calls so loops over it vectorize (std's exp is a libm call).
// The coefficients as published (more digits than f32 holds, rounded by the compiler).
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in a part exact in few bits and a correction, so n * LN2_HI has no rounding.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 * 2^23: adding it rounds to an integer (to nearest) and leaves that integer in the
    // low mantissa bits, so n needs no float-to-int conversion.
    const MAGIC: f32 = 12_582_912.0;
    let xc = x.clamp(-104.0, 88.72);
    let t = xc * LOG2E + MAGIC;
    let n = t - MAGIC;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5.000_000_1e-1;
    let y = p * r * r + r + 1.0;
    // 2^n as 2^n1 * 2^n2 (n in [-150, 128], both halves normal), so the last multiply rounds
    // once into the subnormal range instead of flushing to 0.
    let ni = t.to_bits().wrapping_sub(MAGIC.to_bits()) as i32;
    let n1 = ni >> 1;
    let n2 = ni - n1;
    let f1 = f32::from_bits(((n1 + 127) as u32) << 23);
    let f2 = f32::from_bits(((n2 + 127) as u32) << 23);
    let v = y * f1 * f2;
    if x < -104.0 {
        0.0
    } else if x > 88.72 {
        f32::INFINITY
    } else {
        v
    }
}

/// erfc(z) for z >= 0 (Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7), the same
/// formula as shaders/lib/gelu.wgsl: relative in erfc, so gelu's negative tail stays accurate.
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn erfc_pos(z: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.265_512_2
        + t * (1.000_023_7
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07 + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    t * exp(-z * z + poly)
}

/// Exact GELU, x/2 * erfc(-x / sqrt 2).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    let e = erfc_pos(x.abs() * std::f32::consts::FRAC_1_SQRT_2);
    // erfc(-x / sqrt 2) is e for x <= 0 and 2 - e for x > 0.
    0.5 * x * if x > 0.0 { 2.0 - e } else { e }
}

/// The logistic function with exp of -|z| only: no overflow, tiny values keep their precision.
#[inline(always)]
pub fn sigmoid(z: f32) -> f32 {
    let e = exp(-z.abs());
    let num = if z < 0.0 { e } else { 1.0 };
    num / (1.0 + e)
}

/// GELU, tanh approximation: 0.5 x (1 + tanh(u)) = x * sigmoid(2u), u = sqrt(2/pi)(x + 0.044715 x^3),
/// without the cancellation of 1 + tanh(u) for very negative u.
#[inline(always)]
pub fn gelu_tanh(x: f32) -> f32 {
    let u = 0.797_884_6 * (x + 0.044_715 * x * x * x);
    x * sigmoid(2.0 * u)
}

/// An IEEE half (bits) as f32: exact for every value (normals, subnormals, zeros, inf, NaN).
#[inline(always)]
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let mag = if exp == 0 {
        // Zero or subnormal: man * 2^-24, exact in f32.
        man as f32 * f32::from_bits(0x3380_0000)
    } else if exp == 31 {
        f32::from_bits(0x7f80_0000 | (man << 13))
    } else {
        f32::from_bits(((exp + 112) << 23) | (man << 13))
    };
    f32::from_bits(mag.to_bits() | sign)
}
