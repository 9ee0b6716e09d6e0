//! Embedding lookup: rows of a table [V, D] gathered by u32 ids [L] -> [L, D] (BART's word and
//! position embeddings). Ids >= V are clamped to V - 1 inside the kernel (see the shader). The
//! table may be quantized (Q8/Q4, the tied embedding of a quantized model): rows are dequantized
//! as they are gathered, so the model keeps one packed copy for both the lookup and the lm_head.

use crate::dtype::DType;
use crate::error::{shape_err, BackendError, Result};
use crate::kernel;
use crate::pipeline::Kernel;
use crate::quant::QuantLayout;
use crate::recorder::{grid, Recorder};
use crate::tensor::Tensor;

use super::{check_u32, float_dtype, variant_for};

const EMBEDDING: Kernel = kernel!("embedding");

/// table [V, D] (f32/f16) gathered by ids (u32, any shape with L elements) -> [L, D], same dtype.
pub fn embedding(rec: &mut Recorder, table: &Tensor, ids: &Tensor) -> Result<Tensor> {
    let dtype = float_dtype(rec, "embedding", &[table])?;
    embedding_as(rec, table, ids, dtype)
}

/// table [V, D] (f32/f16 of `dtype`, or Q8/Q4) gathered by ids -> [L, D] of `dtype`.
pub fn embedding_as(rec: &mut Recorder, table: &Tensor, ids: &Tensor, dtype: DType) -> Result<Tensor> {
    let quantized = table.dtype.is_quantized();
    if !quantized && table.dtype != dtype {
        return Err(shape_err("embedding", format!("a {:?} table cannot give {dtype:?} rows", table.dtype)));
    }
    super::same_backend(rec, "embedding", &[table, ids])?;
    if !matches!(dtype, DType::F32) && !(dtype == DType::F16 && rec.device().supports_f16()) {
        return Err(BackendError::DType { op: "embedding", dtype });
    }
    if ids.dtype != DType::U32 {
        return Err(BackendError::DType { op: "embedding ids", dtype: ids.dtype });
    }
    let &[vocab, dim] = table.shape.as_slice() else {
        return Err(shape_err("embedding", format!("table {:?} is not [V, D]", table.shape)));
    };
    if vocab == 0 || dim == 0 {
        return Err(shape_err("embedding", format!("empty table {:?}", table.shape)));
    }
    let len = ids.numel();
    let total = len * dim;
    check_u32("embedding", total.max(table.numel()))?;
    if let Some(c) = rec.cpu() {
        let (t, ids) = (table.cpu_read("embedding")?, ids.cpu_read("embedding")?);
        let rows = match quantized {
            true => visionllm_cpu::embedding::embedding_quantized(t.words(), table.dtype, vocab, dim, ids.u32()),
            false => visionllm_cpu::embedding::embedding(t.f32(), vocab, dim, ids.u32()),
        };
        return Ok(c.from_f32(&[len, dim], rows));
    }
    let y = rec.alloc(&[len, dim], dtype);
    if total == 0 {
        return Ok(y);
    }
    let scale_off = if quantized { QuantLayout::new(table.dtype, vocab, dim).scale_offset_words() } else { 0 };
    let variant = variant_for(rec.gpu(), dtype).flag("QUANT", quantized).flag("Q4", table.dtype == DType::Q4);
    let pipeline = rec.gpu().pipeline(&EMBEDDING, "gather_rows", &variant);
    rec.dispatch(&pipeline, &[vocab as u32, dim as u32, total as u32, scale_off as u32], &[table, ids, &y], grid((total as u32).div_ceil(256)));
    Ok(y)
}
