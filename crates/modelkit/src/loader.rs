//! Reads weights by name and places them on the model's backend in its activation dtype, one
//! tensor at a time; matmul weights that a converted checkpoint stores quantized (Q8/Q4) stay
//! quantized, on the GPU and on the CPU alike, where `linear` runs them with the quantized kernels.

use visionllm_gpu::{DType, Device, Tensor};
use visionllm_weights::Checkpoint;

use crate::{ModelError, Result};

pub struct Loader<'a> {
    pub device: &'a Device,
    pub ckpt: &'a Checkpoint,
    pub dtype: DType,
}

impl Loader<'_> {
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let bytes = visionllm_gpu::tensor::byte_len(shape, self.dtype);
        self.check_size(name, shape, bytes, "use f16 or a quantized model")?;
        let values = self.ckpt.f32_shaped(name, shape)?;
        Ok(upload_values(self.device, shape, &values, self.dtype, name))
    }

    /// A matmul weight [out, in]: placed as stored when the checkpoint holds it quantized,
    /// otherwise like any tensor (in the activation dtype).
    pub fn matmul_weight(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let Some(q) = self.ckpt.quantized(name)? else { return self.tensor(name, shape) };
        if q.shape != shape {
            return Err(visionllm_weights::WeightsError::Shape { name: name.to_string(), got: q.shape, want: shape.to_vec() }.into());
        }
        self.check_size(name, shape, q.bytes.len() as u64, "use a smaller or more quantized model")?;
        Ok(self.device.upload_persistent(shape, q.dtype, &q.bytes, name))
    }

    /// Values on the CPU (small tables the model prepares itself).
    pub fn values(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        Ok(self.ckpt.f32_shaped(name, shape)?)
    }

    /// A tensor larger than the backend can hold at once (a GPU's largest binding) is refused
    /// with what to do instead, before anything is read.
    fn check_size(&self, name: &str, shape: &[usize], bytes: u64, advice: &str) -> Result<()> {
        let limit = self.device.max_tensor_bytes();
        if bytes > limit {
            return Err(ModelError::Config(format!(
                "{name} {shape:?} needs {} MiB as {:?}, but this {} holds at most {} MiB in one tensor; {advice}",
                bytes >> 20,
                self.dtype,
                self.device.backend_name().to_uppercase(),
                limit >> 20
            )));
        }
        Ok(())
    }
}

/// Values as a persistent tensor in `dtype` (F16, else F32) on `device`.
pub fn upload_values(device: &Device, shape: &[usize], values: &[f32], dtype: DType, label: &str) -> Tensor {
    match dtype {
        DType::F16 => {
            let h: Vec<half::f16> = values.iter().map(|&v| half::f16::from_f32(v)).collect();
            device.upload_persistent(shape, dtype, bytemuck::cast_slice(&h), label)
        }
        _ => device.upload_persistent(shape, DType::F32, bytemuck::cast_slice(values), label),
    }
}
