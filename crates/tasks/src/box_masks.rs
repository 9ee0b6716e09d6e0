//! Masks for another model's boxes, as VisionLLM v2 links a generalist and a specialist: family #2
//! (an LLM) decides what the instruction means and where each thing is, roughly; Florence-2 draws
//! the pixels. Each box becomes one `<REGION_TO_SEGMENTATION>` call with the box as its four
//! `<loc_k>` tokens, and each polygon answer replaces its box, keeping the LLM's label.
//! Here, not in a model crate, so neither family knows the other.

use crate::instances::{Instance, Shape};
use crate::instruction::{Geometry, RouteOptions, Routed};
use crate::parse::TaskAnswer;
use crate::prompts::TaskCall;
use crate::quantize::region_tokens;
use crate::task::Task;
use crate::ImageSize;

/// The segmentation calls for `instances`: one per box with some extent (points and other shapes
/// have no region to outline), with the index of the instance it belongs to.
pub fn mask_calls(instances: &[Instance], size: ImageSize) -> Vec<(usize, TaskCall)> {
    instances
        .iter()
        .enumerate()
        .filter_map(|(i, instance)| match &instance.shape {
            Shape::Box(b) => {
                let b = b.normalized();
                (b.x2 > b.x1 && b.y2 > b.y1).then(|| (i, TaskCall::new(Task::RegionToSegmentation, Some(region_tokens(b, size)))))
            }
            _ => None,
        })
        .collect()
}

/// The calls as a route for Florence-2 (`Florence2::run_routed`), drawn as masks.
pub fn mask_route(calls: &[(usize, TaskCall)]) -> Routed {
    Routed {
        tasks: calls.iter().map(|(_, call)| call.clone()).collect(),
        options: RouteOptions { geometry: Geometry::Mask, max_instances: None, class_filter: Vec::new() },
        explanation: format!("Florence-2 outlines each of the {} box(es) (<REGION_TO_SEGMENTATION>)", calls.len()),
        fallback: false,
    }
}

/// `instances` with each answered box replaced by its mask: `answers` pairs an instance index with
/// the parsed answer of its segmentation call. A box keeps its place, label and score; it stays a
/// box when its answer holds no polygon of three points or more (the specialist saw nothing
/// there). Indices that name no box are ignored.
pub fn with_masks(instances: &[Instance], answers: &[(usize, TaskAnswer)]) -> Vec<Instance> {
    let mut out = instances.to_vec();
    for (index, answer) in answers {
        let Some(instance) = out.get_mut(*index) else { continue };
        if !matches!(instance.shape, Shape::Box(_)) {
            continue;
        }
        let TaskAnswer::Polygons { instances: masks } = answer else { continue };
        let parts: Vec<_> = masks.iter().flat_map(|m| m.polygons.iter()).filter(|p| p.points.len() >= 3).cloned().collect();
        if !parts.is_empty() {
            instance.shape = Shape::Polygons(parts);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{BoundingBox, Point, Polygon};
    use crate::parse::LabelledPolygons;

    fn boxed(label: &str, b: [f32; 4]) -> Instance {
        Instance { label: label.into(), shape: Shape::Box(BoundingBox::new(b[0], b[1], b[2], b[3])), score: Some(0.5) }
    }

    fn triangle() -> Polygon {
        Polygon { points: vec![Point { x: 10.0, y: 20.0 }, Point { x: 110.0, y: 20.0 }, Point { x: 60.0, y: 220.0 }] }
    }

    #[test]
    fn each_box_becomes_a_region_call_in_florence_bins() {
        // 200x400 image: a bin is 0.2 px across and 0.4 px down; (10, 20)-(110, 220) -> bins 50, 50, 550, 550.
        // A box given corner-swapped is the same box; a point and a box of no width get no call.
        let point = Instance { label: "star".into(), shape: Shape::Point(Point { x: 5.0, y: 5.0 }), score: None };
        let instances = [boxed("dog", [10.0, 20.0, 110.0, 220.0]), point, boxed("flat", [5.0, 5.0, 5.0, 50.0]), boxed("cat", [110.0, 220.0, 10.0, 20.0])];
        let calls = mask_calls(&instances, ImageSize::new(200, 400));
        let want = "<loc_50><loc_50><loc_550><loc_550>";
        assert_eq!(calls, vec![(0, TaskCall::new(Task::RegionToSegmentation, Some(want.into()))), (3, TaskCall::new(Task::RegionToSegmentation, Some(want.into())))]);
        assert_eq!(calls[0].1.prompt(), format!("What is the polygon mask of region {want}"));
        let route = mask_route(&calls);
        assert_eq!(route.tasks.len(), 2);
        assert_eq!(route.options.geometry, Geometry::Mask);
    }

    #[test]
    fn polygons_replace_their_boxes_and_keep_the_label() {
        let instances = [boxed("dog", [10.0, 20.0, 110.0, 220.0]), boxed("cat", [0.0, 0.0, 5.0, 5.0]), boxed("owl", [1.0, 1.0, 9.0, 9.0])];
        let mask = TaskAnswer::Polygons { instances: vec![LabelledPolygons { label: String::new(), polygons: vec![triangle()] }] };
        let too_small = TaskAnswer::Polygons { instances: vec![LabelledPolygons { label: String::new(), polygons: vec![Polygon { points: vec![Point { x: 1.0, y: 1.0 }] }] }] };
        let text = TaskAnswer::Text { text: "no".into() };
        let out = with_masks(&instances, &[(0, mask.clone()), (1, too_small), (2, text), (7, mask)]);
        assert_eq!(out[0], Instance { label: "dog".into(), shape: Shape::Polygons(vec![triangle()]), score: Some(0.5) });
        assert_eq!(out[1], instances[1], "a polygon of one point leaves the box");
        assert_eq!(out[2], instances[2], "a text answer leaves the box");
        assert_eq!(out.len(), 3);
    }
}
