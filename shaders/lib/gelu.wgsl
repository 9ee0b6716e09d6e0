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
