//! The ordered routing rules (the README's table, top to bottom).

use super::phrases::{
    detection, is_everything, looks_like_object_request, looks_like_object_request_excluding_text, object_phrases,
    segmentation,
};
use super::words::{has_any, normalize, strip_word_prefix};
use super::{Geometry, Region, RouteError, RouteOptions, Routed, TaskCall, MAX_INSTRUCTION_CHARS};
use crate::prompts::Task;
use crate::quantize::region_tokens;

const READ_WORDS: &[&str] =
    &["read", "ocr", "transcribe", "text", "written", "writing", "say", "says", "words", "sign"];
const DRAW_WORDS: &[&str] = &[
    "where",
    "locate",
    "find",
    "box",
    "boxes",
    "region",
    "regions",
    "highlight",
    "draw",
    "mark",
    "show",
    "position",
    "positions",
    "detect",
];
const MASK_WORDS: &[&str] = &[
    "segment",
    "segmentation",
    "mask",
    "masks",
    "outline",
    "outlines",
    "polygon",
    "polygons",
    "silhouette",
    "cut out",
    "trace",
    "pixels",
];
const BOX_WORDS: &[&str] =
    &["box", "boxes", "bounding box", "bounding boxes", "bbox", "bboxes", "rectangle", "rectangles"];
pub(super) const DEICTIC: &[&str] = &[
    "this",
    "that",
    "it",
    "here",
    "there",
    "region",
    "area",
    "selection",
    "selected",
    "box",
    "the region",
    "this region",
    "this area",
    "the box",
    "this box",
    "this part",
    "this object",
    "this thing",
];
pub(super) const DETECT_VERBS: &[&str] = &[
    "detect",
    "find",
    "locate",
    "where is",
    "where are",
    "where's",
    "show me",
    "show",
    "highlight",
    "spot",
    "point out",
    "look for",
    "search for",
    "mark",
    "box",
    "count",
    "how many",
    "identify",
    "circle",
];
pub(super) const EVERYTHING: &[&str] = &[
    "everything",
    "all objects",
    "every object",
    "all the objects",
    "all things",
    "all items",
    "objects",
    "what objects",
    "each object",
    "all",
];
const BRIEF: &[&str] = &[
    "briefly",
    "brief",
    "short",
    "shortly",
    "in a few words",
    "one sentence",
    "one line",
    "quick",
    "caption",
    "title",
];
const LONG: &[&str] = &[
    "paragraph",
    "thoroughly",
    "at length",
    "great detail",
    "very detailed",
    "more detail",
    "more detailed",
    "long",
    "everything about",
    "all details",
    "exhaustive",
    "extensively",
];

fn routed(tasks: Vec<TaskCall>, geometry: Geometry, explanation: impl Into<String>) -> Routed {
    Routed {
        tasks,
        options: RouteOptions { geometry, max_instances: None, class_filter: vec![] },
        explanation: explanation.into(),
        fallback: false,
    }
}

pub(super) fn call(task: Task, input: Option<String>) -> TaskCall {
    TaskCall { task, text_input: input }
}

fn default_geometry(task: Task) -> Geometry {
    match task {
        Task::ReferringExpressionSegmentation | Task::RegionToSegmentation => Geometry::Mask,
        _ => Geometry::Box,
    }
}

/// Routes `instruction` (with an optional user-drawn `region`) to task calls and options, or
/// refuses it with a one-line reason (too long, a region that is not a box on the image). Any
/// other text routes, in time linear in its length.
pub fn route(instruction: &str, region: Option<Region>) -> Result<Routed, RouteError> {
    // Counting stops one past the limit, so a megabyte is refused without walking all of it.
    let chars = instruction.chars().take(MAX_INSTRUCTION_CHARS + 1).count();
    if chars > MAX_INSTRUCTION_CHARS {
        return Err(RouteError::TooLong { chars: instruction.chars().count() });
    }
    if let Some(r) = region {
        check_region(r)?;
    }
    let result = route_checked(instruction, region);
    if result.tasks.is_empty() {
        // Rules that name things ("find &", "segment ,") can end with no phrase left: run the
        // general task instead of nothing, and say so.
        let mut r = routed(vec![call(Task::ObjectDetection, None)], Geometry::Box, "no object named: detecting every object instead (<OD>)");
        r.fallback = true;
        return Ok(r);
    }
    Ok(result)
}

