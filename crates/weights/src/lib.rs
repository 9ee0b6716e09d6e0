//! Weights: reading checkpoints and putting their tensors on the GPU one at a time, so a model
//! never sits whole in memory twice. (The quantized sharded format and the browser loaders of
//! issue 5 will live here too.)

pub mod checkpoint;
pub mod upload;

pub use checkpoint::{Checkpoint, WeightsError};
