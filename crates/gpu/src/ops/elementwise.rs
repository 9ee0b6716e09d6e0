//! Elementwise ops: exact GELU (DaViT's and BART's MLPs, Qwen3-VL's patch merger), tanh GELU
//! (Qwen3-VL's ViT MLP), SwiGLU's silu(gate) * up (Qwen3's MLP), residual add, mul, and scale by a
//! constant; binary ops take b of a's shape, or a row [C] broadcast over a [.., C] (a bias).

use crate::error::{shape_err, Result};
use crate::kernel;
use crate::pipeline::Kernel;
use crate::recorder::{grid, Recorder};
use crate::tensor::Tensor;

use visionllm_cpu::elementwise as cpu;

use super::{check_u32, float_dtype, variant_for};

const ELEMENTWISE: Kernel = kernel!("elementwise");

/// gelu(x) = x * Phi(x) with the exact (erf) Phi, as PyTorch's default `nn.GELU()`.
pub fn gelu(rec: &mut Recorder, x: &Tensor) -> Result<Tensor> {
    unary(rec, "gelu", "OP_GELU", x, 1.0, |x, _| cpu::gelu(x))
}

/// gelu with the tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as
/// PyTorch's `gelu(approximate="tanh")` (transformers' "gelu_pytorch_tanh").
pub fn gelu_tanh(rec: &mut Recorder, x: &Tensor) -> Result<Tensor> {
    unary(rec, "gelu_tanh", "OP_GELU_TANH", x, 1.0, |x, _| cpu::gelu_tanh(x))
}

/// silu(gate) * up = gate * sigmoid(gate) * up, both of one shape (SwiGLU).
pub fn silu_mul(rec: &mut Recorder, gate: &Tensor, up: &Tensor) -> Result<Tensor> {
    if gate.shape != up.shape {
        return Err(shape_err("silu_mul", format!("gate {:?} and up {:?} must have one shape", gate.shape, up.shape)));
    }
    binary(rec, "silu_mul", "OP_SILU_MUL", gate, up, cpu::silu_mul)
}

/// x * s.
pub fn scale(rec: &mut Recorder, x: &Tensor, s: f32) -> Result<Tensor> {
    unary(rec, "scale", "OP_SCALE", x, s, cpu::scale)
}

/// a + b, b the shape of a or [C] broadcast over the rows of a [.., C].
pub fn add(rec: &mut Recorder, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(rec, "add", "OP_ADD", a, b, cpu::add)
}

/// a * b, b the shape of a or [C] broadcast over the rows of a [.., C].
pub fn mul(rec: &mut Recorder, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(rec, "mul", "OP_MUL", a, b, cpu::mul)
}

/// `on_cpu` is the CPU backend's kernel of the op (the shader's `flag` on the GPU).
fn unary(rec: &mut Recorder, op: &'static str, flag: &'static str, x: &Tensor, s: f32, on_cpu: fn(&[f32], f32) -> Vec<f32>) -> Result<Tensor> {
    let dtype = float_dtype(rec, op, &[x])?;
    if let Some(c) = rec.cpu() {
        return Ok(c.from_f32(&x.shape, on_cpu(x.cpu_read(op)?.f32(), s)));
    }
    let y = rec.alloc(&x.shape, dtype);
    launch(rec, op, variant_for(rec.gpu(), dtype).flag(flag, true), &[x, &y], x.numel(), 1, s)?;
    Ok(y)
}

fn binary(rec: &mut Recorder, op: &'static str, flag: &'static str, a: &Tensor, b: &Tensor, on_cpu: fn(&[f32], &[f32]) -> Vec<f32>) -> Result<Tensor> {
    let dtype = float_dtype(rec, op, &[a, b])?;
    let (_, cols) = a.dims2();
    // Same shape, or b a single row (shape [C] or [1, C]) matching a's last dim.
    let row = b.numel() == cols && b.shape.iter().rev().skip(1).all(|&d| d == 1) && !b.shape.is_empty();
    if b.shape != a.shape && !row {
        return Err(shape_err(op, format!("a {:?} and b {:?}: b must match a or be one row of {cols}", a.shape, b.shape)));
    }
    if let Some(c) = rec.cpu() {
        return Ok(c.from_f32(&a.shape, on_cpu(a.cpu_read(op)?.f32(), b.cpu_read(op)?.f32())));
    }
    let y = rec.alloc(&a.shape, dtype);
    let variant = variant_for(rec.gpu(), dtype).flag(flag, true).flag("BINARY", true);
    launch(rec, op, variant, &[a, b, &y], a.numel(), b.numel().max(1), 1.0)?;
    Ok(y)
}

fn launch(rec: &mut Recorder, op: &'static str, variant: crate::shader::Variant, tensors: &[&Tensor], n: usize, bn: usize, s: f32) -> Result<()> {
    check_u32(op, n)?;
    if n == 0 {
        return Ok(());
    }
    let pipeline = rec.gpu().pipeline(&ELEMENTWISE, "main", &variant);
    rec.dispatch(&pipeline, &[n as u32, bn as u32, s.to_bits(), 0], tensors, grid((n as u32).div_ceil(256)));
    Ok(())
}
