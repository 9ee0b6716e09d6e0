//! Convolutions on channels-last feature maps [H, W, C]: a general conv2d with PyTorch's weight
//! layout (the DaViT patch embeddings, k7 s4 p3 and k3 s2 p1) and the depthwise 3x3 (groups = C,
//! stride 1, pad 1) of the conv position encodings.
//!
//! The direct conv2d reads weights with a stride of Cin*KH*KW between neighbouring output
//! channels; where Cout is a multiple of 4 (every DaViT patch embedding) one invocation computes
//! four of them for four neighbouring pixels, so each load serves four products.

use crate::error::{shape_err, Result};
pub use visionllm_core::geometry::conv_out_len;
use crate::kernel;
use crate::pipeline::Kernel;
use crate::recorder::{grid, Recorder};
use crate::shader::Variant;
use crate::tensor::Tensor;

use super::{check_u32, float_dtype, variant_for};

const CONV: Kernel = kernel!("conv");
const WG: usize = 256;

/// x [H, W, Cin] conv weight [Cout, Cin, KH, KW] (+ bias [Cout]) -> [Ho, Wo, Cout], with
/// `stride` and zero `pad` given as [along H, along W].
pub fn conv2d(rec: &mut Recorder, x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, stride: [usize; 2], pad: [usize; 2]) -> Result<Tensor> {
    let mut operands = vec![x, weight];
    operands.extend(bias);
    let dtype = float_dtype(rec, "conv2d", &operands)?;
    let bad = || shape_err("conv2d", format!("x {:?}, weight {:?}, bias {:?}, stride {stride:?}, pad {pad:?}", x.shape, weight.shape, bias.map(|b| &b.shape)));
    let (&[h, w, cin], &[cout, wcin, kh, kw]) = (x.shape.as_slice(), weight.shape.as_slice()) else {
        return Err(bad());
    };
    if wcin != cin || bias.is_some_and(|b| b.numel() != cout) || [h, w, cin, cout, kh, kw].contains(&0) {
        return Err(bad());
    }
    let (Some(ho), Some(wo)) = (conv_out_len(h, kh, stride[0], pad[0]), conv_out_len(w, kw, stride[1], pad[1])) else {
        return Err(bad());
    };
    let total = ho * wo * cout;
    check_u32("conv2d", total)?;
    if let Some(c) = rec.cpu() {
        let (x_, w_, b_) = (x.cpu_read("conv2d")?, weight.cpu_read("conv2d")?, bias.map(|b| b.cpu_read("conv2d")).transpose()?);
        let (y, _, _) = visionllm_cpu::conv::conv2d(x_.f32(), h, w, cin, w_.f32(), cout, kh, kw, b_.as_ref().map(|b| b.f32()), stride, pad);
        return Ok(c.from_f32(&[ho, wo, cout], y));
    }
    let y = rec.alloc(&[ho, wo, cout], dtype);
    let params = [h, w, cin, cout, ho, wo, kh, kw, stride[0], stride[1], pad[0], pad[1], total, 0, 0, 0];
    // A 4x4 block (four pixels along x, four output channels) per invocation where the channels
    // divide evenly.
    let (entry, invocations) = if cout % 4 == 0 { ("conv2d_co4", ho * wo.div_ceil(4) * cout / 4) } else { ("conv2d", total) };
    launch(rec, entry, variant_for(rec.gpu(), dtype), &params, invocations, x, weight, &y, bias);
    Ok(y)
}

/// Depthwise 3x3 (groups = C, stride 1, pad 1): x [H, W, C], weight [C, 1, 3, 3] (+ bias [C]).
pub fn dwconv3x3(rec: &mut Recorder, x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    dwconv3x3_general(rec, x, weight, bias, false)
}

/// x + dwconv3x3(x) in one pass (DaViT's conv position encoding with its residual).
pub fn dwconv3x3_residual(rec: &mut Recorder, x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    dwconv3x3_general(rec, x, weight, bias, true)
}

fn dwconv3x3_general(rec: &mut Recorder, x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, residual: bool) -> Result<Tensor> {
    let mut operands = vec![x, weight];
    operands.extend(bias);
    let dtype = float_dtype(rec, "dwconv3x3", &operands)?;
    let &[h, w, c] = x.shape.as_slice() else {
        return Err(shape_err("dwconv3x3", format!("x {:?} is not [H, W, C]", x.shape)));
    };
    if weight.shape != [c, 1, 3, 3] || bias.is_some_and(|b| b.numel() != c) {
        return Err(shape_err("dwconv3x3", format!("x {:?}, weight {:?} (want [{c}, 1, 3, 3]), bias {:?}", x.shape, weight.shape, bias.map(|b| &b.shape))));
    }
    let total = h * w * c;
    check_u32("dwconv3x3", total)?;
    if let Some(cpu) = rec.cpu() {
        let (x_, w_, b_) = (x.cpu_read("dwconv3x3")?, weight.cpu_read("dwconv3x3")?, bias.map(|b| b.cpu_read("dwconv3x3")).transpose()?);
        let kernel = if residual { visionllm_cpu::conv::dwconv3x3_residual } else { visionllm_cpu::conv::dwconv3x3 };
        return Ok(cpu.from_f32(&[h, w, c], kernel(x_.f32(), h, w, c, w_.f32(), b_.as_ref().map(|b| b.f32()))));
    }
    let y = rec.alloc(&[h, w, c], dtype);
    if total == 0 {
        return Ok(y);
    }
    let params = [h, w, c, c, h, w, 3, 3, 1, 1, 1, 1, total, 0, 0, 0];
    launch(rec, "dwconv3x3", variant_for(rec.gpu(), dtype).flag("RESIDUAL", residual), &params, total, x, weight, &y, bias);
    Ok(y)
}

#[allow(clippy::too_many_arguments)]
fn launch(rec: &mut Recorder, entry: &str, variant: Variant, params: &[usize; 16], invocations: usize, x: &Tensor, w: &Tensor, y: &Tensor, bias: Option<&Tensor>) {
    let variant = variant.flag("BIAS", bias.is_some());
    let pipeline = rec.gpu().pipeline(&CONV, entry, &variant);
    let params: Vec<u32> = params.iter().map(|&v| v as u32).collect();
    let mut tensors = vec![x, w, y];
    tensors.extend(bias);
    rec.dispatch(&pipeline, &params, &tensors, grid(invocations.div_ceil(WG) as u32));
}
