//! Reads weights by name and uploads them in the model's activation dtype; matmul weights that a
//! converted checkpoint stores quantized (Q8/Q4) stay quantized on the GPU, where `linear` runs
//! them with the quantized kernels.

use visionllm_gpu::ops::linear::Epilogue;
use visionllm_gpu::{DType, Gpu, Tensor};
use visionllm_weights::{upload, Checkpoint};

use crate::model::{ModelError, Result};

pub(crate) struct Loader<'a> {
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

/// A linear layer: weight [out, in] and an optional bias [out].
pub(crate) struct Linear {
    pub w: Tensor,
    pub b: Option<Tensor>,
}

impl Linear {
    pub fn load(l: &Loader, prefix: &str, out_dim: usize, in_dim: usize, bias: bool) -> Result<Linear> {
        Ok(Linear {
            w: l.matmul_weight(&format!("{prefix}.weight"), &[out_dim, in_dim])?,
            b: if bias { Some(l.tensor(&format!("{prefix}.bias"), &[out_dim])?) } else { None },
        })
    }

    pub fn forward(&self, rec: &mut visionllm_gpu::Recorder, x: &Tensor) -> visionllm_gpu::error::Result<Tensor> {
        self.forward_with(rec, x, Epilogue::None)
    }

    /// The layer with what follows it (GELU, a residual) fused into its store.
    pub fn forward_with(&self, rec: &mut visionllm_gpu::Recorder, x: &Tensor, epilogue: Epilogue) -> visionllm_gpu::error::Result<Tensor> {
        visionllm_gpu::ops::linear::linear_with(rec, x, &self.w, self.b.as_ref(), epilogue)
    }
}

/// A LayerNorm: gain and bias [dim], eps 1e-5 everywhere in Florence-2.
pub(crate) struct Norm {
    pub g: Tensor,
    pub b: Tensor,
}

pub(crate) const LN_EPS: f32 = 1e-5;

impl Norm {
    pub fn load(l: &Loader, prefix: &str, dim: usize) -> Result<Norm> {
        Ok(Norm { g: l.tensor(&format!("{prefix}.weight"), &[dim])?, b: l.tensor(&format!("{prefix}.bias"), &[dim])? })
    }

    pub fn forward(&self, rec: &mut visionllm_gpu::Recorder, x: &Tensor) -> visionllm_gpu::error::Result<Tensor> {
        visionllm_gpu::ops::norm::layernorm(rec, x, &self.g, &self.b, LN_EPS)
    }
}
