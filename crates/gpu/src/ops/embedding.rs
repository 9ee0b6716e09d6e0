//! Embedding lookup: rows of a table [V, D] gathered by u32 ids [L] -> [L, D] (BART's word and
//! position embeddings). Ids >= V are clamped to V - 1 inside the kernel (see the shader).

use crate::dtype::DType;
use crate::error::{shape_err, GpuError, Result};
use crate::kernel;
use crate::pipeline::Kernel;
use crate::recorder::{grid, Recorder};
use crate::tensor::Tensor;

use super::{check_u32, float_dtype, variant_for};

const EMBEDDING: Kernel = kernel!("embedding");

/// table [V, D] gathered by ids (u32, any shape with L elements) -> [L, D].
pub fn embedding(rec: &mut Recorder, table: &Tensor, ids: &Tensor) -> Result<Tensor> {
    let dtype = float_dtype(rec.gpu, "embedding", &[table])?;
    if ids.dtype != DType::U32 {
        return Err(GpuError::DType { op: "embedding ids", dtype: ids.dtype });
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
    let y = rec.alloc(&[len, dim], dtype);
    if total == 0 {
        return Ok(y);
    }
    let pipeline = rec.gpu.pipeline(&EMBEDDING, "gather_rows", &variant_for(rec.gpu, dtype));
    rec.dispatch(&pipeline, &[vocab as u32, dim as u32, total as u32, 0], &[table, ids, &y], grid((total as u32).div_ceil(256)));
    Ok(y)
}
