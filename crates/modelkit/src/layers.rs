//! Layers made of loaded weights: a linear layer (dense or quantized, with an optional fused
//! epilogue), LayerNorm and RMSNorm with the eps their model uses.

use visionllm_gpu::ops::linear::Epilogue;
use visionllm_gpu::{Recorder, Tensor};

use crate::{Loader, Result};

type GpuResult<T> = visionllm_gpu::error::Result<T>;

/// A linear layer: weight [out, in] and an optional bias [out].
pub struct Linear {
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

    pub fn forward(&self, rec: &mut Recorder, x: &Tensor) -> GpuResult<Tensor> {
        self.forward_with(rec, x, Epilogue::None)
    }

    /// The layer with what follows it (GELU, a residual) fused into its store.
    pub fn forward_with(&self, rec: &mut Recorder, x: &Tensor, epilogue: Epilogue) -> GpuResult<Tensor> {
        visionllm_gpu::ops::linear::linear_with(rec, x, &self.w, self.b.as_ref(), epilogue)
    }
}

/// A LayerNorm: gain and bias [dim] (Florence-2 uses eps 1e-5 everywhere, Qwen3-VL's ViT 1e-6).
pub struct LayerNorm {
    pub g: Tensor,
    pub b: Tensor,
    pub eps: f32,
}

impl LayerNorm {
    pub fn load(l: &Loader, prefix: &str, dim: usize, eps: f32) -> Result<LayerNorm> {
        Ok(LayerNorm { g: l.tensor(&format!("{prefix}.weight"), &[dim])?, b: l.tensor(&format!("{prefix}.bias"), &[dim])?, eps })
    }

    pub fn forward(&self, rec: &mut Recorder, x: &Tensor) -> GpuResult<Tensor> {
        visionllm_gpu::ops::norm::layernorm(rec, x, &self.g, &self.b, self.eps)
    }
}

/// An RMSNorm: gain [dim] (Qwen3's decoder norms and per-head q/k norms).
pub struct RmsNorm {
    pub g: Tensor,
    pub eps: f32,
}

impl RmsNorm {
    pub fn load(l: &Loader, prefix: &str, dim: usize, eps: f32) -> Result<RmsNorm> {
        Ok(RmsNorm { g: l.tensor(&format!("{prefix}.weight"), &[dim])?, eps })
    }

    /// Over the last dim of x [.., dim]; a per-head norm passes x viewed as [rows * heads, head_dim].
    pub fn forward(&self, rec: &mut Recorder, x: &Tensor) -> GpuResult<Tensor> {
        visionllm_gpu::ops::norm::rmsnorm(rec, x, &self.g, self.eps)
    }
}
