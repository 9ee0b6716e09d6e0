//! A job's answers turned into what the page shows: drawable items (boxes, masks, text quads),
//! each with a class for colour and toggles, and the plain-text answers (captions, OCR).
//! The routed options apply here: class filter, instance limit, and box-or-mask geometry.

use visionllm_tasks::{BoundingBox, Geometry, Point, Polygon, TaskAnswer};

use crate::messages::JobResult;

#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Box(BoundingBox),
    /// The parts of one mask.
    Polygons(Vec<Polygon>),
    /// An OCR line's four corners.
    Quad([Point; 4]),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Index in the item list (hover and list entries refer to it).
    pub id: usize,
    pub label: String,
    /// The key for colour and toggles: the label, trimmed and lower case.
    pub class: String,
    pub shape: Shape,
}

impl Item {
    /// Tight box around the shape, in image pixels.
    pub fn bounds(&self) -> Option<BoundingBox> {
        match &self.shape {
            Shape::Box(b) => Some(b.normalized()),
            Shape::Polygons(parts) => parts.iter().filter_map(Polygon::bounding_box).reduce(|a, b| {
                BoundingBox::new(a.x1.min(b.x1), a.y1.min(b.y1), a.x2.max(b.x2), a.y2.max(b.y2))
            }),
            Shape::Quad(q) => Polygon { points: q.to_vec() }.bounding_box(),
        }
    }
}

/// A plain-text answer (caption, OCR, region description) and the task that gave it.
#[derive(Clone, Debug, PartialEq)]
pub struct TextAnswer {
    pub task: String,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Display {
    pub items: Vec<Item>,
    pub texts: Vec<TextAnswer>,
}

fn class_of(label: &str) -> String {
    label.trim().to_lowercase()
}

/// Items and texts for `result`. Unlabelled instances (region proposals, referring
/// segmentation) take the phrase they were asked for, so a class toggle can name them.
pub fn display(result: &JobResult) -> Display {
    let opts = &result.options;
    let mut out = Display::default();
    for run in &result.runs {
        let asked = run.task_text.strip_prefix(&run.task_token).unwrap_or("").trim();
        // Region inputs are `<loc_k>` tokens, not a name.
        let fallback_label = if asked.is_empty() || asked.starts_with("<loc_") { "region" } else { asked };
        let label_or = |l: &str| if l.trim().is_empty() { fallback_label.to_string() } else { l.trim().to_string() };
        // The class filter applies, but an instance named by the phrase it was asked for stays.
        let push = |label: String, shape: Shape, items: &mut Vec<Item>| {
            if opts.accepts_label(&label) || asked.eq_ignore_ascii_case(&label) {
                items.push(Item { id: 0, class: class_of(&label), label, shape });
            }
        };
        let mut items = Vec::new();
        match &run.answer {
            TaskAnswer::Text { text } => out.texts.push(TextAnswer { task: run.task_token.clone(), text: text.clone() }),
            TaskAnswer::Boxes { boxes } => boxes.iter().for_each(|b| push(label_or(&b.label), Shape::Box(b.bbox), &mut items)),
            TaskAnswer::Ocr { lines } => {
                out.texts.push(TextAnswer {
                    task: run.task_token.clone(),
                    text: lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n"),
                });
                lines.iter().for_each(|l| push(l.text.clone(), Shape::Quad(l.quad), &mut items));
            }
            TaskAnswer::Polygons { instances } => instances.iter().for_each(|i| {
                push(label_or(&i.label), polygons_or_box(&i.polygons, opts.geometry), &mut items)
            }),
            TaskAnswer::BoxesOrPolygons { boxes, instances } => {
                boxes.iter().for_each(|b| push(label_or(&b.label), Shape::Box(b.bbox), &mut items));
                instances.iter().for_each(|i| {
                    push(label_or(&i.label), polygons_or_box(&i.polygons, opts.geometry), &mut items)
                });
            }
        }
        if let Some(n) = opts.max_instances {
            items.truncate(n);
        }
        out.items.extend(items);
    }
    for (i, item) in out.items.iter_mut().enumerate() {
        item.id = i;
    }
    out
}

/// Masks stay masks; asked for boxes, a mask is shown as its bounding box.
fn polygons_or_box(parts: &[Polygon], geometry: Geometry) -> Shape {
    let shape = Shape::Polygons(parts.to_vec());
    if geometry == Geometry::Box {
        let item = Item { id: 0, label: String::new(), class: String::new(), shape: shape.clone() };
        if let Some(b) = item.bounds() {
            return Shape::Box(b);
        }
    }
    shape
}
