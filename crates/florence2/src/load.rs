//! Florence-2's view of the shared loader and layers (`visionllm_modelkit`): its LayerNorms all
//! use eps 1e-5, so `norm` fixes it.

pub(crate) use visionllm_modelkit::{Linear, Loader};
use visionllm_modelkit::{LayerNorm, Result};

pub(crate) const LN_EPS: f32 = 1e-5;

pub(crate) type Norm = LayerNorm;

/// A Florence-2 LayerNorm (eps 1e-5) from `{prefix}.weight` and `{prefix}.bias`.
pub(crate) fn norm(l: &Loader, prefix: &str, dim: usize) -> Result<Norm> {
    LayerNorm::load(l, prefix, dim, LN_EPS)
}
