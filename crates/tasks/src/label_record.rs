//! One line of a labelling run's JSON Lines output (`visionllm label`): an image's name and size
//! and what was found on it, or why it could not be labelled. Lines are written as each image
//! finishes and read back to resume a run and to merge shards, so reading is strict about what a
//! line holds and never panics on what a crash, a disk or a person left in the file.
//!
//! `{"image": "dir/a.png", "width": 640, "height": 480, "instances": [{"label", "box": [x1, y1,
//! x2, y2], "polygons"?: [[[x, y], ...], ...], "quad"?: [[x, y] x 4], "score"?}], ...}` or
//! `{"image": "dir/b.png", "error": "..."}`; other keys (calls, timings) are kept by the writer
//! for people and ignored here.

use serde_json::{json, Map, Value};

use crate::coco_dataset::LabelledImage;
use crate::geometry::{BoundingBox, Point, Polygon};
use crate::instances::{Instance, Shape};

/// Longest image name (bytes) and label (characters) a record may hold, most instances per image,
/// polygons per instance and points per polygon, largest side.
pub const MAX_NAME_BYTES: usize = 4096;
pub const MAX_LABEL_CHARS: usize = 2000;
pub const MAX_INSTANCES: usize = 10_000;
pub const MAX_POLYGONS: usize = 1000;
pub const MAX_POINTS: usize = 100_000;
pub const MAX_SIDE: u32 = 1 << 16;

/// `{"label", "box": [x1, y1, x2, y2], "polygons"?, "quad"?, "point"?, "score"?}` in image pixels
/// (a point's box is the point itself).
pub fn instance_json(instance: &Instance) -> Value {
    let mut out = json!({ "label": instance.label });
    if let Some(b) = instance.bounds() {
        out["box"] = json!([b.x1, b.y1, b.x2, b.y2]);
    }
    match &instance.shape {
        Shape::Box(_) => {}
        Shape::Polygons(parts) => out["polygons"] = json!(parts.iter().map(|p| p.points.iter().map(|q| [q.x, q.y]).collect::<Vec<_>>()).collect::<Vec<_>>()),
        Shape::Quad(q) => out["quad"] = json!(q.iter().map(|p| [p.x, p.y]).collect::<Vec<_>>()),
        Shape::Point(p) => out["point"] = json!([p.x, p.y]),
    }
    if let Some(score) = instance.score {
        out["score"] = json!(score);
    }
    out
}

/// A record line: the image it is about and its instances or its error.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelRecord {
    pub image: String,
    pub outcome: Result<LabelledImage, String>,
}

/// The image name of a record (`"image"`), checked.
pub fn image_name(value: &Value) -> Result<String, String> {
    let name = value.get("image").and_then(Value::as_str).ok_or("no \"image\" name")?;
    if name.is_empty() || name.len() > MAX_NAME_BYTES || name.contains('\0') {
        return Err(format!("an image name must be 1 to {MAX_NAME_BYTES} bytes without NUL"));
    }
    Ok(name.to_string())
}

/// One line (without its newline).
pub fn read_record(line: &str) -> Result<LabelRecord, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let object = value.as_object().ok_or("not a JSON object")?;
    let image = image_name(&value)?;
    if let Some(error) = object.get("error") {
        let error = error.as_str().ok_or("\"error\" is not text")?;
        return Ok(LabelRecord { image, outcome: Err(error.to_string()) });
    }
    let side = |key: &str| -> Result<u32, String> {
        let v = object.get(key).and_then(Value::as_u64).ok_or(format!("no \"{key}\""))?;
        u32::try_from(v).ok().filter(|v| (1..=MAX_SIDE).contains(v)).ok_or(format!("\"{key}\" {v} is not 1 to {MAX_SIDE}"))
    };
    let (width, height) = (side("width")?, side("height")?);
    let list = object.get("instances").and_then(Value::as_array).ok_or("no \"instances\" list")?;
    if list.len() > MAX_INSTANCES {
        return Err(format!("{} instances: at most {MAX_INSTANCES}", list.len()));
    }
    let instances = list.iter().enumerate().map(|(i, v)| instance_from_json(v).map_err(|e| format!("instance {i}: {e}"))).collect::<Result<_, _>>()?;
    Ok(LabelRecord { image: image.clone(), outcome: Ok(LabelledImage { file_name: image, width, height, instances }) })
}

fn number(v: &Value) -> Result<f32, String> {
    let x = v.as_f64().ok_or("a coordinate is not a number")?;
    let x = x as f32;
    if x.is_finite() {
        Ok(x)
    } else {
        Err("a coordinate is out of range".into())
    }
}

