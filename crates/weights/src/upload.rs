//! Put checkpoint tensors on the GPU one by one, in the activation dtype the model runs in.

use visionllm_gpu::{DType, Gpu, Tensor};

use crate::checkpoint::{Checkpoint, Result};

/// Upload `name` (any shape) as `dtype` (F32 or F16) into its own persistent buffer.
pub fn upload(gpu: &Gpu, ckpt: &Checkpoint, name: &str, dtype: DType) -> Result<Tensor> {
    let (shape, values) = ckpt.f32(name)?;
    Ok(upload_values(gpu, &shape, &values, dtype, name))
}

/// Upload with a shape check.
pub fn upload_shaped(gpu: &Gpu, ckpt: &Checkpoint, name: &str, shape: &[usize], dtype: DType) -> Result<Tensor> {
    let values = ckpt.f32_shaped(name, shape)?;
    Ok(upload_values(gpu, shape, &values, dtype, name))
}

pub fn upload_values(gpu: &Gpu, shape: &[usize], values: &[f32], dtype: DType, label: &str) -> Tensor {
    match dtype {
        DType::F16 => {
            let h: Vec<half::f16> = values.iter().map(|&v| half::f16::from_f32(v)).collect();
            gpu.upload_persistent(shape, dtype, bytemuck::cast_slice(&h), label)
        }
        _ => gpu.upload_persistent(shape, DType::F32, bytemuck::cast_slice(values), label),
    }
}