/// A region drawn on the UI's canvas arrives as four floats and an image size: finite, inside
/// (or touching) the image, and a box of some extent.
fn check_region(r: Region) -> Result<(), RouteError> {
    let b = r.bbox;
    let bad = |detail: String| Err(RouteError::BadRegion { detail });
    if r.image_size.width == 0 || r.image_size.height == 0 {
        return bad(format!("the image is {}x{}", r.image_size.width, r.image_size.height));
    }
    if ![b.x1, b.y1, b.x2, b.y2].iter().all(|v| v.is_finite()) {
        return bad("a corner is not a number".into());
    }
    let (w, h) = (r.image_size.width as f32, r.image_size.height as f32);
    let n = b.normalized();
    if n.x2 < 0.0 || n.y2 < 0.0 || n.x1 > w || n.y1 > h {
        return bad(format!("({}, {})-({}, {}) lies outside the {}x{} image", b.x1, b.y1, b.x2, b.y2, r.image_size.width, r.image_size.height));
    }
    Ok(())
}

fn route_checked(instruction: &str, region: Option<Region>) -> Routed {
    let text = normalize(instruction);
    let lower = text.to_ascii_lowercase();
    let region_text = region.map(|r| region_tokens(r.bbox, r.image_size));

    // 1. Raw task tokens are always accepted: "<OD>", "<OPEN_VOCABULARY_DETECTION>cars".
    if let Some(task) = Task::ALL.into_iter().find(|t| text.starts_with(t.token())) {
        let rest = text[task.token().len()..].trim();
        let input = if !task.takes_input() {
            None
        } else if rest.is_empty() && task.takes_region() {
            region_text.clone()
        } else {
            Some(rest.to_string())
        };
        let mut r = routed(vec![call(task, input)], default_geometry(task), format!("raw task token {}", task.token()));
        if task.takes_region() && r.tasks[0].text_input.as_deref().unwrap_or("").is_empty() {
            r.explanation.push_str(" (no region given: draw a box or add four <loc_k> tokens)");
        }
        return r;
    }
    if text.starts_with('<') && text.ends_with('>') && !text.contains(' ') {
        let mut r = routed(
            vec![call(Task::Caption, None)],
            Geometry::Box,
            format!("unknown task token {text}: captioning instead (<CAPTION>)"),
        );
        r.fallback = true;
        return r;
    }
    if text.is_empty() && region.is_none() {
        let mut r = routed(
            vec![call(Task::Caption, None)],
            Geometry::Box,
            "empty instruction: captioning the image (<CAPTION>)",
        );
        r.fallback = true;
        return r;
    }
    // Before filler removal, for phrases like "what is in this picture".
    let raw_lower = instruction.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase();
    let wants_mask = has_any(&lower, MASK_WORDS);
    let wants_box = has_any(&lower, BOX_WORDS);
    let reads = has_any(&lower, READ_WORDS) || lower.contains("what does it say") || lower.contains("what is written");

    // 2. Region tasks, when a box was drawn and the instruction is about it.
    if let Some(loc) = &region_text {
        let about_region = has_any(&lower, DEICTIC) || lower.is_empty() || !looks_like_object_request(&lower);
        if about_region {
            let (task, why) = if reads {
                (Task::RegionToOcr, "read the text in the drawn region")
            } else if wants_mask {
                (Task::RegionToSegmentation, "segment the object in the drawn region")
            } else if has_any(
                &lower,
                &["describe", "description", "caption", "tell me about", "explain", "details", "detail"],
            ) {
                (Task::RegionToDescription, "describe the drawn region")
            } else {
                (Task::RegionToCategory, "name what is in the drawn region")
            };
            return routed(
                vec![call(task, Some(loc.clone()))],
                default_geometry(task),
                format!("{why} ({})", task.token()),
            );
        }
    }

    // 3. Phrase grounding: "where are the phrases of <caption>", "ground <caption>".
    for prefix in [
        "where are the phrases of",
        "where are the phrases in",
        "where are the phrases from",
        "ground the phrases of",
        "ground the phrases in",
        "ground the phrases",
        "locate the phrases in",
        "locate the phrases of",
        "find the phrases in",
        "find the phrases of",
        "ground the caption",
        "ground",
    ] {
        if let Some(caption) = strip_word_prefix(&text, &[prefix]) {
            let caption = caption.trim_start_matches([':', ' ']).trim_matches(['"', '\'', ' ']);
            if !caption.is_empty() {
                return routed(
                    vec![call(Task::CaptionToPhraseGrounding, Some(caption.to_string()))],
                    Geometry::Box,
                    "ground each phrase of the caption (<CAPTION_TO_PHRASE_GROUNDING>)",
                );
            }
        }
    }

    // 4. Region proposals.
    if has_any(
        &lower,
        &[
            "propose regions",
            "region proposals",
            "region proposal",
            "proposals",
            "propose",
            "candidate regions",
            "regions of interest",
            "objectness",
        ],
    ) {
        return routed(
            vec![call(Task::RegionProposal, None)],
            Geometry::Box,
            "propose object regions without labels (<REGION_PROPOSAL>)",
        );
    }

    // 5. Reading text; with regions when the answer is to be drawn.
    if reads && !looks_like_object_request_excluding_text(&lower) {
        return if has_any(&lower, DRAW_WORDS) || wants_box {
            routed(
                vec![call(Task::OcrWithRegion, None)],
                Geometry::Box,
                "read the text and where it is (<OCR_WITH_REGION>)",
            )
        } else {
            routed(vec![call(Task::Ocr, None)], Geometry::Box, "read the text in the image (<OCR>)")
        };
    }

    // 6. Dense region captions.
    if has_any(
        &lower,
        &[
            "dense caption",
            "dense captions",
            "dense region caption",
            "describe each object",
            "describe every object",
            "describe each region",
            "describe every region",
            "caption each object",
            "caption every object",
            "caption each region",
            "caption regions",
        ],
    ) {
        return routed(
            vec![call(Task::DenseRegionCaption, None)],
            Geometry::Box,
            "describe each object with a box (<DENSE_REGION_CAPTION>)",
        );
    }

    // 7. Segmentation of named things.
    if let Some(object) = strip_word_prefix(
        &text,
        &[
            "segment",
            "mask",
            "outline",
            "cut out",
            "trace",
            "give me a mask of",
            "give me masks of",
            "make a mask of",
            "draw a mask around",
            "draw the outline of",
            "draw masks around",
        ],
    ) {
        let phrases = object_phrases(object);
        return if phrases.is_empty() || is_everything(&object.to_ascii_lowercase()) {
            let mut r = routed(
                vec![call(Task::ObjectDetection, None)],
                Geometry::Box,
                "no task segments everything at once: detecting all objects with boxes instead (<OD>)",
            );
            r.fallback = true;
            r
        } else {
            segmentation(object, &lower)
        };
    }

    // 8. Captions at three levels of detail.
    let captions = has_any(
        &lower,
        &[
            "caption",
            "describe",
            "description",
            "what do you see",
            "what is happening",
            "what's happening",
            "summarize",
            "summarise",
            "what is shown",
            "tell me about",
            "explain",
        ],
    ) || has_any(&raw_lower, &["what is in", "what's in", "what is on", "what's on"]);
    if captions && !(region.is_none() && has_any(&lower, &["this region", "this area", "the region"])) {
        let task = if has_any(&lower, BRIEF) {
            Task::Caption
        } else if has_any(&lower, LONG) {
            Task::MoreDetailedCaption
        } else if has_any(&lower, &["describe", "description", "detail", "detailed", "explain", "tell me about"]) {
            Task::DetailedCaption
        } else {
            Task::Caption
        };
        return routed(vec![call(task, None)], Geometry::Box, format!("caption the image ({})", task.token()));
    }

    // 9. Detection: everything, or named things.
    if let Some(object) = strip_word_prefix(&text, DETECT_VERBS) {
        let object = strip_word_prefix(object, &["me", "all of the", "all the", "every", "all"]).map_or(object, |o| o);
        let lower_object = object.to_ascii_lowercase();
        if object.is_empty() || is_everything(&lower_object) {
            return routed(vec![call(Task::ObjectDetection, None)], Geometry::Box, "detect every object (<OD>)");
        }
        if wants_mask && !wants_box {
            return segmentation(object, &lower);
        }
        let phrases = object_phrases(object);
        return detection(phrases, &lower);
    }
    if is_everything(&lower) {
        return routed(vec![call(Task::ObjectDetection, None)], Geometry::Box, "detect every object (<OD>)");
    }

    // 10. Fallbacks: a region question without a region, a bare noun phrase, anything else.
    if has_any(&lower, DEICTIC) && has_any(&lower, &["region", "area", "what is this", "what's this", "this object"]) {
        let mut r = routed(
            vec![call(Task::Caption, None)],
            Geometry::Box,
            "no region drawn: captioning the whole image instead (<CAPTION>)",
        );
        r.fallback = true;
        return r;
    }
    if !lower.is_empty() && lower.split(' ').count() <= 4 && !lower.contains('?') {
        let mut r = detection(object_phrases(&text), &lower);
        r.fallback = true;
        r.explanation = format!("not a known instruction, treated as things to find: {}", r.explanation);
        return r;
    }
    let mut r = routed(
        vec![call(Task::DetailedCaption, None)],
        Geometry::Box,
        "not a known instruction: describing the image instead (<DETAILED_CAPTION>)",
    );
    r.fallback = true;
    r
}
