//! The ordered routing rules (the README's table, top to bottom): `RULES` lists them, each a small
//! function of what was read from the instruction; the first that answers wins.

use super::phrases::{
    detection, is_everything, looks_like_object_request, looks_like_object_request_excluding_text, object_phrases,
    segmentation,
};
use super::vocabulary::*;
use super::words::{has_any, normalize, strip_word_prefix};
use super::{Geometry, Region, RouteError, RouteOptions, Routed, MAX_INSTRUCTION_CHARS};
use crate::prompts::TaskCall;
use crate::quantize::region_tokens;
use crate::task::{AnswerKind, Task};

/// What every rule reads, worked out once per instruction.
struct Context {
    /// The instruction normalised (fillers, politeness and surrounding punctuation removed).
    text: String,
    /// `text` lowered; same byte offsets as `text`.
    lower: String,
    /// The instruction as typed, whitespace collapsed and lowered: for questions whose filler
    /// words carry the meaning ("what is in this picture").
    raw_lower: String,
    /// The drawn region as four `<loc_k>` tokens.
    region: Option<String>,
    wants_mask: bool,
    wants_box: bool,
    reads: bool,
}

impl Context {
    fn new(instruction: &str, region: Option<Region>) -> Self {
        let text = normalize(instruction);
        let lower = text.to_ascii_lowercase();
        let raw_lower = instruction.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase();
        Context {
            wants_mask: has_any(&lower, MASK_WORDS),
            wants_box: has_any(&lower, BOX_WORDS),
            reads: has_any(&lower, READ_WORDS)
                || lower.contains("what does it say")
                || lower.contains("what is written"),
            region: region.map(|r| region_tokens(r.bbox, r.image_size)),
            text,
            lower,
            raw_lower,
        }
    }
}

type Rule = fn(&Context) -> Option<Routed>;

/// The rules in the order they are tried, each with its row of the README's table. Anything none
/// of them takes is described instead (`describe_instead`).
const RULES: &[(&str, Rule)] = &[
    ("raw task token", raw_task_token),                                   // 1
    ("unknown task token", unknown_task_token),                           // 11
    ("empty instruction", empty_instruction),                             // 11
    ("drawn region", drawn_region),                                       // 2
    ("phrase grounding", phrase_grounding),                               // 3
    ("region proposals", region_proposals),                               // 4
    ("reading text", reading_text),                                       // 5
    ("dense captions", dense_captions),                                   // 6
    ("segmentation", segment_named),                                      // 7
    ("captions", captions),                                               // 8
    ("detection", detect_named),                                          // 9, 10
    ("everything", everything),                                           // 9
    ("region question without a region", region_question_without_region), // 11
    ("short noun phrase", short_noun_phrase),                             // 11
];

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
    let (_, result) = first_rule(&Context::new(instruction, region));
    if result.tasks.is_empty() {
        // Rules that name things ("find &", "segment ,") can end with no phrase left: run the
        // general task instead of nothing, and say so.
        return Ok(fallback(one(
            Task::ObjectDetection,
            None,
            "no object named: detecting every object instead (<OD>)",
        )));
    }
    Ok(result)
}

/// The first rule that takes the instruction, by name, and its route.
fn first_rule(cx: &Context) -> (&'static str, Routed) {
    RULES
        .iter()
        .find_map(|(name, rule)| rule(cx).map(|r| (*name, r)))
        .unwrap_or_else(|| ("anything else", describe_instead()))
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
        return bad(format!(
            "({}, {})-({}, {}) lies outside the {}x{} image",
            b.x1, b.y1, b.x2, b.y2, r.image_size.width, r.image_size.height
        ));
    }
    Ok(())
}

/// One call, drawn as masks for the tasks that answer with polygons and as boxes otherwise.
fn one(task: Task, input: Option<String>, explanation: impl Into<String>) -> Routed {
    let geometry = if task.answer_kind() == AnswerKind::Polygons { Geometry::Mask } else { Geometry::Box };
    Routed {
        tasks: vec![TaskCall::new(task, input)],
        options: RouteOptions { geometry, max_instances: None, class_filter: vec![] },
        explanation: explanation.into(),
        fallback: false,
    }
}

/// Marks a route as not what was asked: the UI says so.
fn fallback(r: Routed) -> Routed {
    Routed { fallback: true, ..r }
}

