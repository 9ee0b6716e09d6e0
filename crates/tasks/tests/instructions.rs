//! The instruction language, table-driven: instruction -> task calls, geometry, max instances,
//! class filter, fallback. The README's table documents the same rules.
#![cfg(not(target_arch = "wasm32"))] // the browser runs tests/wasm.rs instead

use visionllm_tasks::{route, BoundingBox, Geometry, ImageSize, Region, Task};

use Geometry::{Box as B, Mask as M};
use Task::*;

const REGION: &str = "<loc_100><loc_100><loc_500><loc_500>";

struct Case {
    instruction: &'static str,
    region: bool,
    calls: &'static [(Task, Option<&'static str>)],
    geometry: Geometry,
    max: Option<usize>,
    classes: &'static [&'static str],
    fallback: bool,
}

const fn c(instruction: &'static str, calls: &'static [(Task, Option<&'static str>)], geometry: Geometry) -> Case {
    Case { instruction, region: false, calls, geometry, max: None, classes: &[], fallback: false }
}

const fn r(instruction: &'static str, calls: &'static [(Task, Option<&'static str>)], geometry: Geometry) -> Case {
    Case { instruction, region: true, calls, geometry, max: None, classes: &[], fallback: false }
}

const fn f(instruction: &'static str, calls: &'static [(Task, Option<&'static str>)]) -> Case {
    Case { instruction, region: false, calls, geometry: B, max: None, classes: &[], fallback: true }
}

const fn cls(mut case: Case, classes: &'static [&'static str], max: Option<usize>) -> Case {
    case.classes = classes;
    case.max = max;
    case
}

const CASES: &[Case] = &[
    // Raw task tokens.
    c("<OD>", &[(ObjectDetection, None)], B),
    c("<CAPTION>", &[(Caption, None)], B),
    c("<MORE_DETAILED_CAPTION>", &[(MoreDetailedCaption, None)], B),
    c("<OCR_WITH_REGION>", &[(OcrWithRegion, None)], B),
    c("<OPEN_VOCABULARY_DETECTION>red car", &[(OpenVocabularyDetection, Some("red car"))], B),
    c("<REFERRING_EXPRESSION_SEGMENTATION> the dog", &[(ReferringExpressionSegmentation, Some("the dog"))], M),
    c(
        "<CAPTION_TO_PHRASE_GROUNDING>A man rides a horse",
        &[(CaptionToPhraseGrounding, Some("A man rides a horse"))],
        B,
    ),
    r("<REGION_TO_CATEGORY>", &[(RegionToCategory, Some(REGION))], B),
    c("<REGION_TO_OCR><loc_1><loc_2><loc_3><loc_4>", &[(RegionToOcr, Some("<loc_1><loc_2><loc_3><loc_4>"))], B),
    // Find everything.
    c("find everything", &[(ObjectDetection, None)], B),
    c("Detect all objects.", &[(ObjectDetection, None)], B),
    c("detect objects", &[(ObjectDetection, None)], B),
    c("what objects are in the image?", &[(ObjectDetection, None)], B),
    c("locate everything in this picture", &[(ObjectDetection, None)], B),
    c("show me all objects", &[(ObjectDetection, None)], B),
    // Detection of named things: COCO classes -> <OD> filtered, others -> one OVD call per phrase.
    cls(c("detect cats, dogs and cars", &[(ObjectDetection, None)], B), &["cat", "dog", "car"], None),
    cls(c("find the people", &[(ObjectDetection, None)], B), &["person"], None),
    cls(c("Where is the bicycle?", &[(ObjectDetection, None)], B), &["bicycle"], None),
    cls(c("find up to 3 cars", &[(ObjectDetection, None)], B), &["car"], Some(3)),
    cls(c("how many dogs are there", &[(ObjectDetection, None)], B), &["dog"], None),
    cls(
        c(
            "find the red car and the blue bus",
            &[(OpenVocabularyDetection, Some("red car")), (OpenVocabularyDetection, Some("blue bus"))],
            B,
        ),
        &["red car", "blue bus"],
        None,
    ),
    cls(
        c("locate a man in a red shirt", &[(OpenVocabularyDetection, Some("man in a red shirt"))], B),
        &["man in a red shirt"],
        None,
    ),
    cls(
        c("please find the traffic cones for me", &[(OpenVocabularyDetection, Some("traffic cones"))], B),
        &["traffic cone"],
        None,
    ),
    cls(
        c("highlight the largest tree", &[(OpenVocabularyDetection, Some("largest tree"))], B),
        &["largest tree"],
        Some(1),
    ),
    cls(c("find two zebras and a giraffe", &[(ObjectDetection, None)], B), &["zebra", "giraffe"], Some(2)),
    cls(
        c(
            "spot the logos; the signs",
            &[(OpenVocabularyDetection, Some("logos")), (OpenVocabularyDetection, Some("signs"))],
            B,
        ),
        &["logo", "sign"],
        None,
    ),
    cls(c("find the dogs as masks", &[(ReferringExpressionSegmentation, Some("the dogs"))], M), &["dog"], None),
    cls(c("detect the cat with boxes", &[(ObjectDetection, None)], B), &["cat"], None),
    // Segmentation.
    // Referring expressions keep "the" (the demo model only knows "the biggest square").
    cls(c("segment the biggest square", &[(ReferringExpressionSegmentation, Some("the biggest square"))], M), &["biggest square"], Some(1)),
    cls(c("segment the dog", &[(ReferringExpressionSegmentation, Some("the dog"))], M), &["dog"], None),
    cls(
        c("mask the person on the left", &[(ReferringExpressionSegmentation, Some("the person on the left"))], M),
        &["person on the left"],
        None,
    ),
    cls(
        c(
            "outline the cat and the sofa",
            &[(ReferringExpressionSegmentation, Some("the cat")), (ReferringExpressionSegmentation, Some("the sofa"))],
            M,
        ),
        &["cat", "sofa"],
        None,
    ),
    cls(c("Segment all the trees.", &[(ReferringExpressionSegmentation, Some("trees"))], M), &["tree"], None),
    cls(
        c("cut out the yellow umbrella", &[(ReferringExpressionSegmentation, Some("the yellow umbrella"))], M),
        &["yellow umbrella"],
        None,
    ),
    Case { fallback: true, ..c("segment everything", &[(ObjectDetection, None)], B) },
    // Captions at three levels.
    c("caption this image", &[(Caption, None)], B),
    c("describe the image briefly", &[(Caption, None)], B),
    c("what do you see?", &[(Caption, None)], B),
    c("what is in this picture", &[(Caption, None)], B),
    c("describe the image", &[(DetailedCaption, None)], B),
    c("give me a detailed description", &[(DetailedCaption, None)], B),
    c("describe this photo in a paragraph", &[(MoreDetailedCaption, None)], B),
    c("tell me about the image in great detail", &[(MoreDetailedCaption, None)], B),
    c("dense captions", &[(DenseRegionCaption, None)], B),
    c("describe each object", &[(DenseRegionCaption, None)], B),
    // Reading text.
    c("read the text", &[(Ocr, None)], B),
    c("what does it say?", &[(Ocr, None)], B),
    c("transcribe the sign", &[(Ocr, None)], B),
    c("what is written on the board", &[(Ocr, None)], B),
    c("find the text", &[(OcrWithRegion, None)], B),
    c("read the text and show where it is", &[(OcrWithRegion, None)], B),
    c("OCR with boxes", &[(OcrWithRegion, None)], B),
    // Region tasks with a drawn box.
    r("what is this?", &[(RegionToCategory, Some(REGION))], B),
    r("what's in this region", &[(RegionToCategory, Some(REGION))], B),
    r("describe this region", &[(RegionToDescription, Some(REGION))], B),
    r("read this region", &[(RegionToOcr, Some(REGION))], B),
    r("what does this say", &[(RegionToOcr, Some(REGION))], B),
    r("segment this", &[(RegionToSegmentation, Some(REGION))], M),
    r("mask the selected area", &[(RegionToSegmentation, Some(REGION))], M),
    r("", &[(RegionToCategory, Some(REGION))], B),
    Case { region: true, classes: &["dog"], ..c("find the dogs", &[(ObjectDetection, None)], B) },
    // Phrase grounding.
    c("where are the phrases of: A dog chases a ball", &[(CaptionToPhraseGrounding, Some("A dog chases a ball"))], B),
    c("ground \"two men shaking hands\"", &[(CaptionToPhraseGrounding, Some("two men shaking hands"))], B),
    c("locate the phrases in a cat on a mat", &[(CaptionToPhraseGrounding, Some("a cat on a mat"))], B),
    // Region proposals.
    c("propose regions", &[(RegionProposal, None)], B),
    c("give me region proposals", &[(RegionProposal, None)], B),
    // Fallbacks.
    f("", &[(Caption, None)]),
    f("what is this?", &[(Caption, None)]),
    cls(f("giraffes", &[(ObjectDetection, None)]), &["giraffe"], None),
    cls(f("red balloons", &[(OpenVocabularyDetection, Some("red balloons"))]), &["red balloon"], None),
    f("is it going to rain tomorrow in this town?", &[(DetailedCaption, None)]),
    f("<FOO_TASK>", &[(Caption, None)]),
];

#[test]
fn instruction_table() {
    assert!(CASES.len() >= 50);
    let region = Region { bbox: BoundingBox::new(64.0, 48.0, 320.0, 240.0), image_size: ImageSize::new(640, 480) };
    let mut failures = Vec::new();
    for case in CASES {
        let routed = route(case.instruction, case.region.then_some(region)).unwrap();
        let calls: Vec<(Task, Option<&str>)> = routed.tasks.iter().map(|t| (t.task, t.text_input.as_deref())).collect();
        let got = (
            calls.as_slice(),
            routed.options.geometry,
            routed.options.max_instances,
            routed.options.class_filter.clone(),
            routed.fallback,
        );
        let want = (
            case.calls,
            case.geometry,
            case.max,
            case.classes.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            case.fallback,
        );
        if got != want {
            failures.push(format!("{:?}\n  want {want:?}\n  got  {got:?}  ({})", case.instruction, routed.explanation));
        }
        assert!(!routed.explanation.is_empty());
        assert_eq!(route(case.instruction, case.region.then_some(region)).unwrap(), routed, "deterministic");
    }
    assert!(
        failures.is_empty(),
        "{} of {} instructions routed differently:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn class_filter_accepts_plural_and_alias_labels() {
    let routed = route("find the people and bikes", None).unwrap();
    assert_eq!(routed.options.class_filter, ["person", "bicycle"]);
    assert!(routed.options.accepts_label("person"));
    assert!(routed.options.accepts_label("Bicycle"));
    assert!(!routed.options.accepts_label("car"));
}
