//! Qwen3-VL's JSON grounding parser: never panics on any text (JSON soups, cut-off answers,
//! arbitrary Unicode), every coordinate it returns is finite and inside the image, and a list of
//! well-formed objects inside any prose comes back whole, in order.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use visionllm_tasks::parse::grounding_json::{parse_grounding, Grounded};
use visionllm_tasks::ImageSize;

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec!["{", "}", "[", "]", "\"", "\\", ",", ":", "```json", "```", "\"bbox_2d\"", "\"point_2d\"", "\"label\"", "null", "\n"]).prop_map(String::from),
        2 => any::<i64>().prop_map(|v| v.to_string()),
        2 => (0u32..1200).prop_map(|v| v.to_string()),
        1 => "\\PC{1,8}",
        1 => any::<String>(),
    ]
}

fn size() -> impl Strategy<Value = ImageSize> {
    (1u32..5000, 1u32..5000).prop_map(|(w, h)| ImageSize::new(w, h))
}

fn inside(g: &Grounded, size: ImageSize) -> bool {
    let (w, h) = (size.width as f32, size.height as f32);
    let ok = |x: f32, y: f32| x.is_finite() && y.is_finite() && (0.0..=w).contains(&x) && (0.0..=h).contains(&y);
    match g {
        Grounded::Box { bbox, .. } => ok(bbox.x1, bbox.y1) && ok(bbox.x2, bbox.y2) && bbox.x1 <= bbox.x2 && bbox.y1 <= bbox.y2,
        Grounded::Point { point, .. } => ok(point.x, point.y),
    }
}

