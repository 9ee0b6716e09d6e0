//! A labelled batch as one COCO dataset file (`images`, `annotations`, `categories`): what
//! `visionllm label --coco`, `visionllm label merge` and the app's batch export write. The
//! annotations carry the model's `score`, so the same list is also a results list for
//! pycocotools' `loadRes` against a dataset's true annotations.

use serde::Serialize;

use crate::export::{box_geometry, polygon_geometry, Categories, Category, CocoGeometry};
use crate::geometry::{BoundingBox, ImageSize, Polygon};
use crate::instances::{Instance, Shape};
use crate::label_record::LabelRecord;

/// One image of the batch and what was found on it (`instances::apply`'s instances).
#[derive(Clone, Debug, PartialEq)]
pub struct LabelledImage {
    pub file_name: String,
    pub width: u32,
    pub height: u32,
    pub instances: Vec<Instance>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CocoImage {
    pub id: u64,
    pub file_name: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CocoAnnotation {
    pub id: u64,
    pub image_id: u64,
    pub category_id: u64,
    /// `[x, y, width, height]` in pixels, clipped to the image.
    pub bbox: [f32; 4],
    pub area: f32,
    pub iscrowd: u8,
    pub score: f32,
    /// Polygons as flat `[x1, y1, x2, y2, ...]` lists (masks and OCR quads); absent for boxes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<Vec<Vec<f32>>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CocoDataset {
    pub images: Vec<CocoImage>,
    pub annotations: Vec<CocoAnnotation>,
    /// The categories the annotations use, by id.
    pub categories: Vec<Category>,
}

/// Images get ids 1, 2, ... in the order given (callers sort them, so a merge of shards and a
/// single run agree), annotations 1, 2, ... in image order. Labels take their ids from
/// `categories` (`Categories::coco()` or a user's table with COCO's behind it); an instance
/// without a score of its own gets `fallback_score`. Boxes and polygons are clipped to the image;
/// polygons with fewer than 3 points are dropped, and an instance with nothing left is skipped.
pub fn coco_dataset(images: &[LabelledImage], categories: &mut Categories, fallback_score: f32) -> CocoDataset {
    let mut out = CocoDataset { images: Vec::new(), annotations: Vec::new(), categories: Vec::new() };
    for (image_id, image) in (1u64..).zip(images) {
        out.images.push(CocoImage { id: image_id, file_name: image.file_name.clone(), width: image.width, height: image.height });
        let size = ImageSize::new(image.width, image.height);
        for instance in &image.instances {
            let Some(CocoGeometry { bbox, area, segmentation }) = geometry(&instance.shape, size) else { continue };
            out.annotations.push(CocoAnnotation {
                id: out.annotations.len() as u64 + 1,
                image_id,
                category_id: categories.id_for(&instance.label),
                bbox,
                area,
                iscrowd: 0,
                score: instance.score.unwrap_or(fallback_score),
                segmentation,
            });
        }
    }
    let mut used: Vec<Category> = categories.entries.iter().filter(|c| out.annotations.iter().any(|a| a.category_id == c.id)).cloned().collect();
    used.sort_by_key(|c| c.id);
    out.categories = used;
    out
}

/// The COCO dataset of `records` (failed images left out) as compact JSON text, and how many
/// failed: `visionllm label --coco`, `label merge` and the app's batch export all write it here, so
/// the same records give the same bytes. `categories` are the user's (COCO's own are added).
pub fn coco_text(records: &[LabelRecord], categories: Categories) -> Result<(String, usize), String> {
    let images: Vec<LabelledImage> = records.iter().filter_map(|r| r.outcome.as_ref().ok().cloned()).collect();
    let failed = records.len() - images.len();
    let dataset = coco_dataset(&images, &mut Categories::with_coco(categories), 1.0);
    Ok((serde_json::to_string(&dataset).map_err(|e| e.to_string())?, failed))
}

/// Where one instance lies, in COCO's terms (`export`'s rules, shared with `coco_results`).
fn geometry(shape: &Shape, size: ImageSize) -> Option<CocoGeometry> {
    match shape {
        Shape::Box(b) => Some(box_geometry(*b, size)),
        Shape::Polygons(parts) => polygon_geometry(parts, size),
        Shape::Quad(q) => polygon_geometry(&[Polygon { points: q.to_vec() }], size),
        // COCO has no point annotation outside keypoint datasets: a zero-size box at the point
        // keeps where it is.
        Shape::Point(p) => Some(box_geometry(BoundingBox::new(p.x, p.y, p.x, p.y), size)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{BoundingBox, Point};

    fn boxed(label: &str, b: [f32; 4], score: Option<f32>) -> Instance {
        Instance { label: label.into(), shape: Shape::Box(BoundingBox::new(b[0], b[1], b[2], b[3])), score }
    }

    #[test]
    fn images_annotations_and_the_categories_used() {
        let images = vec![
            LabelledImage { file_name: "a.png".into(), width: 100, height: 80, instances: vec![boxed("car", [10.0, 20.0, 30.0, 60.0], Some(0.5)), boxed("red circle", [0.0, 0.0, 150.0, 10.0], None)] },
            LabelledImage { file_name: "b.png".into(), width: 50, height: 50, instances: vec![] },
            LabelledImage {
                file_name: "c.png".into(),
                width: 50,
                height: 50,
                instances: vec![
                    Instance { label: "person".into(), shape: Shape::Polygons(vec![Polygon { points: vec![Point { x: 0.0, y: 0.0 }, Point { x: 10.0, y: 0.0 }, Point { x: 10.0, y: 10.0 }] }]), score: Some(0.9) },
                    Instance { label: "dot".into(), shape: Shape::Polygons(vec![Polygon { points: vec![Point { x: 1.0, y: 1.0 }] }]), score: None },
                ],
            },
        ];
        let d = coco_dataset(&images, &mut Categories::coco(), 1.0);
        assert_eq!(d.images.iter().map(|i| (i.id, i.file_name.as_str())).collect::<Vec<_>>(), [(1, "a.png"), (2, "b.png"), (3, "c.png")]);
        assert_eq!(d.annotations.len(), 3, "the one-point polygon is no annotation");
        let a = &d.annotations;
        assert_eq!((a[0].id, a[0].image_id, a[0].category_id, a[0].bbox, a[0].area, a[0].score), (1, 1, 3, [10.0, 20.0, 20.0, 40.0], 800.0, 0.5));
        assert_eq!((a[1].category_id, a[1].bbox, a[1].score), (91, [0.0, 0.0, 100.0, 10.0], 1.0), "clipped; a new label after COCO's ids");
        assert_eq!((a[2].image_id, a[2].category_id, a[2].area), (3, 1, 50.0));
        assert_eq!(a[2].segmentation, Some(vec![vec![0.0, 0.0, 10.0, 0.0, 10.0, 10.0]]));
        let names: Vec<(u64, &str)> = d.categories.iter().map(|c| (c.id, c.name.as_str())).collect();
        assert_eq!(names, [(1, "person"), (3, "car"), (91, "red circle")]);
        let json = serde_json::to_value(&d).unwrap();
        assert!(json["annotations"][0].get("segmentation").is_none());
        assert_eq!(json["annotations"][0]["iscrowd"], 0);
    }
}
