//! The transformers-shaped JSON (`post_process_generation`'s return value), so users can diff
//! our output against Python's. Coordinates are written as integers when they are whole, as the
//! reference's are.

use super::{parse_kind, LabelledBox, LabelledPolygons, TaskAnswer};
use crate::geometry::{ImageSize, Polygon};
use crate::task::AnswerKind;
use serde_json::{json, Map, Value};

/// `{task: answer}` for any task string (unknown tasks are parsed as plain text, like the reference).
pub fn post_process_generation(task: &str, text: &str, size: ImageSize) -> Value {
    let answer = parse_kind(AnswerKind::for_task_token(task), text, size);
    let mut map = Map::new();
    map.insert(task.to_string(), answer.to_transformers_json());
    Value::Object(map)
}

fn coord(v: f32) -> Value {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        Value::from(v as f64)
    }
}

fn flat(polygon: &Polygon) -> Value {
    Value::Array(polygon.to_flat().into_iter().map(coord).collect())
}

fn boxes_and_labels(boxes: &[LabelledBox]) -> (Value, Value) {
    let bboxes = boxes.iter().map(|b| Value::Array(b.bbox.to_array().into_iter().map(coord).collect())).collect();
    let labels = boxes.iter().map(|b| Value::from(b.label.clone())).collect();
    (Value::Array(bboxes), Value::Array(labels))
}

fn polygons_and_labels(instances: &[LabelledPolygons]) -> (Value, Value) {
    let polygons = instances.iter().map(|i| Value::Array(i.polygons.iter().map(flat).collect())).collect();
    let labels = instances.iter().map(|i| Value::from(i.label.clone())).collect();
    (Value::Array(polygons), Value::Array(labels))
}

impl TaskAnswer {
    /// The value under the task key of `post_process_generation`'s result.
    pub fn to_transformers_json(&self) -> Value {
        match self {
            TaskAnswer::Text { text } => Value::from(text.clone()),
            TaskAnswer::Boxes { boxes } => {
                let (bboxes, labels) = boxes_and_labels(boxes);
                json!({ "bboxes": bboxes, "labels": labels })
            }
            TaskAnswer::Ocr { lines } => {
                let quads = lines
                    .iter()
                    .map(|l| Value::Array(l.quad.iter().flat_map(|p| [coord(p.x), coord(p.y)]).collect()))
                    .collect::<Vec<_>>();
                let labels = lines.iter().map(|l| Value::from(l.text.clone())).collect::<Vec<_>>();
                json!({ "quad_boxes": quads, "labels": labels })
            }
            TaskAnswer::Polygons { instances } => {
                let (polygons, labels) = polygons_and_labels(instances);
                json!({ "polygons": polygons, "labels": labels })
            }
            TaskAnswer::BoxesOrPolygons { boxes, instances } => {
                let (bboxes, bboxes_labels) = boxes_and_labels(boxes);
                let (polygons, polygons_labels) = polygons_and_labels(instances);
                json!({
                    "bboxes": bboxes,
                    "bboxes_labels": bboxes_labels,
                    "polygons": polygons,
                    "polygons_labels": polygons_labels,
                })
            }
        }
    }
}
