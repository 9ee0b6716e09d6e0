//! Reads weights by name and uploads them in the model's activation dtype; matmul weights that a
//! converted checkpoint stores quantized (Q8/Q4) stay quantized on the GPU, where `linear` runs
//! them with the quantized kernels.

use visionllm_gpu::{DType, Gpu, Tensor};
use visionllm_weights::{upload, Checkpoint};

use crate::{ModelError, Result};

pub struct Loader<'a> {
    pub gpu: &'a Gpu,
    pub ckpt: &'a Checkpoint,
    pub dtype: DType,
}

impl Loader<'_> {
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let bytes = visionllm_gpu::tensor::byte_len(shape, self.dtype);
        if bytes > self.gpu.max_binding() {
            return Err(ModelError::Config(format!(
                "{name} {shape:?} needs {} MiB as {:?}, but this GPU binds at most {} MiB at once; use f16 or a quantized model",
                bytes >> 20,
                self.dtype,
                self.gpu.max_binding() >> 20
            )));
        }
        Ok(upload::upload_shaped(self.gpu, self.ckpt, name, shape, self.dtype)?)
    }

    /// A matmul weight [out, in]: uploaded as stored when the checkpoint holds it quantized,
    /// otherwise like any tensor (in the activation dtype).
    pub fn matmul_weight(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let Some(q) = self.ckpt.quantized(name)? else { return self.tensor(name, shape) };
        if q.shape != shape {
            return Err(visionllm_weights::WeightsError::Shape { name: name.to_string(), got: q.shape, want: shape.to_vec() }.into());
        }
        if q.bytes.len() as u64 > self.gpu.max_binding() {
            return Err(ModelError::Config(format!("{name} {shape:?} needs {} MiB, but this GPU binds at most {} MiB at once", q.bytes.len() >> 20, self.gpu.max_binding() >> 20)));
        }
        Ok(self.gpu.upload_persistent(shape, q.dtype, &q.bytes, name))
    }

    /// Values on the CPU (small tables the model prepares itself).
    pub fn values(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        Ok(self.ckpt.f32_shaped(name, shape)?)
    }
}
