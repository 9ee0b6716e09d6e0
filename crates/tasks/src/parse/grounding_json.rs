//! Qwen3-VL's grounding answers: JSON objects `{"bbox_2d": [x1, y1, x2, y2], "label": ...}` and
//! `{"point_2d": [x, y], "label": ...}`, usually a list, coordinates relative to 0..1000 of the
//! image's width and height. The model wraps them in code fences, adds prose around them, or is
//! cut off by the token budget mid-list, so the parser takes every complete object it can find
//! anywhere in the text (scanning braces outside strings), keeps those with a valid box or point
//! and ignores the rest. It never panics (the scanner only splits at ASCII braces) and is linear
//! in the text: each object is parsed once where it closes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::geometry::{BoundingBox, ImageSize, Point};

/// The coordinate range the model's numbers are relative to.
pub const COORDINATE_SCALE: f32 = 1000.0;
/// Longest label kept (characters); longer ones are cut.
pub const MAX_LABEL_CHARS: usize = 200;
/// Most objects taken from one answer.
pub const MAX_OBJECTS: usize = 1000;

/// One grounded thing, in original-image pixels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grounded {
    Box { label: String, bbox: BoundingBox },
    Point { label: String, point: Point },
}

/// Every box and point in `text`, in the order written, scaled from 0..1000 to `size` pixels
/// (clamped to the image; a box's corners ordered).
pub fn parse_grounding(text: &str, size: ImageSize) -> Vec<Grounded> {
    let mut out = Vec::new();
    for object in objects(text) {
        if out.len() == MAX_OBJECTS {
            break;
        }
        if let Some(g) = grounded(&object, size) {
            out.push(g);
        }
    }
    out
}

/// The JSON objects of `text` that parse, in the order they close: every `{ .. }` span balanced
/// outside strings is tried once, whatever encloses it, so an unclosed brace in prose before the
/// answer does not hide it. (Grounding objects hold no objects; an enclosing object that also
/// parses, `{"objects": [..]}`, has no coordinates of its own and is skipped by the caller.)
fn objects(text: &str) -> Vec<Value> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    // Open braces (byte offsets) of the spans being scanned.
    let mut open: Vec<usize> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            // A quote only opens a string inside a brace; prose quotes outside are ignored.
            b'"' if !open.is_empty() => in_string = true,
            b'{' => {
                // Deeper than any answer: start over rather than grow (and re-parse) without bound.
                if open.len() == MAX_DEPTH {
                    open.clear();
                }
                open.push(i);
            }
            b'}' => {
                if let Some(start) = open.pop() {
                    // Both ends are ASCII braces, so the slice is on char boundaries.
                    if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(&text[start..=i]) {
                        found.push(v);
                    }
                }
            }
            _ => {}
        }
    }
    // A span that never closes (an answer cut off by the token budget) is dropped.
    found
}

/// Nesting past which the scanner forgets the open braces (each closing span is parsed once, so
/// work stays within MAX_DEPTH passes over the text).
const MAX_DEPTH: usize = 16;

fn number(v: &Value) -> Option<f32> {
    let x = match v {
        Value::Number(n) => n.as_f64()?,
        // Some answers quote their numbers.
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    x.is_finite().then_some(x as f32)
}

fn coords<const N: usize>(v: Option<&Value>) -> Option<[f32; N]> {
    let list = v?.as_array()?;
    if list.len() != N {
        return None;
    }
    let mut out = [0f32; N];
    for (o, v) in out.iter_mut().zip(list) {
        *o = number(v)?;
    }
    Some(out)
}

fn label(object: &serde_json::Map<String, Value>) -> String {
    let raw = match object.get("label").or_else(|| object.get("name")) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let cut: String = raw.chars().take(MAX_LABEL_CHARS).collect();
    if cut.is_empty() { "object".to_string() } else { cut }
}

fn grounded(v: &Value, size: ImageSize) -> Option<Grounded> {
    let object = v.as_object()?;
    // Multiply before dividing: whole numbers on a 1000-pixel side stay whole.
    let sx = |x: f32| x.clamp(0.0, COORDINATE_SCALE) * size.width as f32 / COORDINATE_SCALE;
    let sy = |y: f32| y.clamp(0.0, COORDINATE_SCALE) * size.height as f32 / COORDINATE_SCALE;
    if let Some([x1, y1, x2, y2]) = coords::<4>(object.get("bbox_2d").or_else(|| object.get("bbox"))) {
        let bbox = BoundingBox { x1: sx(x1.min(x2)), y1: sy(y1.min(y2)), x2: sx(x1.max(x2)), y2: sy(y1.max(y2)) };
        return Some(Grounded::Box { label: label(object), bbox });
    }
    if let Some([x, y]) = coords::<2>(object.get("point_2d").or_else(|| object.get("point"))) {
        return Some(Grounded::Point { label: label(object), point: Point { x: sx(x), y: sy(y) } });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: ImageSize = ImageSize { width: 2000, height: 500 };

    #[test]
    fn a_fenced_list_with_prose_gives_boxes_and_points_in_pixels() {
        let text = "Here you go:\n```json\n[\n  {\"bbox_2d\": [100, 200, 300, 400], \"label\": \"car\"},\n  {\"point_2d\": [500, 1000], \"label\": \"person\"}\n]\n```\nAnything else?";
        let got = parse_grounding(text, SIZE);
        assert_eq!(got, vec![
            Grounded::Box { label: "car".into(), bbox: BoundingBox { x1: 200.0, y1: 100.0, x2: 600.0, y2: 200.0 } },
            Grounded::Point { label: "person".into(), point: Point { x: 1000.0, y: 500.0 } },
        ]);
    }

    #[test]
    fn a_cut_off_list_keeps_its_complete_objects() {
        let text = "[{\"bbox_2d\": [0, 0, 1000, 1000], \"label\": \"dog\"}, {\"bbox_2d\": [10, 20, 3";
        let got = parse_grounding(text, SIZE);
        assert_eq!(got, vec![Grounded::Box { label: "dog".into(), bbox: BoundingBox { x1: 0.0, y1: 0.0, x2: 2000.0, y2: 500.0 } }]);
    }

    #[test]
    fn odd_objects_are_mended_or_skipped() {
        // Reversed corners, out-of-range numbers, quoted numbers, a missing label, braces in a
        // label, an object without coordinates, a box of three numbers.
        let text = r#"{"bbox_2d": [300, 400, 100, 200], "label": "a {b}"} {"bbox_2d": ["-5", 0, 1200, "500"]} {"label": "x"} {"bbox_2d": [1, 2, 3]}"#;
        let got = parse_grounding(text, SIZE);
        assert_eq!(got, vec![
            Grounded::Box { label: "a {b}".into(), bbox: BoundingBox { x1: 200.0, y1: 100.0, x2: 600.0, y2: 200.0 } },
            Grounded::Box { label: "object".into(), bbox: BoundingBox { x1: 0.0, y1: 0.0, x2: 2000.0, y2: 250.0 } },
        ]);
    }

    #[test]
    fn prose_without_json_gives_nothing() {
        assert!(parse_grounding("I see a cat on a mat. {not json} \"quoted { brace\"", SIZE).is_empty());
        assert!(parse_grounding("", SIZE).is_empty());
    }
}
