//! VisionLLM Web: the Leptos UI (`ui`, page only) and the inference worker (`worker`, GPU and
//! model), which share the message protocol. The pure UI logic (results, palette, catalog,
//! image limits, export) has no DOM and is covered by wasm-bindgen tests.

pub mod backend_choice;
pub mod batch;
pub mod catalog;
pub mod envelope;
pub mod export;
pub mod image_limits;
pub mod instruction_limit;
pub mod messages;
pub mod opfs;
pub mod palette;
pub mod recovery;
pub mod results;
pub mod ui;
pub mod worker;