/// "<OD>", "<OPEN_VOCABULARY_DETECTION>cars": the task, the rest as its input; region tasks
/// without `<loc_k>` take the drawn region.
fn raw_task_token(cx: &Context) -> Option<Routed> {
    let task = Task::ALL.into_iter().find(|t| cx.text.starts_with(t.token()))?;
    let rest = cx.text[task.token().len()..].trim();
    let input = if !task.takes_input() {
        None
    } else if rest.is_empty() && task.takes_region() {
        cx.region.clone()
    } else {
        Some(rest.to_string())
    };
    let missing_region = task.takes_region() && input.as_deref().unwrap_or("").is_empty();
    let mut r = one(task, input, format!("raw task token {}", task.token()));
    if missing_region {
        r.explanation.push_str(" (no region given: draw a box or add four <loc_k> tokens)");
    }
    Some(r)
}

fn unknown_task_token(cx: &Context) -> Option<Routed> {
    let t = &cx.text;
    (t.starts_with('<') && t.ends_with('>') && !t.contains(' '))
        .then(|| fallback(one(Task::Caption, None, format!("unknown task token {t}: captioning instead (<CAPTION>)"))))
}

fn empty_instruction(cx: &Context) -> Option<Routed> {
    (cx.text.is_empty() && cx.region.is_none())
        .then(|| fallback(one(Task::Caption, None, "empty instruction: captioning the image (<CAPTION>)")))
}

/// With a drawn box, an instruction about it (not naming other things) asks about the region.
fn drawn_region(cx: &Context) -> Option<Routed> {
    let loc = cx.region.as_ref()?;
    let lower = &cx.lower;
    if !(has_any(lower, DEICTIC) || lower.is_empty() || !looks_like_object_request(lower)) {
        return None;
    }
    let (task, why) = if cx.reads {
        (Task::RegionToOcr, "read the text in the drawn region")
    } else if cx.wants_mask {
        (Task::RegionToSegmentation, "segment the object in the drawn region")
    } else if has_any(lower, REGION_DESCRIBE_WORDS) {
        (Task::RegionToDescription, "describe the drawn region")
    } else {
        (Task::RegionToCategory, "name what is in the drawn region")
    };
    Some(one(task, Some(loc.clone()), format!("{why} ({})", task.token())))
}

/// "where are the phrases of <caption>", "ground <caption>".
fn phrase_grounding(cx: &Context) -> Option<Routed> {
    let caption = GROUNDING_PREFIXES.iter().find_map(|prefix| {
        let caption = strip_word_prefix(&cx.text, &[prefix])?;
        let caption = caption.trim_start_matches([':', ' ']).trim_matches(['"', '\'', ' ']);
        (!caption.is_empty()).then_some(caption)
    })?;
    Some(one(
        Task::CaptionToPhraseGrounding,
        Some(caption.to_string()),
        "ground each phrase of the caption (<CAPTION_TO_PHRASE_GROUNDING>)",
    ))
}

fn region_proposals(cx: &Context) -> Option<Routed> {
    has_any(&cx.lower, PROPOSAL_WORDS)
        .then(|| one(Task::RegionProposal, None, "propose object regions without labels (<REGION_PROPOSAL>)"))
}

/// Reading text; with regions when the answer is to be drawn.
fn reading_text(cx: &Context) -> Option<Routed> {
    if !cx.reads || looks_like_object_request_excluding_text(&cx.lower) {
        return None;
    }
    Some(if has_any(&cx.lower, DRAW_WORDS) || cx.wants_box {
        one(Task::OcrWithRegion, None, "read the text and where it is (<OCR_WITH_REGION>)")
    } else {
        one(Task::Ocr, None, "read the text in the image (<OCR>)")
    })
}

fn dense_captions(cx: &Context) -> Option<Routed> {
    has_any(&cx.lower, DENSE_CAPTION_WORDS)
        .then(|| one(Task::DenseRegionCaption, None, "describe each object with a box (<DENSE_REGION_CAPTION>)"))
}

