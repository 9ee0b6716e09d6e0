//! Words in, boxes out: what an instruction means from end to end. The router turns it into
//! task calls (`route`), the task table gives each call its prompt (`TaskCall::prompt`), the
//! tokenizer its ids, the parsers read the model's answer (`parse`), and `apply` turns answers
//! into the instances to draw under the routed options. Also masks and exports.
//! Independent of the GPU; compiles natively and for wasm32.

pub mod box_masks;
pub mod box_scores;
pub mod chat_request;
pub mod coco_classes;
pub mod coco_dataset;
pub mod export;
pub mod geometry;
pub mod image_header;
pub mod instances;
pub mod instruction;
pub mod label_record;
pub mod mask;
pub mod parse;
pub mod prompts;
pub mod quantize;
pub mod task;
pub mod tokenizer;

pub use geometry::{BoundingBox, ImageSize, Point, Polygon};
pub use instances::{apply, Instance, Shape};
pub use instruction::{route, Geometry, Region, RouteError, RouteOptions, Routed, MAX_INSTRUCTION_CHARS};
pub use mask::Mask;
pub use parse::{parse, post_process_generation, LabelledBox, LabelledPolygons, OcrLine, TaskAnswer};
pub use prompts::{construct_prompt, PromptError, TaskCall};
pub use task::{AnswerKind, Task, TaskInput, TaskSpec, TASKS};
pub use tokenizer::{Florence2Tokenizer, TokenizerError};
