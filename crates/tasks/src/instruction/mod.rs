//! Free-form instructions -> Florence-2 task calls plus options. Deterministic ordered rules
//! (the README's "Instruction language" table lists them); the first rule that applies wins.
//! Anything unmapped falls back to a sensible task and says so.

mod phrases;
mod rules;
// Word lists laid out by hand, a few per line: rustfmt would stack them one per line.
#[rustfmt::skip]
mod vocabulary;
mod words;

pub use rules::route;
pub use words::normalize;
pub use words::{singular, COCO_CLASSES};

use crate::geometry::{BoundingBox, ImageSize};
use crate::prompts::TaskCall;
use serde::{Deserialize, Serialize};
use words::coco_class;

/// The longest instruction accepted, in characters (Unicode scalar values). Far above any real
/// instruction; it bounds the work and the prompt, and the UI's text box enforces it too.
pub const MAX_INSTRUCTION_CHARS: usize = 2000;

/// Why an instruction was not routed. Everything else routes (unknown text falls back to a task
/// and says so in `Routed::explanation`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum RouteError {
    #[error("the instruction is {chars} characters long; the limit is {max}: shorten it", max = MAX_INSTRUCTION_CHARS)]
    TooLong { chars: usize },
    #[error("the drawn region is not a box on the image ({detail}): draw it again")]
    BadRegion { detail: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Geometry {
    Box,
    Mask,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteOptions {
    /// How results should be drawn.
    pub geometry: Geometry,
    /// Keep at most this many instances (in the model's order).
    pub max_instances: Option<usize>,
    /// Keep only labels naming these classes (singular, lower case); empty keeps all.
    pub class_filter: Vec<String>,
}

impl RouteOptions {
    /// Whether a result label passes `class_filter` (compared in singular, lower case).
    pub fn accepts_label(&self, label: &str) -> bool {
        self.class_filter.is_empty() || {
            let label = singular(label);
            self.class_filter.iter().any(|c| *c == label || coco_class(&label) == Some(c.as_str()))
        }
    }
}

/// A user-drawn box and the size of the image it was drawn on (to quantise it).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Region {
    pub bbox: BoundingBox,
    pub image_size: ImageSize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Routed {
    pub tasks: Vec<TaskCall>,
    pub options: RouteOptions,
    /// One sentence saying what will run and why, for the UI.
    pub explanation: String,
    /// True when no rule understood the instruction (or it needed a region that is missing).
    pub fallback: bool,
}
