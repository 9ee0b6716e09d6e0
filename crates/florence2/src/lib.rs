//! Florence-2 on our GPU runtime: preprocessing, DaViT vision tower, projector, BART encoder and
//! decoder with a KV cache, greedy and beam generation. Every stage is tested against the
//! reference's activations (`tests/fixtures/florence2`, made by `tests/reference/florence2`).

pub mod config;
pub(crate) mod language;
pub mod model;
pub mod preprocess;
mod projector;
pub(crate) mod vision;
mod load;
pub mod generate;
pub mod instruct;
pub mod label_line;
mod beam;

pub use config::Florence2Config;
pub use model::Florence2;
pub use generate::{Decoding, Generated, Step};
pub use model::ModelError;
pub use instruct::{CallAnswer, Instruction, InstructionRun, JobEvent, JobStage, JobTimings, RgbImage};
pub use vision::Tap;
pub use label_line::{label_line, scored_instances};
