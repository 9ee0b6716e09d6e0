//! Twin of `ops::matmul`.

use crate::geometry::MatmulGeometry;

/// c = a * b (+ bias) over the strided geometry, f64 accumulation.
pub fn matmul_into(a: &[f32], b: &[f32], c: &mut [f32], g: &MatmulGeometry, bias: Option<&[f32]>) {
    matmul_scaled_into(a, b, c, g, bias, 1.0)
}

/// c = alpha * a * b (+ bias).
pub fn matmul_scaled_into(a: &[f32], b: &[f32], c: &mut [f32], g: &MatmulGeometry, bias: Option<&[f32]>, alpha: f32) {
    for bi in 0..g.batch {
        for m in 0..g.m {
            for n in 0..g.n {
                let mut s = 0f64;
                for k in 0..g.k {
                    let av = a[g.a_off + bi * g.a_bs + m * g.a_rs + k * g.a_ks] as f64;
                    let bv = b[g.b_off + bi * g.b_bs + k * g.b_ks + n * g.b_ns] as f64;
                    s += av * bv;
                }
                s *= alpha as f64;
                if let Some(bias) = bias {
                    s += bias[n] as f64;
                }
                c[g.c_off + bi * g.c_bs + m * g.c_rs + n] = s as f32;
            }
        }
    }
}

/// x [rows, k] times w [n, k] transposed, plus bias.
pub fn linear(x: &[f32], w: &[f32], bias: Option<&[f32]>, rows: usize, n: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0f32; rows * n];
    matmul_into(x, w, &mut out, &MatmulGeometry::contiguous(1, rows, n, k, true, true), bias);
    out
}

/// The fused epilogue of a linear layer (shaders/lib/epilogue.wgsl, ops::linear::Epilogue): the
/// exact GELU of each output, then the residual added.
pub fn epilogue(y: &[f32], gelu: bool, residual: Option<&[f32]>) -> Vec<f32> {
    let mut out = if gelu { super::elementwise::gelu(y) } else { y.to_vec() };
    if let Some(r) = residual {
        for (o, r) in out.iter_mut().zip(r) {
            *o += r;
        }
    }
    out
}
