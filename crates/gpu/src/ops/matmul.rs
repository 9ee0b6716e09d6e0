//! Tiled matmul (64x64 shared-memory tiles with 4x4 outputs per invocation, or 64x32 register
//! tiles with 8x4 on software adapters; vec4 loads when strides allow),
//! batched, with B plain or transposed, optional fused bias and epilogue; and a GEMV for one row.

use crate::error::{shape_err, Result};
pub use visionllm_core::geometry::MatmulGeometry;
use crate::kernel;
use crate::pipeline::Kernel;
use crate::recorder::Recorder;
use crate::tensor::Tensor;

use super::linear::Epilogue;

use super::{float_dtype, matmul_entry, variant_for};

const MATMUL: Kernel = kernel!("matmul");

/// What the WGSL kernel needs of a geometry: its parameter block and which operands allow vec4 loads.
trait MatmulParams {
    fn params(&self, alpha: f32) -> Vec<u32>;
    fn a_vec4(&self) -> bool;
    fn b_vec4_k(&self) -> bool;
    fn b_vec4_n(&self) -> bool;
}

impl MatmulParams for MatmulGeometry {
    fn params(&self, alpha: f32) -> Vec<u32> {
        let mut p: Vec<u32> = [
            self.m, self.n, self.k, self.batch,
            self.a_off, self.a_bs, self.a_rs, self.a_ks,
            self.b_off, self.b_bs, self.b_ks, self.b_ns,
            self.c_off, self.c_bs, self.c_rs,
        ]
        .iter()
        .map(|&v| v as u32)
        .collect();
        p.push(alpha.to_bits());
        p
    }

    fn a_vec4(&self) -> bool {
        self.a_ks == 1 && [self.k, self.a_rs, self.a_off, self.a_bs].iter().all(|v| v % 4 == 0)
    }

    fn b_vec4_k(&self) -> bool {
        self.b_ks == 1 && [self.k, self.b_ns, self.b_off, self.b_bs].iter().all(|v| v % 4 == 0)
    }

    fn b_vec4_n(&self) -> bool {
        self.b_ns == 1 && [self.n, self.b_ks, self.b_off, self.b_bs].iter().all(|v| v % 4 == 0)
    }
}


/// General strided form: writes into `c` (which may be a larger tensor, e.g. an attention output).
pub fn matmul_into(rec: &mut Recorder, a: &Tensor, b: &Tensor, c: &Tensor, g: &MatmulGeometry, bias: Option<&Tensor>) -> Result<()> {
    matmul_scaled_into(rec, a, b, c, g, bias, 1.0)
}

/// `c = alpha * a * b (+ bias)`: the scale is applied to the f32 accumulator before the store.
pub fn matmul_scaled_into(rec: &mut Recorder, a: &Tensor, b: &Tensor, c: &Tensor, g: &MatmulGeometry, bias: Option<&Tensor>, alpha: f32) -> Result<()> {
    matmul_general(rec, a, b, c, g, bias, alpha, Epilogue::None)
}

#[allow(clippy::too_many_arguments)]
fn matmul_general(rec: &mut Recorder, a: &Tensor, b: &Tensor, c: &Tensor, g: &MatmulGeometry, bias: Option<&Tensor>, alpha: f32, epilogue: Epilogue) -> Result<()> {
    let mut operands = vec![a, b, c];
    operands.extend(bias);
    operands.extend(epilogue.residual());
    let dtype = float_dtype(rec, "matmul", &operands)?;
    let (ea, eb, ec) = g.extents();
    if ea > a.numel() || eb > b.numel() || ec > c.numel() {
        return Err(shape_err("matmul", format!("{g:?} reaches past a {:?}, b {:?} or c {:?}", a.shape, b.shape, c.shape)));
    }
    if let Some(bias) = bias {
        if bias.numel() != g.n {
            return Err(shape_err("matmul", format!("bias has {} values for n = {}", bias.numel(), g.n)));
        }
    }
    if g.m == 0 || g.n == 0 || g.batch == 0 {
        return Ok(());
    }
    if rec.cpu().is_some() {
        return matmul_on_cpu(a, b, c, g, bias, alpha, epilogue);
    }
    let gemv = g.m == 1 && g.batch == 1 && g.b_ks == 1;
    let b_vec4_k = g.b_vec4_k();
    let variant = variant_for(rec.gpu(), dtype)
        .flag("A_VEC4", if gemv { b_vec4_k && g.a_vec4() } else { g.a_vec4() })
        .flag("B_VEC4_K", b_vec4_k)
        .flag("B_VEC4_N", !b_vec4_k && g.b_vec4_n())
        .flag("BIAS", bias.is_some());
    let variant = super::linear::epilogue_variant(&epilogue, variant, "matmul", &c.shape)?;
    let mut tensors = vec![a, b, c];
    tensors.extend(bias);
    tensors.extend(epilogue.residual());
    let (entry, groups) = matmul_entry(rec.gpu(), gemv, g.m, g.n, g.batch);
    let pipeline = rec.gpu().pipeline(&MATMUL, entry, &variant);
    rec.dispatch(&pipeline, &g.params(alpha), &tensors, groups);
    Ok(())
}

