//! Answer parsers: the model's generated text -> typed results in original-image pixels.
//!
//! Each parser reproduces transformers' `Florence2Processor.post_process_generation` (5.x)
//! exactly, odd cases included, with one deliberate difference: `<loc_k>` with k > 999 is
//! clamped to bin 999 so every coordinate lies inside the image. Parsers never panic and never
//! backtrack exponentially: they are hand-written scanners over the reference's regexes.

mod boxes;
pub mod grounding_json;
mod json;
mod ocr;
mod polygons;
pub mod scan;

pub use boxes::BANNED_GROUNDING_PHRASES;
pub use json::post_process_generation;

use crate::geometry::{BoundingBox, ImageSize, Point, Polygon};
use crate::task::{AnswerKind, Task};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelledBox {
    /// ASCII-only phrase ("" for region proposals).
    pub label: String,
    pub bbox: BoundingBox,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OcrLine {
    pub text: String,
    /// Four corners in the order the model wrote them (normally clockwise from top-left).
    pub quad: [Point; 4],
}

/// One instance: a label and the polygons (parts) that make up its mask.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelledPolygons {
    pub label: String,
    pub polygons: Vec<Polygon>,
}

/// A parsed answer. Phrase grounding reports one box per entry like the reference's final
/// answer (a phrase with two boxes appears twice).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskAnswer {
    Text {
        text: String,
    },
    Boxes {
        boxes: Vec<LabelledBox>,
    },
    Ocr {
        lines: Vec<OcrLine>,
    },
    Polygons {
        instances: Vec<LabelledPolygons>,
    },
    /// `<OPEN_VOCABULARY_DETECTION>`: polygons when the text holds `<poly>`, boxes otherwise.
    BoxesOrPolygons {
        boxes: Vec<LabelledBox>,
        instances: Vec<LabelledPolygons>,
    },
}

/// Parses `text` (decoded with special tokens kept) for `task`.
pub fn parse(task: Task, text: &str, size: ImageSize) -> TaskAnswer {
    parse_kind(task.answer_kind(), text, size)
}

/// Parses with an explicit post-processor kind.
pub fn parse_kind(kind: AnswerKind, text: &str, size: ImageSize) -> TaskAnswer {
    match kind {
        AnswerKind::PureText => {
            // Only <s> and </s> are dropped here (not <pad>), then Python's strip().
            TaskAnswer::Text { text: scan::py_strip(&text.replace("<s>", "").replace("</s>", "")).to_string() }
        }
        AnswerKind::Ocr => TaskAnswer::Ocr { lines: ocr::parse_ocr_lines(text, size) },
        AnswerKind::DescriptionWithBboxes => {
            TaskAnswer::Boxes { boxes: boxes::parse_labelled_boxes(text, size, false, &[]) }
        }
        AnswerKind::Bboxes => TaskAnswer::Boxes { boxes: boxes::parse_labelled_boxes(text, size, true, &[]) },
        AnswerKind::PhraseGrounding => {
            TaskAnswer::Boxes { boxes: boxes::parse_labelled_boxes(text, size, false, BANNED_GROUNDING_PHRASES) }
        }
        AnswerKind::Polygons => TaskAnswer::Polygons { instances: polygons::parse_labelled_polygons(text, size, true) },
        AnswerKind::DescriptionWithBboxesOrPolygons => {
            // The reference tests the raw text, before <s>/</s>/<pad> are removed.
            if text.contains("<poly>") {
                TaskAnswer::BoxesOrPolygons {
                    boxes: vec![],
                    instances: polygons::parse_labelled_polygons(text, size, false),
                }
            } else {
                TaskAnswer::BoxesOrPolygons {
                    boxes: boxes::parse_labelled_boxes(text, size, false, &[]),
                    instances: vec![],
                }
            }
        }
    }
}

impl TaskAnswer {
    /// The answer as text: a caption or description, or the OCR lines one per line; `None` for
    /// answers that are boxes or masks.
    pub fn text(&self) -> Option<String> {
        match self {
            TaskAnswer::Text { text } => Some(text.clone()),
            TaskAnswer::Ocr { lines } => Some(lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n")),
            TaskAnswer::Boxes { .. } | TaskAnswer::Polygons { .. } | TaskAnswer::BoxesOrPolygons { .. } => None,
        }
    }

    /// Every box and polygon vertex, for checks and drawing.
    pub fn all_points(&self) -> Vec<Point> {
        let from_boxes = |b: &[LabelledBox]| -> Vec<Point> {
            b.iter()
                .flat_map(|b| [Point { x: b.bbox.x1, y: b.bbox.y1 }, Point { x: b.bbox.x2, y: b.bbox.y2 }])
                .collect()
        };
        let from_polys = |p: &[LabelledPolygons]| -> Vec<Point> {
            p.iter().flat_map(|i| i.polygons.iter().flat_map(|p| p.points.clone())).collect()
        };
        match self {
            TaskAnswer::Text { .. } => vec![],
            TaskAnswer::Boxes { boxes } => from_boxes(boxes),
            TaskAnswer::Ocr { lines } => lines.iter().flat_map(|l| l.quad).collect(),
            TaskAnswer::Polygons { instances } => from_polys(instances),
            TaskAnswer::BoxesOrPolygons { boxes, instances } => {
                let mut all = from_boxes(boxes);
                all.extend(from_polys(instances));
                all
            }
        }
    }
}
