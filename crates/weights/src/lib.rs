//! Weights: reading checkpoints one tensor at a time (the model loader in `visionllm-modelkit`
//! puts each on the model's backend), so a model never sits whole in memory twice. No backend
//! here: the converter builds without wgpu. Two on-disk forms: Hugging Face safetensors directories
//! (`checkpoint`), and the converted, quantized, sharded format of issue 5 (`manifest` describes
//! it, `convert` writes it, `verify` checks it before anything is loaded from it).

pub mod checkpoint;
pub mod classify;
pub mod conversion_plan;
pub mod encode;
pub mod limits;
pub mod manifest;
pub mod msft;
pub mod shards;
pub mod source_header;
pub mod stream_convert;
pub mod verify;
#[cfg(not(target_arch = "wasm32"))]
pub mod convert;

pub use checkpoint::{Checkpoint, QuantView, ShardReader, WeightsError};
pub use manifest::{Manifest, Stored};