/// The CPU branch of [`matmul_general`]: `c` is written in place (it may be a view other tensors
/// share), so inputs that share its memory are copied first (their read locks would wait on its
/// write lock).
fn matmul_on_cpu(a: &Tensor, b: &Tensor, c: &Tensor, g: &MatmulGeometry, bias: Option<&Tensor>, alpha: f32, epilogue: Epilogue) -> Result<()> {
    const OP: &str = "matmul";
    let contiguous = g.c_off == 0 && g.c_rs == g.n && (g.batch == 1 || g.c_bs == g.m * g.n);
    if !matches!(epilogue, Epilogue::None) && !contiguous {
        return Err(shape_err(OP, format!("an epilogue needs a contiguous output, not {g:?}")));
    }
    if let Some(r) = epilogue.residual() {
        if r.numel() != g.batch * g.m * g.n {
            return Err(shape_err(OP, format!("residual {:?} for {} outputs", r.shape, g.batch * g.m * g.n)));
        }
    }
    let (a, b) = (a.cpu_input(OP, c)?, b.cpu_input(OP, c)?);
    let bias = bias.map(|t| t.cpu_read(OP)).transpose()?;
    let residual = epilogue.residual().map(|t| t.cpu_read(OP)).transpose()?;
    let mut out = c.cpu_buffer(OP)?.write();
    let c_vals: &mut [f32] = &mut bytemuck::cast_slice_mut(&mut out[..])[..c.numel()];
    visionllm_cpu::matmul::matmul_scaled_into(a.f32(), b.f32(), c_vals, g, bias.as_ref().map(|b| b.f32()), alpha);
    if epilogue.is_gelu() || residual.is_some() {
        let (_, _, end) = g.extents();
        visionllm_cpu::matmul::epilogue_in_place(&mut c_vals[..end], epilogue.is_gelu(), residual.as_ref().map(|r| r.f32()));
    }
    Ok(())
}

/// a [.., m, k] x b -> [.., m, n]. `b` is [k, n] (or [n, k] when `trans_b`), shared by every
/// batch, or carries the same batch dims as `a`.
pub fn matmul(rec: &mut Recorder, a: &Tensor, b: &Tensor, trans_b: bool) -> Result<Tensor> {
    let (batch, m, k) = split_batch(&a.shape);
    let (b_batch, r, cdim) = split_batch(&b.shape);
    let (bk, n) = if trans_b { (cdim, r) } else { (r, cdim) };
    if bk != k || (b_batch != 1 && b_batch != batch) {
        return Err(shape_err("matmul", format!("a {:?} x b {:?} (trans_b {trans_b})", a.shape, b.shape)));
    }
    let g = MatmulGeometry::contiguous(batch, m, n, k, trans_b, b_batch == 1);
    let mut shape = a.shape.clone();
    *shape.last_mut().unwrap() = n;
    let c = rec.alloc(&shape, a.dtype);
    matmul_into(rec, a, b, &c, &g, None)?;
    Ok(c)
}

/// A linear layer: x [.., k] times weight [n, k] transposed, plus bias [n].
pub fn linear_dense(rec: &mut Recorder, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    linear_dense_with(rec, x, w, bias, Epilogue::None)
}

/// [`linear_dense`] with its follow-up fused into the store.
pub fn linear_dense_with(rec: &mut Recorder, x: &Tensor, w: &Tensor, bias: Option<&Tensor>, epilogue: Epilogue) -> Result<Tensor> {
    let (rows, k) = x.dims2();
    let (n, wk) = w.dims2();
    if wk != k {
        return Err(shape_err("linear", format!("x {:?} with weight {:?}", x.shape, w.shape)));
    }
    let g = MatmulGeometry::contiguous(1, rows, n, k, true, true);
    let mut shape = x.shape.clone();
    *shape.last_mut().unwrap() = n;
    let c = rec.alloc(&shape, x.dtype);
    matmul_general(rec, x, w, &c, &g, bias, 1.0, epilogue)?;
    Ok(c)
}

/// (batch, rows, cols) of a shape with any number of leading batch dims.
fn split_batch(shape: &[usize]) -> (usize, usize, usize) {
    match shape.len() {
        0 => (1, 1, 1),
        1 => (1, 1, shape[0]),
        n => (shape[..n - 2].iter().product(), shape[n - 2], shape[n - 1]),
    }
}