fn point(v: &Value) -> Result<Point, String> {
    match v.as_array().map(Vec::as_slice) {
        Some([x, y]) => Ok(Point { x: number(x)?, y: number(y)? }),
        _ => Err("a point is not [x, y]".into()),
    }
}

/// The inverse of `instance_json`.
pub fn instance_from_json(v: &Value) -> Result<Instance, String> {
    let o: &Map<String, Value> = v.as_object().ok_or("not an object")?;
    let label = o.get("label").and_then(Value::as_str).ok_or("no \"label\"")?;
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(format!("a label of over {MAX_LABEL_CHARS} characters"));
    }
    let score = match o.get("score") {
        None => None,
        Some(s) => Some(s.as_f64().map(|s| s as f32).filter(|s| (0.0..=1.0).contains(s)).ok_or("\"score\" is not between 0 and 1")?),
    };
    let shape = if let Some(parts) = o.get("polygons") {
        let parts = parts.as_array().ok_or("\"polygons\" is not a list")?;
        if parts.len() > MAX_POLYGONS {
            return Err(format!("over {MAX_POLYGONS} polygons"));
        }
        let mut polygons = Vec::with_capacity(parts.len());
        for part in parts {
            let points = part.as_array().ok_or("a polygon is not a list of points")?;
            if points.len() > MAX_POINTS {
                return Err(format!("a polygon of over {MAX_POINTS} points"));
            }
            polygons.push(Polygon { points: points.iter().map(point).collect::<Result<_, _>>()? });
        }
        Shape::Polygons(polygons)
    } else if let Some(p) = o.get("point") {
        Shape::Point(point(p)?)
    } else if let Some(quad) = o.get("quad") {
        match quad.as_array().map(Vec::as_slice) {
            Some([a, b, c, d]) => Shape::Quad([point(a)?, point(b)?, point(c)?, point(d)?]),
            _ => return Err("\"quad\" is not four points".into()),
        }
    } else {
        match o.get("box").and_then(Value::as_array).map(Vec::as_slice) {
            Some([x1, y1, x2, y2]) => Shape::Box(BoundingBox::new(number(x1)?, number(y1)?, number(x2)?, number(y2)?)),
            _ => return Err("no \"box\" [x1, y1, x2, y2], \"polygons\", \"quad\" or \"point\"".into()),
        }
    };
    Ok(Instance { label: label.to_string(), shape, score })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_round_trip() {
        let p = |x: f32, y: f32| Point { x, y };
        let instances = [
            Instance { label: "car".into(), shape: Shape::Box(BoundingBox::new(1.5, 2.0, 30.0, 40.25)), score: Some(0.75) },
            Instance { label: "dog".into(), shape: Shape::Polygons(vec![Polygon { points: vec![p(0.0, 0.0), p(5.0, 0.0), p(5.0, 5.0)] }]), score: None },
            Instance { label: "text".into(), shape: Shape::Quad([p(0.0, 0.0), p(4.0, 0.0), p(4.0, 2.0), p(0.0, 2.0)]), score: None },
        ];
        for inst in &instances {
            assert_eq!(&instance_from_json(&instance_json(inst)).unwrap(), inst);
        }
        let line = json!({ "image": "a/b.png", "width": 64, "height": 48, "instances": instances.iter().map(instance_json).collect::<Vec<_>>(), "calls": [] });
        let r = read_record(&line.to_string()).unwrap();
        let image = r.outcome.unwrap();
        assert_eq!((r.image.as_str(), image.width, image.height, image.instances.len()), ("a/b.png", 64, 48, 3));
        let failed = read_record(r#"{"image": "c.png", "error": "truncated PNG"}"#).unwrap();
        assert_eq!(failed.outcome, Err("truncated PNG".into()));
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        for (line, says) in [
            ("", "not JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"width": 1}"#, "no \"image\""),
            (r#"{"image": ""}"#, "1 to 4096 bytes"),
            (r#"{"image": "a", "width": 0, "height": 1, "instances": []}"#, "\"width\" 0"),
            (r#"{"image": "a", "width": 1, "height": 1}"#, "no \"instances\""),
            (r#"{"image": "a", "width": 1, "height": 1, "instances": [{"label": "x"}]}"#, "instance 0: no \"box\""),
            (r#"{"image": "a", "width": 1, "height": 1, "instances": [{"label": "x", "box": [1, 2, 3, 1e39]}]}"#, "out of range"),
            (r#"{"image": "a", "width": 1, "height": 1, "instances": [{"label": "x", "box": [1, 2, 3, 4], "score": 2}]}"#, "between 0 and 1"),
            (r#"{"image": "a", "width": 1, "height": 1, "instances": [{"label": "x", "quad": [[1, 2]]}]}"#, "four points"),
        ] {
            let e = read_record(line).expect_err(line);
            assert!(e.contains(says), "{line}: {e}");
        }
    }
}