proptest! {
    #[test]
    fn soups_never_panic_and_stay_inside(parts in prop::collection::vec(fragment(), 0..120), size in size()) {
        for g in parse_grounding(&parts.concat(), size) {
            prop_assert!(inside(&g, size), "{g:?}");
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>(), size in size()) {
        for g in parse_grounding(&text, size) {
            prop_assert!(inside(&g, size), "{g:?}");
        }
    }

    #[test]
    fn well_formed_lists_come_back_whole(objects in prop::collection::vec((0u32..=1000, 0u32..=1000, 0u32..=1000, 0u32..=1000, "[a-z ]{1,10}", any::<bool>()), 1..8), before in "[^{}\"]{0,30}", after in "\\PC{0,30}") {
        let size = ImageSize::new(1000, 1000);
        let items: Vec<String> = objects.iter().map(|(a, b, c, d, label, is_box)| {
            let label = serde_json::to_string(label).unwrap();
            if *is_box { format!("{{\"bbox_2d\": [{a}, {b}, {c}, {d}], \"label\": {label}}}") } else { format!("{{\"point_2d\": [{a}, {b}], \"label\": {label}}}") }
        }).collect();
        let text = format!("{before}```json\n[{}]\n```{after}", items.join(", "));
        let got = parse_grounding(&text, size);
        // Prose after the answer may add objects of its own only if it contains braces.
        prop_assert!(got.len() >= objects.len());
        for ((a, b, c, d, label, is_box), g) in objects.iter().zip(&got) {
            let want_label = if label.trim().is_empty() { "object" } else { label.trim() };
            match g {
                Grounded::Box { label: l, bbox } => {
                    prop_assert!(*is_box);
                    prop_assert_eq!(l.as_str(), want_label);
                    prop_assert_eq!((bbox.x1, bbox.x2), ((*a).min(*c) as f32, (*a).max(*c) as f32));
                    prop_assert_eq!((bbox.y1, bbox.y2), ((*b).min(*d) as f32, (*b).max(*d) as f32));
                }
                Grounded::Point { label: l, point } => {
                    prop_assert!(!*is_box);
                    prop_assert_eq!(l.as_str(), want_label);
                    prop_assert_eq!((point.x, point.y), (*a as f32, *b as f32));
                }
            }
        }
    }
}

#[test]
fn long_and_deeply_nested_inputs_stay_fast() {
    let size = ImageSize::new(640, 480);
    let started = std::time::Instant::now();
    let nested = "{".repeat(200_000) + &"}".repeat(200_000);
    assert!(parse_grounding(&nested, size).is_empty());
    let many = "{\"bbox_2d\": [1, 2, 3, 4], \"label\": \"x\"}, ".repeat(5000);
    assert_eq!(parse_grounding(&many, size).len(), 1000, "capped at MAX_OBJECTS");
    // Generous: the point is linear work, not a benchmark.
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Family #2's request for any instruction: an error, or the instruction itself (trimmed) as
    /// the user message, with a system message exactly when it asks for places.
    #[test]
    fn any_instruction_is_a_chat_request_or_an_error(text in prop_oneof![any::<String>(), "\\PC{0,40}", "(find|point at|segment|what) \\PC{0,20}"]) {
        use visionllm_tasks::chat_request::{chat_request, ChatAnswer};
        if let Ok(r) = chat_request(&text) {
            prop_assert_eq!(r.user.as_str(), text.trim());
            prop_assert_eq!(r.system.is_some(), r.answer != ChatAnswer::Text);
        }
    }

    /// Parsed points and boxes become instances that survive the JSON Lines record and back.
    #[test]
    fn grounded_instances_round_trip_through_records(objects in prop::collection::vec((0u32..1000, 0u32..1000, 0u32..1000, 0u32..1000, "\\PC{0,6}", any::<bool>()), 1..8), size in size()) {
        use visionllm_tasks::chat_request::grounded_instances;
        use visionllm_tasks::label_record::{instance_from_json, instance_json};
        let list: Vec<serde_json::Value> = objects.iter().map(|(a, b, c, d, label, point)| if *point {
            serde_json::json!({ "point_2d": [a, b], "label": label })
        } else {
            serde_json::json!({ "bbox_2d": [a, b, c, d], "label": label })
        }).collect();
        let grounded = parse_grounding(&serde_json::to_string(&list).unwrap(), size);
        prop_assert_eq!(grounded.len(), objects.len());
        for (g, inst) in grounded.iter().zip(grounded_instances(&grounded)) {
            let back = instance_from_json(&instance_json(&inst)).unwrap();
            prop_assert_eq!(&back, &inst);
            let label = match g { Grounded::Box { label, .. } | Grounded::Point { label, .. } => label };
            prop_assert_eq!(&inst.label, label);
        }
    }
}

proptest! {
    /// Masks for family #2's boxes: any boxes (NaN, infinite, swapped, off the image) and any
    /// answers give calls whose region is four in-range `<loc_k>` tokens, one per box of some
    /// extent, and `with_masks` changes only the boxes it was given answers for.
    #[test]
    fn box_masks_never_panic(boxes in prop::collection::vec((any::<f32>(), any::<f32>(), any::<f32>(), any::<f32>(), any::<bool>()), 0..8), size in size(), answers in prop::collection::vec((0usize..12, prop::collection::vec((any::<f32>(), any::<f32>()), 0..6), any::<bool>()), 0..8)) {
        use visionllm_tasks::box_masks::{mask_calls, mask_route, with_masks};
        use visionllm_tasks::{BoundingBox, Instance, LabelledPolygons, Point, Polygon, Shape, TaskAnswer};
        let instances: Vec<Instance> = boxes.iter().map(|&(a, b, c, d, point)| Instance {
            label: "x".into(),
            shape: if point { Shape::Point(Point { x: a, y: b }) } else { Shape::Box(BoundingBox::new(a, b, c, d)) },
            score: None,
        }).collect();
        let calls = mask_calls(&instances, size);
        prop_assert_eq!(mask_route(&calls).tasks.len(), calls.len());
        for (i, call) in &calls {
            prop_assert!(matches!(instances[*i].shape, Shape::Box(_)));
            let region = call.text_input.as_deref().unwrap_or_default();
            let bins: Vec<u32> = region.split("<loc_").skip(1).map(|t| t.trim_end_matches('>').parse().unwrap()).collect();
            prop_assert_eq!(bins.len(), 4, "{}", region);
            prop_assert!(bins.iter().all(|&b| b < 1000), "{}", region);
        }
        let answers: Vec<(usize, TaskAnswer)> = answers.into_iter().map(|(i, pts, text)| (i, if text {
            TaskAnswer::Text { text: "t".into() }
        } else {
            TaskAnswer::Polygons { instances: vec![LabelledPolygons { label: String::new(), polygons: vec![Polygon { points: pts.into_iter().map(|(x, y)| Point { x, y }).collect() }] }] }
        })).collect();
        let out = with_masks(&instances, &answers);
        prop_assert_eq!(out.len(), instances.len());
        for (i, (before, after)) in instances.iter().zip(&out).enumerate() {
            if format!("{before:?}") != format!("{after:?}") {
                prop_assert!(matches!(before.shape, Shape::Box(_)) && matches!(after.shape, Shape::Polygons(_)));
                prop_assert!(answers.iter().any(|(j, _)| *j == i));
            }
        }
    }
}
