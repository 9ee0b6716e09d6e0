//! Twin of `ops::elementwise`, with its own f64 erf (independent of the kernel's approximation).

use std::f64::consts::PI;

/// erfc(x) in f64, relative error ~1e-15: a positive-term series for erf below 2.5 (no
/// cancellation), Laplace's continued fraction above (accurate where 1 - erf would round to 0).
pub fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.5 {
        // erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)).
        let (mut term, mut sum, mut n) = (x, x, 0.0);
        while term > sum * 1e-17 {
            n += 1.0;
            term *= 2.0 * x * x / (2.0 * n + 1.0);
            sum += term;
        }
        1.0 - 2.0 / PI.sqrt() * (-x * x).exp() * sum
    } else {
        // erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated backwards.
        let mut f = x;
        for k in (1..=200).rev() {
            f = x + (k as f64 / 2.0) / f;
        }
        (-x * x).exp() / (PI.sqrt() * f)
    }
}

pub fn erf(x: f64) -> f64 {
    1.0 - erfc(x)
}

/// gelu(x) = x/2 * erfc(-x / sqrt 2).
pub fn gelu(x: &[f32]) -> Vec<f32> {
    x.iter().map(|&v| (0.5 * v as f64 * erfc(-(v as f64) / 2f64.sqrt())) as f32).collect()
}

/// 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), the formula as PyTorch writes it. For
/// u < 0, 1 + tanh(u) cancels (to exactly 0 in f64 once u < -19), so there the twin uses the
/// equal 2 e^(2u) / (1 + e^(2u)), which keeps the tiny tail values exact.
pub fn gelu_tanh(x: &[f32]) -> Vec<f32> {
    x.iter()
        .map(|&v| {
            let v = v as f64;
            let u = (2.0 / PI).sqrt() * (v + 0.044715 * v * v * v);
            let one_plus_tanh = if u >= 0.0 { 1.0 + u.tanh() } else { 2.0 * (2.0 * u).exp() / (1.0 + (2.0 * u).exp()) };
            (0.5 * v * one_plus_tanh) as f32
        })
        .collect()
}

/// silu(a) * b = a / (1 + exp(-a)) * b.
pub fn silu_mul(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(&x, &y)| (x as f64 / (1.0 + (-(x as f64)).exp()) * y as f64) as f32).collect()
}

pub fn scale(x: &[f32], s: f32) -> Vec<f32> {
    x.iter().map(|&v| (v as f64 * s as f64) as f32).collect()
}

/// a op b where b has a's length or is one row repeated over a's rows.
pub fn binary(a: &[f32], b: &[f32], op: impl Fn(f64, f64) -> f64) -> Vec<f32> {
    a.iter().enumerate().map(|(i, &v)| op(v as f64, b[i % b.len()] as f64) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_reference_values() {
        // Values from high-precision tables (Abramowitz & Stegun, mpmath).
        let cases = [(0.5, 0.520_499_877_813_046_5), (1.0, 0.842_700_792_949_714_9), (2.0, 0.995_322_265_018_952_7)];
        for (x, want) in cases {
            assert!((erf(x) - want).abs() < 1e-15, "erf({x}) = {}", erf(x));
        }
        let tails = [(2.5, 4.069_520_174_449_59e-4), (3.0, 2.209_049_699_858_544e-5), (5.0, 1.537_459_794_428_035e-12), (10.0, 2.088_487_583_762_545e-45)];
        for (x, want) in tails {
            assert!(((erfc(x) - want) / want).abs() < 1e-13, "erfc({x}) = {:e}", erfc(x));
        }
        assert_eq!(erf(0.0), 0.0);
        assert!((erf(-1.0) + erf(1.0)).abs() < 1e-16);
    }
}
