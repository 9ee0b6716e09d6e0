//! DaViT channel attention, composed from the strided matmul and softmax kernels:
//! per group g of Cg = C/G channels, scores[g] = q_g^T k_g (a Cg x Cg matrix, summed over all N
//! tokens), softmax(scores * N^-0.5) over the last axis, out_g = v_g scores[g]^T.
//! N, the token count, is the scale's base, not the head dimension (as in the reference).
//!
//! Both products read q, k, v in place from the qkv linear layer's output [N, 3C] through
//! strides, so nothing is transposed in memory.

use crate::error::{shape_err, Result};
use crate::ops::matmul::{matmul_into, matmul_scaled_into, MatmulGeometry};
use crate::ops::softmax::softmax;
use crate::recorder::Recorder;
use crate::tensor::Tensor;

/// qkv [N, 3C] -> [N, C] (before the output projection).
pub fn channel_attention(rec: &mut Recorder, qkv: &Tensor, groups: usize) -> Result<Tensor> {
    let (n, c3) = qkv.dims2();
    let c = c3 / 3;
    if c3 % 3 != 0 || groups == 0 || c % groups != 0 || n == 0 {
        return Err(shape_err("channel_attention", format!("qkv {:?} with {groups} groups", qkv.shape)));
    }
    let cg = c / groups;
    // scores[g, i, j] = sum_t q[t, g*cg + i] * k[t, C + g*cg + j]
    let scores = rec.alloc(&[groups, cg, cg], qkv.dtype);
    let g1 = MatmulGeometry {
        batch: groups, m: cg, n: cg, k: n,
        a_off: 0, a_bs: cg, a_rs: 1, a_ks: c3,
        b_off: c, b_bs: cg, b_ks: c3, b_ns: 1,
        c_off: 0, c_bs: cg * cg, c_rs: cg,
    };
    // The N^-0.5 scale is applied to the f32 sums before they are stored: at stage 0 a sum runs
    // over 36,864 tokens and would overflow f16 storage unscaled.
    matmul_scaled_into(rec, qkv, qkv, &scores, &g1, None, (n as f32).powf(-0.5))?;
    let probs = softmax(rec, &scores, 1.0)?;
    // out[t, g*cg + i] = sum_j v[t, 2C + g*cg + j] * probs[g, i, j]
    let out = rec.alloc(&[n, c], qkv.dtype);
    let g2 = MatmulGeometry {
        batch: groups, m: n, n: cg, k: cg,
        a_off: 2 * c, a_bs: cg, a_rs: c3, a_ks: 1,
        b_off: 0, b_bs: cg * cg, b_ks: 1, b_ns: cg,
        c_off: 0, c_bs: cg, c_rs: c,
    };
    matmul_into(rec, qkv, &probs, &out, &g2, None)?;
    Ok(out)
}
