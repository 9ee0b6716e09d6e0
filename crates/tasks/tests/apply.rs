//! An instruction end to end: route -> call -> parse -> `apply` -> instances, with expectations
//! worked out by hand (a 1000x1000 image, so `<loc_k>` is pixel k). Then `apply` on anything the
//! router and parsers can produce: it never panics and keeps its promises.
#![cfg(not(target_arch = "wasm32"))] // the browser runs tests/wasm.rs instead

use proptest::prelude::*;
use visionllm_tasks::{
    apply, parse, route, BoundingBox, Geometry, ImageSize, Instance, LabelledPolygons, OcrLine, Point, Polygon, Region,
    Routed, Shape, Task, TaskAnswer, TaskCall,
};

const SIZE: ImageSize = ImageSize { width: 1000, height: 1000 };

/// Routes `instruction` to its single call, checks it is `task`, and applies the routed options
/// to `text` parsed as that call's answer.
fn run(instruction: &str, region: Option<Region>, task: Task, text: &str) -> (Routed, Vec<Instance>) {
    let routed = route(instruction, region).unwrap();
    let calls: Vec<Task> = routed.tasks.iter().map(|c| c.task).collect();
    assert_eq!(calls, [task], "{instruction:?}");
    let call = &routed.tasks[0];
    let instances = apply(&routed.options, call, &parse(call.task, text, SIZE));
    (routed, instances)
}

fn labels(instances: &[Instance]) -> Vec<&str> {
    instances.iter().map(|i| i.label.as_str()).collect()
}

fn bx(x1: f32, y1: f32, x2: f32, y2: f32) -> Shape {
    Shape::Box(BoundingBox::new(x1, y1, x2, y2))
}

fn poly(points: &[(f32, f32)]) -> Polygon {
    Polygon { points: points.iter().map(|&(x, y)| Point { x, y }).collect() }
}

#[test]
fn class_filter_keeps_the_classes_asked_for() {
    let text =
        "dog<loc_10><loc_20><loc_30><loc_40>cat<loc_0><loc_0><loc_5><loc_5>dogs<loc_100><loc_100><loc_200><loc_200>";
    let (_, found) = run("find the dogs", None, Task::ObjectDetection, text);
    assert_eq!(labels(&found), ["dog", "dogs"], "the cat is filtered out; plural labels pass");
    assert_eq!(found[0].shape, bx(10.0, 20.0, 30.0, 40.0));
    assert_eq!(found[1].shape, bx(100.0, 100.0, 200.0, 200.0));
    assert!(found.iter().all(|i| i.score.is_none()));
}

#[test]
fn the_limit_counts_instances_that_pass_the_filter() {
    let text = "car<loc_1><loc_1><loc_2><loc_2>dog<loc_3><loc_3><loc_4><loc_4>\
                car<loc_5><loc_5><loc_6><loc_6>car<loc_7><loc_7><loc_8><loc_8>";
    let (routed, found) = run("find up to 2 cars", None, Task::ObjectDetection, text);
    assert_eq!(routed.options.max_instances, Some(2));
    assert_eq!(labels(&found), ["car", "car"]);
    assert_eq!(found[1].shape, bx(5.0, 5.0, 6.0, 6.0), "the second car, not the dog");
}

#[test]
fn an_unlabelled_mask_takes_the_asked_phrase_and_passes_the_filter() {
    let routed = route("segment the person on the left", None).unwrap();
    let call = &routed.tasks[0];
    assert_eq!(call.text_input.as_deref(), Some("the person on the left"));
    assert_eq!(routed.options.class_filter, ["person on the left"]);
    let part = poly(&[(0.0, 0.0), (10.0, 0.0), (10.0, 20.0)]);
    let answer = TaskAnswer::Polygons {
        instances: vec![
            LabelledPolygons { label: " ".into(), polygons: vec![part.clone()] },
            LabelledPolygons { label: "car".into(), polygons: vec![part.clone()] },
            LabelledPolygons { label: "The Person On The Left".into(), polygons: vec![part.clone()] },
        ],
    };
    let found = apply(&routed.options, call, &answer);
    // "the person on the left" is not the class "person on the left": it stays because it is
    // exactly what was asked for (in any case); "car" is neither.
    assert_eq!(labels(&found), ["the person on the left", "The Person On The Left"]);
    assert_eq!(found[0].shape, Shape::Polygons(vec![part]), "asked as masks, kept as masks");
}

#[test]
fn masks_asked_as_boxes_become_their_bounding_boxes() {
    let routed = route("find the red balloons", None).unwrap();
    let call = &routed.tasks[0];
    assert_eq!((call.task, routed.options.geometry), (Task::OpenVocabularyDetection, Geometry::Box));
    let parts = vec![poly(&[(10.0, 10.0), (50.0, 10.0), (30.0, 40.0)]), poly(&[(60.0, 5.0), (70.0, 5.0), (70.0, 8.0)])];
    let answer = TaskAnswer::BoxesOrPolygons {
        boxes: vec![],
        instances: vec![
            LabelledPolygons { label: "red balloons".into(), polygons: parts.clone() },
            LabelledPolygons { label: "".into(), polygons: vec![] },
        ],
    };
    let found = apply(&routed.options, call, &answer);
    assert_eq!(found[0].shape, bx(10.0, 5.0, 70.0, 40.0), "one box around both parts");
    // A mask without a point has no box: it stays an (empty) mask, labelled with the phrase.
    assert_eq!(found[1], Instance { label: "red balloons".into(), shape: Shape::Polygons(vec![]), score: None });
    let mut masks = routed.options.clone();
    masks.geometry = Geometry::Mask;
    assert_eq!(apply(&masks, call, &answer)[0].shape, Shape::Polygons(parts));
}

