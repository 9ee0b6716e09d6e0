//! What an instruction's answers mean to a viewer: the routed options applied to each call's
//! parsed answer, giving labelled instances (boxes, masks, text quads) ready to draw or export.
//! Here, not in the UI, so every front end reads "find the 3 dogs as masks" the same way.

use crate::geometry::{BoundingBox, Point, Polygon};
use crate::instruction::{Geometry, RouteOptions};
use crate::parse::TaskAnswer;
use crate::prompts::TaskCall;
use serde::{Deserialize, Serialize};

/// An instance's geometry, in original-image pixels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Box(BoundingBox),
    /// The parts of one mask.
    Polygons(Vec<Polygon>),
    /// An OCR line's four corners, in the order the model wrote them.
    Quad([Point; 4]),
    /// A pointed-at place (Qwen3-VL's `point_2d`), drawn as a marker.
    Point(Point),
}

impl Shape {
    /// Tight box around the shape; `None` for a mask without any point.
    pub fn bounds(&self) -> Option<BoundingBox> {
        match self {
            Shape::Box(b) => Some(b.normalized()),
            Shape::Polygons(parts) => parts.iter().filter_map(Polygon::bounding_box).reduce(BoundingBox::union),
            Shape::Quad(q) => Polygon { points: q.to_vec() }.bounding_box(),
            Shape::Point(p) => Some(BoundingBox::new(p.x, p.y, p.x, p.y)),
        }
    }
}

/// One thing found: what it is called and where it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub label: String,
    pub shape: Shape,
    /// A confidence, when the caller has one (`apply` does not: parsed text carries none).
    pub score: Option<f32>,
}

impl Instance {
    pub fn bounds(&self) -> Option<BoundingBox> {
        self.shape.bounds()
    }
}

/// The instances `answer` (the parsed answer to `call`) gives under the routed `options`, in the
/// model's order:
/// - an unlabelled instance (region proposals, referring segmentation) takes the phrase it was
///   asked for, or "region" when there was none or it was `<loc_k>` tokens;
/// - the class filter applies, but an instance named exactly by the asked phrase stays;
/// - masks asked for as boxes become their bounding boxes;
/// - OCR lines become quads labelled with their text;
/// - at most `max_instances` are kept from this call.
///
/// Text answers give no instance (`TaskAnswer::text` has them).
pub fn apply(options: &RouteOptions, call: &TaskCall, answer: &TaskAnswer) -> Vec<Instance> {
    let asked = call.text_input.as_deref().unwrap_or("").trim();
    let unnamed = if asked.is_empty() || asked.starts_with("<loc_") { "region" } else { asked };
    let name = |label: &str| if label.trim().is_empty() { unnamed } else { label.trim() }.to_string();
    let mask = |parts: &[Polygon]| mask_or_box(parts, options.geometry);
    let found: Vec<(String, Shape)> = match answer {
        TaskAnswer::Text { .. } => vec![],
        TaskAnswer::Boxes { boxes } => boxes.iter().map(|b| (name(&b.label), Shape::Box(b.bbox))).collect(),
        TaskAnswer::Ocr { lines } => lines.iter().map(|l| (l.text.clone(), Shape::Quad(l.quad))).collect(),
        TaskAnswer::Polygons { instances } => instances.iter().map(|i| (name(&i.label), mask(&i.polygons))).collect(),
        TaskAnswer::BoxesOrPolygons { boxes, instances } => {
            let boxes = boxes.iter().map(|b| (name(&b.label), Shape::Box(b.bbox)));
            boxes.chain(instances.iter().map(|i| (name(&i.label), mask(&i.polygons)))).collect()
        }
    };
    found
        .into_iter()
        .filter(|(label, _)| options.accepts_label(label) || asked.eq_ignore_ascii_case(label))
        .take(options.max_instances.unwrap_or(usize::MAX))
        .map(|(label, shape)| Instance { label, shape, score: None })
        .collect()
}

/// Masks stay masks; asked for boxes, a mask is drawn as its bounding box.
fn mask_or_box(parts: &[Polygon], geometry: Geometry) -> Shape {
    let shape = Shape::Polygons(parts.to_vec());
    match (geometry, shape.bounds()) {
        (Geometry::Box, Some(b)) => Shape::Box(b),
        _ => shape,
    }
}
