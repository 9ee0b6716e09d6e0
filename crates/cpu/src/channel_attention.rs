//! DaViT channel attention, as `crates/gpu/src/ops/channel_attention.rs` composes it: per group g
//! of Cg = C / G channels, scores[g] = (q_g^T k_g) * N^-0.5 (a Cg x Cg matrix summed over all N
//! tokens), softmax over the last axis, out_g = v_g scores[g]^T.
//!
//! Strategy: the two products are strided GEMMs ([`crate::matmul`]) that read q, k, v in place
//! from the qkv linear layer's [N, 3C] output, parallel over the groups; the softmax is
//! [`crate::softmax`]. Nothing is transposed in memory.

use visionllm_core::geometry::MatmulGeometry;

use crate::matmul::matmul_scaled_into;
use crate::softmax::softmax;

/// qkv [N, 3C] -> [N, C] (before the output projection).
pub fn channel_attention(qkv: &[f32], n: usize, c: usize, groups: usize) -> Vec<f32> {
    let cg = c / groups.max(1);
    let c3 = 3 * c;
    // scores[g, i, j] = N^-0.5 * sum_t q[t, g*cg + i] * k[t, C + g*cg + j]
    let mut scores = vec![0f32; groups * cg * cg];
    let g1 = MatmulGeometry {
        batch: groups, m: cg, n: cg, k: n,
        a_off: 0, a_bs: cg, a_rs: 1, a_ks: c3,
        b_off: c, b_bs: cg, b_ks: c3, b_ns: 1,
        c_off: 0, c_bs: cg * cg, c_rs: cg,
    };
    matmul_scaled_into(qkv, qkv, &mut scores, &g1, None, (n as f32).powf(-0.5));
    let probs = softmax(&scores, groups * cg, cg, 1.0);
    // out[t, g*cg + i] = sum_j v[t, 2C + g*cg + j] * probs[g, i, j]
    let mut out = vec![0f32; n * c];
    let g2 = MatmulGeometry {
        batch: groups, m: n, n: cg, k: cg,
        a_off: 2 * c, a_bs: cg, a_rs: c3, a_ks: 1,
        b_off: 0, b_bs: cg * cg, b_ks: 1, b_ns: cg,
        c_off: 0, c_bs: cg, c_rs: c,
    };
    matmul_scaled_into(qkv, &probs, &mut out, &g2, None, 1.0);
    out
}
