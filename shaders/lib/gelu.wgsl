// Exact GELU, shared by the elementwise kernel and the matmul epilogues (flag GELU).
// erfc(z) for z >= 0: Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7 everywhere.
// Being relative in erfc (not absolute in erf), it keeps gelu(x) = x * erfc(-x / sqrt 2) / 2
// relatively accurate far into the negative tail, where 1 - erf(...) would cancel to zero.
fn erfc_pos(z: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
        + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    return t * exp(-z * z + poly);
}

fn gelu(x: f32) -> f32 {
    let z = abs(x) * 0.70710678118654752;
    let e = erfc_pos(z);
    // erfc(-x / sqrt 2) is e for x <= 0 and 2 - e for x > 0.
    return 0.5 * x * select(e, 2.0 - e, x > 0.0);
}

// The logistic function, with exp taken of -|z| only, so it never overflows and keeps the
// relative precision of its tiny values for very negative z.
fn sigmoid(z: f32) -> f32 {
    let e = exp(-abs(z));
    return select(1.0 / (1.0 + e), e / (1.0 + e), z < 0.0);
}

// GELU with the tanh approximation (PyTorch's approximate="tanh", Qwen3-VL's ViT MLP):
// 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), computed as x * sigmoid(2u), the
// same value without the cancellation of 1 + tanh(u) when u is very negative.
fn gelu_tanh(x: f32) -> f32 {
    let u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
    return x * sigmoid(2.0 * u);
}