/// "segment / mask / outline X, Y and Z"; no task segments everything at once.
fn segment_named(cx: &Context) -> Option<Routed> {
    let object = strip_word_prefix(&cx.text, SEGMENT_VERBS)?;
    Some(if object_phrases(object).is_empty() || is_everything(&object.to_ascii_lowercase()) {
        fallback(one(
            Task::ObjectDetection,
            None,
            "no task segments everything at once: detecting all objects with boxes instead (<OD>)",
        ))
    } else {
        segmentation(object, &cx.lower)
    })
}

/// Captions at three levels of detail; "describe this region" without a region is not one.
fn captions(cx: &Context) -> Option<Routed> {
    let lower = &cx.lower;
    let asked = has_any(lower, CAPTION_WORDS) || has_any(&cx.raw_lower, CAPTION_QUESTIONS);
    if !asked || (cx.region.is_none() && has_any(lower, REGION_NAMES)) {
        return None;
    }
    let task = if has_any(lower, BRIEF) {
        Task::Caption
    } else if has_any(lower, LONG) {
        Task::MoreDetailedCaption
    } else if has_any(lower, DETAILED) {
        Task::DetailedCaption
    } else {
        Task::Caption
    };
    Some(one(task, None, format!("caption the image ({})", task.token())))
}

/// "find / locate / show me ... X, Y and Z": everything, or the things named (masks when asked).
fn detect_named(cx: &Context) -> Option<Routed> {
    let object = strip_word_prefix(&cx.text, DETECT_VERBS)?;
    let object = strip_word_prefix(object, DETECT_FILLERS).unwrap_or(object);
    Some(if object.is_empty() || is_everything(&object.to_ascii_lowercase()) {
        detect_everything()
    } else if cx.wants_mask && !cx.wants_box {
        segmentation(object, &cx.lower)
    } else {
        detection(object_phrases(object), &cx.lower)
    })
}

fn everything(cx: &Context) -> Option<Routed> {
    is_everything(&cx.lower).then(detect_everything)
}

fn detect_everything() -> Routed {
    one(Task::ObjectDetection, None, "detect every object (<OD>)")
}

fn region_question_without_region(cx: &Context) -> Option<Routed> {
    (has_any(&cx.lower, DEICTIC) && has_any(&cx.lower, REGION_QUESTIONS))
        .then(|| fallback(one(Task::Caption, None, "no region drawn: captioning the whole image instead (<CAPTION>)")))
}

/// Up to four words that are not a question ("giraffes", "red balloons"): things to find.
fn short_noun_phrase(cx: &Context) -> Option<Routed> {
    let lower = &cx.lower;
    if lower.is_empty() || lower.split(' ').count() > 4 || lower.contains('?') {
        return None;
    }
    let r = detection(object_phrases(&cx.text), lower);
    let explanation = format!("not a known instruction, treated as things to find: {}", r.explanation);
    Some(fallback(Routed { explanation, ..r }))
}

fn describe_instead() -> Routed {
    fallback(one(
        Task::DetailedCaption,
        None,
        "not a known instruction: describing the image instead (<DETAILED_CAPTION>)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{BoundingBox, ImageSize};

    /// Each rule takes at least its README example: none is shadowed by an earlier one.
    #[test]
    fn every_rule_wins_for_its_example() {
        let region = Region { bbox: BoundingBox::new(0.0, 0.0, 10.0, 10.0), image_size: ImageSize::new(100, 100) };
        let examples = [
            ("<OD>", None, "raw task token"),
            ("<NOT_A_TASK>", None, "unknown task token"),
            ("  ", None, "empty instruction"),
            ("what is this?", Some(region), "drawn region"),
            ("ground a man rides a horse", None, "phrase grounding"),
            ("propose regions", None, "region proposals"),
            ("read the text", None, "reading text"),
            ("describe each object", None, "dense captions"),
            ("segment the cat", None, "segmentation"),
            ("describe the image", None, "captions"),
            ("find the dogs", None, "detection"),
            ("everything", None, "everything"),
            ("what is in this region?", None, "region question without a region"),
            ("giraffes", None, "short noun phrase"),
            ("how do magnets work, in your opinion?", None, "anything else"),
        ];
        for (text, region, rule) in examples {
            assert_eq!(first_rule(&Context::new(text, region)).0, rule, "{text:?}");
        }
        let names: Vec<&str> = examples.iter().map(|e| e.2).collect();
        assert!(RULES.iter().all(|(name, _)| names.contains(name)), "a rule without an example");
    }
}
