//! Strided copies of up to 4 dims, and the layout ops built on them: `permute` (e.g. the vision
//! tower's [C, H, W] -> [H, W, C]), `concat` along any dim, `slice` and zero `pad` (the window
//! attention pads [H, W, C] to multiples of the window and crops back). Values move unchanged.

use crate::dtype::DType;
use crate::error::{shape_err, BackendError, Result};
pub use visionllm_core::geometry::{contiguous_strides, CopyGeometry};
use crate::kernel;
use crate::pipeline::Kernel;
use crate::recorder::{grid, Recorder};
use crate::tensor::Tensor;

use super::{check_u32, variant_for};

const COPY: Kernel = kernel!("copy");

/// The general form: copy the box `g` from `src` into `dst` (same dtype: float or u32).
pub fn copy_into(rec: &mut Recorder, src: &Tensor, dst: &Tensor, g: &CopyGeometry) -> Result<()> {
    super::same_backend(rec, "copy", &[src, dst])?;
    match (src.dtype, dst.dtype) {
        (a, b) if a != b => return Err(shape_err("copy", format!("src {a:?} into dst {b:?}"))),
        (DType::U32 | DType::F32, _) => {}
        (DType::F16, _) if rec.device().supports_f16() => {}
        (other, _) => return Err(BackendError::DType { op: "copy", dtype: other }),
    }
    let (es, ed) = g.extents();
    if es > src.numel() || ed > dst.numel() {
        return Err(shape_err("copy", format!("{g:?} reaches past src {:?} or dst {:?}", src.shape, dst.shape)));
    }
    let n = g.numel();
    check_u32("copy", n.max(src.numel()).max(dst.numel()))?;
    if n == 0 {
        return Ok(());
    }
    if rec.cpu().is_some() {
        // Elements are whole words here (u32 or f32).
        let src = src.cpu_input("copy", dst)?;
        let mut dst_words = dst.cpu_buffer("copy")?.write();
        visionllm_cpu::copy::copy_into(src.words(), &mut dst_words[..], g);
        return Ok(());
    }
    let variant = match src.dtype {
        DType::U32 => rec.gpu().base_variant(false).flag("U32", true),
        dtype => variant_for(rec.gpu(), dtype),
    };
    let mut params: Vec<u32> = Vec::with_capacity(16);
    for v in [g.shape, g.src_stride, g.dst_stride] {
        params.extend(v.iter().map(|&x| x as u32));
    }
    params.extend([g.src_off as u32, g.dst_off as u32, n as u32, 0]);
    let pipeline = rec.gpu().pipeline(&COPY, "copy_strided", &variant);
    rec.dispatch(&pipeline, &params, &[src, dst], grid((n as u32).div_ceil(256)));
    Ok(())
}

/// Output dim d is input dim perm[d] (PyTorch's `x.permute(perm)`, made contiguous).
pub fn permute(rec: &mut Recorder, x: &Tensor, perm: &[usize]) -> Result<Tensor> {
    let rank = x.shape.len();
    let mut seen = vec![false; rank];
    if perm.len() != rank || perm.iter().any(|&p| p >= rank || std::mem::replace(&mut seen[p], true)) {
        return Err(shape_err("permute", format!("{perm:?} is not a permutation of the dims of {:?}", x.shape)));
    }
    let in_strides = contiguous_strides(&x.shape);
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    let src_stride: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let y = rec.alloc(&shape, x.dtype);
    copy_into(rec, x, &y, &CopyGeometry::new(&shape, 0, &src_stride, 0, &contiguous_strides(&shape))?)?;
    Ok(y)
}

/// Parts joined along `dim`; every other dim must agree.
pub fn concat(rec: &mut Recorder, parts: &[&Tensor], dim: usize) -> Result<Tensor> {
    let first = parts.first().ok_or_else(|| shape_err("concat", "no parts"))?;
    let bad = || shape_err("concat", format!("parts {:?} along dim {dim}", parts.iter().map(|p| &p.shape).collect::<Vec<_>>()));
    if dim >= first.shape.len() {
        return Err(bad());
    }
    let mut shape = first.shape.clone();
    shape[dim] = 0;
    for p in parts {
        let same_rank = p.shape.len() == shape.len();
        if !same_rank || p.dtype != first.dtype || (0..shape.len()).any(|d| d != dim && p.shape[d] != shape[d]) {
            return Err(bad());
        }
        shape[dim] += p.shape[dim];
    }
    let y = rec.alloc(&shape, first.dtype);
    let out_strides = contiguous_strides(&shape);
    let mut at = 0;
    for p in parts {
        let g = CopyGeometry::new(&p.shape, 0, &contiguous_strides(&p.shape), at * out_strides[dim], &out_strides)?;
        copy_into(rec, p, &y, &g)?;
        at += p.shape[dim];
    }
    Ok(y)
}

/// The box x[start[d] .. start[d] + size[d]] of every dim, contiguous.
pub fn slice(rec: &mut Recorder, x: &Tensor, start: &[usize], size: &[usize]) -> Result<Tensor> {
    let rank = x.shape.len();
    if start.len() != rank || size.len() != rank || (0..rank).any(|d| start[d] + size[d] > x.shape[d]) {
        return Err(shape_err("slice", format!("start {start:?} size {size:?} of {:?}", x.shape)));
    }
    let strides = contiguous_strides(&x.shape);
    let src_off = (0..rank).map(|d| start[d] * strides[d]).sum();
    let y = rec.alloc(size, x.dtype);
    copy_into(rec, x, &y, &CopyGeometry::new(size, src_off, &strides, 0, &contiguous_strides(size))?)?;
    Ok(y)
}

/// x surrounded by zeros: `before[d]` zeros ahead of dim d and `after[d]` behind it.
pub fn pad(rec: &mut Recorder, x: &Tensor, before: &[usize], after: &[usize]) -> Result<Tensor> {
    let rank = x.shape.len();
    if before.len() != rank || after.len() != rank {
        return Err(shape_err("pad", format!("before {before:?} after {after:?} for {:?}", x.shape)));
    }
    let shape: Vec<usize> = (0..rank).map(|d| before[d] + x.shape[d] + after[d]).collect();
    let y = rec.zeros(&shape, x.dtype);
    let out_strides = contiguous_strides(&shape);
    let dst_off = (0..rank).map(|d| before[d] * out_strides[d]).sum();
    copy_into(rec, x, &y, &CopyGeometry::new(&x.shape, 0, &contiguous_strides(&x.shape), dst_off, &out_strides)?)?;
    Ok(y)
}
