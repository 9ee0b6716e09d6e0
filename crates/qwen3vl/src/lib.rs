//! Qwen3-VL (model family #2) on our runtime (either backend): the reference processor's
//! preprocessing, the ViT with 2-D rotary positions, patch merger and DeepStack features, the
//! Qwen3 decoder (RMSNorm, grouped-query attention with q/k norms, interleaved multimodal rotary
//! positions, SwiGLU, tied embeddings) with a KV cache, the checkpoint's chat template, greedy
//! generation, and an instruction's run end to end (`instruct`). Every stage is tested against
//! the reference's activations (`tests/fixtures/qwen3vl`, made by `tests/reference/qwen3vl`).

pub mod chat;
pub mod config;
pub mod generate;
pub mod instruct;
pub mod model;
pub mod positions;
pub mod preprocess;
mod text;
mod vision;

pub use config::Qwen3VlConfig;
pub use generate::Generated;
pub use instruct::{ChatInstructionRun, ChatReply, ChatTimings};
pub use visionllm_modelkit::{OnStep, Step};
pub use model::{CheckpointTexts, Prompt, Qwen3Vl};
pub use positions::Grid;
pub use text::DecoderState;
pub use vision::VisionOutput;
