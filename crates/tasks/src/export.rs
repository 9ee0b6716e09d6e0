//! Export: COCO "results" JSON (what pycocotools' `loadRes` reads) and the transformers-shaped JSON.

use crate::geometry::{BoundingBox, ImageSize, Polygon};
use crate::parse::{LabelledBox, LabelledPolygons, TaskAnswer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Category name -> COCO id. Known names keep their ids; new names get the next free id, so a
/// run over many images yields one consistent table.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Categories {
    pub entries: Vec<Category>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub id: u64,
    pub name: String,
}

impl Categories {
    /// From `(id, name)` pairs, e.g. the COCO dataset's categories.
    pub fn from_pairs<S: Into<String>>(pairs: impl IntoIterator<Item = (u64, S)>) -> Self {
        Self { entries: pairs.into_iter().map(|(id, name)| Category { id, name: name.into() }).collect() }
    }

    /// Id for `name` (case-insensitive, trimmed), adding it when new.
    pub fn id_for(&mut self, name: &str) -> u64 {
        let key = name.trim().to_lowercase();
        if let Some(c) = self.entries.iter().find(|c| c.name.to_lowercase() == key) {
            return c.id;
        }
        let id = self.entries.iter().map(|c| c.id).max().unwrap_or(0) + 1;
        self.entries.push(Category { id, name: name.trim().to_string() });
        id
    }
}

/// One detection in COCO results format (`bbox` is `[x, y, width, height]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CocoResult {
    pub image_id: u64,
    pub category_id: u64,
    pub category_name: String,
    pub bbox: [f32; 4],
    pub area: f32,
    pub score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<Vec<Vec<f32>>>,
}

fn xywh(b: BoundingBox) -> [f32; 4] {
    let b = b.normalized();
    [b.x1, b.y1, b.width(), b.height()]
}

fn union_box(polygons: &[Polygon]) -> Option<BoundingBox> {
    polygons
        .iter()
        .filter_map(Polygon::bounding_box)
        .reduce(|a, b| BoundingBox::new(a.x1.min(b.x1), a.y1.min(b.y1), a.x2.max(b.x2), a.y2.max(b.y2)))
}

/// COCO results for one image. Florence-2 gives no confidences, so every result gets `score`.
/// Boxes and polygons are clipped to the image; polygons with fewer than 3 points are left out
/// of `segmentation` (pycocotools rejects them), and instances with none left are skipped.
/// OCR lines become category "text" with their quad as the segmentation; plain text gives nothing.
pub fn coco_results(
    image_id: u64,
    answer: &TaskAnswer,
    size: ImageSize,
    categories: &mut Categories,
    score: f32,
) -> Vec<CocoResult> {
    let mut out = Vec::new();
    let mut push_box = |b: &LabelledBox, categories: &mut Categories| {
        let bbox = b.bbox.normalized().clipped(size);
        out.push(CocoResult {
            image_id,
            category_id: categories.id_for(&b.label),
            category_name: b.label.clone(),
            bbox: xywh(bbox),
            area: bbox.area(),
            score,
            segmentation: None,
        });
    };
    let mut polygon_results = Vec::new();
    let mut push_polygons = |inst: &LabelledPolygons, categories: &mut Categories| {
        let parts: Vec<Polygon> =
            inst.polygons.iter().filter(|p| p.points.len() >= 3).map(|p| p.clipped(size)).collect();
        let Some(bbox) = union_box(&parts) else {
            return;
        };
        polygon_results.push(CocoResult {
            image_id,
            category_id: categories.id_for(&inst.label),
            category_name: inst.label.clone(),
            bbox: xywh(bbox),
            area: parts.iter().map(Polygon::area).sum(),
            score,
            segmentation: Some(parts.iter().map(Polygon::to_flat).collect()),
        });
    };
    match answer {
        TaskAnswer::Text { .. } => {}
        TaskAnswer::Boxes { boxes } => boxes.iter().for_each(|b| push_box(b, categories)),
        TaskAnswer::Ocr { lines } => {
            for line in lines {
                let quad = Polygon { points: line.quad.to_vec() };
                push_polygons(&LabelledPolygons { label: "text".into(), polygons: vec![quad] }, categories);
            }
        }
        TaskAnswer::Polygons { instances } => instances.iter().for_each(|i| push_polygons(i, categories)),
        TaskAnswer::BoxesOrPolygons { boxes, instances } => {
            boxes.iter().for_each(|b| push_box(b, categories));
            instances.iter().for_each(|i| push_polygons(i, categories));
        }
    }
    out.extend(polygon_results);
    out
}

/// `{task: answer}` exactly shaped like transformers' `post_process_generation`.
pub fn transformers_json(task: &str, answer: &TaskAnswer) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(task.to_string(), answer.to_transformers_json());
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::post_process_generation;
    use crate::{parse, Task};

    #[test]
    fn coco_boxes_and_polygons() {
        let size = ImageSize::new(1000, 1000);
        let mut cats = Categories::from_pairs([(3, "car")]);
        let od =
            parse(Task::ObjectDetection, "car<loc_10><loc_20><loc_30><loc_40>dog<loc_0><loc_0><loc_1><loc_1>", size);
        let res = coco_results(7, &od, size, &mut cats, 1.0);
        assert_eq!(res[0].category_id, 3);
        assert_eq!(res[0].bbox, [10.0, 20.0, 20.0, 20.0]);
        assert_eq!(res[1].category_id, 4);
        let seg = parse(
            Task::ReferringExpressionSegmentation,
            "<poly><loc_0><loc_0><loc_100><loc_0><loc_100><loc_100></poly>",
            size,
        );
        let res = coco_results(7, &seg, size, &mut cats, 0.5);
        assert_eq!(res.len(), 1);
        assert_eq!(res[0].segmentation.as_ref().unwrap()[0].len(), 6);
        assert_eq!(res[0].category_name, "");
        let json = serde_json::to_value(&res).unwrap();
        assert_eq!(json[0]["score"], 0.5);
    }

    #[test]
    fn transformers_json_matches_post_process() {
        let size = ImageSize::new(640, 480);
        let text = "car<loc_54><loc_375><loc_906><loc_707>";
        let answer = parse(Task::ObjectDetection, text, size);
        assert_eq!(transformers_json("<OD>", &answer), post_process_generation("<OD>", text, size));
        assert_eq!(
            transformers_json("<OD>", &answer).to_string(),
            r#"{"<OD>":{"bboxes":[[34,180,580,339]],"labels":["car"]}}"#
        );
    }
}
