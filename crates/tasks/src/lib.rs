//! Words in, boxes out: tokenizer, prompts, instruction router, answer parsers, masks, export.
//! Independent of the GPU; compiles natively and for wasm32.

pub mod export;
pub mod geometry;
pub mod image_header;
pub mod instruction;
pub mod mask;
pub mod parse;
pub mod prompts;
pub mod quantize;
pub mod tokenizer;

pub use geometry::{BoundingBox, ImageSize, Point, Polygon};
pub use instruction::{route, Geometry, Region, RouteError, RouteOptions, Routed, TaskCall, MAX_INSTRUCTION_CHARS};
pub use mask::Mask;
pub use parse::{parse, post_process_generation, AnswerKind, LabelledBox, LabelledPolygons, OcrLine, TaskAnswer};
pub use prompts::{construct_prompt, PromptError, Task};
pub use tokenizer::{Florence2Tokenizer, TokenizerError};
