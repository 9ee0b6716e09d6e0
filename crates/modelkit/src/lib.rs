//! What every model family on the runtime shares (layering floor 3's common ground, so a second
//! family does not copy the first): the error type, a loader that reads weights by name and
//! uploads them (quantized matmul weights stay quantized), the small layers built from them, and
//! generation's common parts (a KV cache, the step hook, the greedy loop).

pub mod generate;
pub mod layers;
pub mod loader;
pub mod pillow_resize;
pub mod table;

use thiserror::Error;
use visionllm_gpu::BackendError;
use visionllm_weights::WeightsError;

pub use generate::{greedy, GreedyLimits, GreedyRun, KvCache, OnStep, Step, StepReporter};
pub use layers::{LayerNorm, Linear, RmsNorm};
pub use loader::Loader;
pub use table::RowSplitTable;

/// A tap sees every named intermediate tensor a forward pass records (the reference tests compare
/// them with the reference's activations; `--dump` writes them); pass `&mut |_, _| {}` to ignore.
pub type Tap<'t> = &'t mut dyn FnMut(&str, &visionllm_gpu::Tensor);

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("model configuration: {0}")]
    Config(String),
    #[error("input: {0}")]
    Input(String),
    #[error("numerics: {0}")]
    Numerics(String),
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

pub type Result<T> = std::result::Result<T, ModelError>;