#[test]
fn ocr_lines_become_quads_labelled_with_their_text() {
    let text = "STOP<loc_10><loc_10><loc_90><loc_12><loc_88><loc_50><loc_8><loc_48> exit <loc_1><loc_2><loc_3><loc_2><loc_3><loc_4><loc_1><loc_4>";
    let (_, found) = run("read the text and show where", None, Task::OcrWithRegion, text);
    assert_eq!(labels(&found), ["STOP", "exit"], "the text as read (the parser strips it)");
    assert_eq!(found[0].bounds(), Some(BoundingBox::new(8.0, 10.0, 90.0, 50.0)));
    let quad = [(10.0, 10.0), (90.0, 12.0), (88.0, 50.0), (8.0, 48.0)].map(|(x, y)| Point { x, y });
    assert_eq!(found[0].shape, Shape::Quad(quad));
    let answer = parse(Task::OcrWithRegion, text, SIZE);
    assert_eq!(answer.text().as_deref(), Some("STOP\nexit"));
}

#[test]
fn unnamed_region_answers_are_called_region() {
    let region = Region { bbox: BoundingBox::new(100.0, 100.0, 300.0, 300.0), image_size: SIZE };
    let text = "<poly><loc_100><loc_100><loc_300><loc_100><loc_200><loc_300></poly>";
    let (_, found) = run("segment this", Some(region), Task::RegionToSegmentation, text);
    assert_eq!(labels(&found), ["region"], "the input was <loc_k> tokens, not a name");
    assert_eq!(found[0].bounds(), Some(BoundingBox::new(100.0, 100.0, 300.0, 300.0)));

    let (_, found) =
        run("propose regions", None, Task::RegionProposal, "<loc_1><loc_2><loc_3><loc_4><loc_5><loc_6><loc_7><loc_8>");
    assert_eq!(labels(&found), ["region", "region"], "no input, no label");
}

#[test]
fn text_answers_give_text_and_no_instances() {
    let (_, found) = run("describe the image", None, Task::DetailedCaption, "<s>A dog on a sofa.</s>");
    assert!(found.is_empty());
    assert_eq!(
        parse(Task::DetailedCaption, "<s>A dog on a sofa.</s>", SIZE).text().as_deref(),
        Some("A dog on a sofa.")
    );
    assert_eq!(parse(Task::ObjectDetection, "dog<loc_1><loc_2><loc_3><loc_4>", SIZE).text(), None);
}

#[test]
fn instances_round_trip_through_json() {
    let found = vec![
        Instance { label: "dog".into(), shape: bx(1.0, 2.0, 3.0, 4.0), score: Some(0.5) },
        Instance { label: "a".into(), shape: Shape::Polygons(vec![poly(&[(1.0, 1.0)])]), score: None },
        Instance { label: "b".into(), shape: Shape::Quad([Point { x: 1.0, y: 2.0 }; 4]), score: None },
    ];
    let json = serde_json::to_string(&found).unwrap();
    assert_eq!(serde_json::from_str::<Vec<Instance>>(&json).unwrap(), found);
    let lines = vec![OcrLine { text: "x".into(), quad: [Point { x: 0.0, y: 0.0 }; 4] }];
    assert_eq!(TaskAnswer::Ocr { lines: vec![] }.text().as_deref(), Some(""));
    assert_eq!(TaskAnswer::Ocr { lines }.text().as_deref(), Some("x"));
}

fn answer_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => (0u64..1000).prop_map(|k| format!("<loc_{k}>")),
        2 => prop::sample::select(vec!["<poly>", "</poly>", "<sep>", "</s>", "dog", "cat", " ", "the red car", ""])
            .prop_map(String::from),
        1 => "\\PC{1,6}",
    ];
    prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever the instruction and the answer, `apply` keeps at most the limit, only labels
    /// that pass the filter or were asked for, and no mask when boxes were asked for.
    #[test]
    fn apply_keeps_its_promises(
        instruction in prop_oneof![
            3 => prop::sample::select(vec![
                "find the dogs", "find up to 2 cars", "segment the person on the left", "find 3 red balloons",
                "segment the cats and dogs", "propose regions", "read the text and show where", "<OD>",
                "<OPEN_VOCABULARY_DETECTION>cat", "find the largest tree as masks", "giraffes", "what is this",
            ]).prop_map(String::from),
            1 => any::<String>(),
        ],
        text in answer_text(),
        geometry in prop::sample::select(vec![Geometry::Box, Geometry::Mask]),
    ) {
        let Ok(mut routed) = route(&instruction, None) else { return Ok(()) };
        routed.options.geometry = geometry;
        for call in &routed.tasks {
            for task in Task::ALL {
                // Any parser's answer, also ones this call would not get.
                let found = apply(&routed.options, &TaskCall { task, ..call.clone() }, &parse(task, &text, SIZE));
                let asked = call.text_input.as_deref().unwrap_or("").trim();
                prop_assert!(found.len() <= routed.options.max_instances.unwrap_or(usize::MAX));
                for i in &found {
                    prop_assert!(routed.options.accepts_label(&i.label) || asked.eq_ignore_ascii_case(&i.label));
                    let is_mask = matches!(&i.shape, Shape::Polygons(p) if i.bounds().is_some() && !p.is_empty());
                    prop_assert!(!(geometry == Geometry::Box && is_mask), "{:?}", i);
                }
            }
        }
    }
}
