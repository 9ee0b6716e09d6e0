//! Turning the object part of an instruction into phrases, and phrases into task calls.

use super::vocabulary::{DEICTIC, DETECT_VERBS, EVERYTHING, EVERYTHING_PREFIXES, TEXT_WORDS};
use super::words::{
    coco_class, has_any, max_instances, singular, split_phrases, strip_leading_words, strip_word_prefix, DETERMINERS,
};
use super::{Geometry, RouteOptions, Routed};
use crate::prompts::TaskCall;
use crate::task::Task;

pub(super) fn is_everything(lower: &str) -> bool {
    let l = strip_leading_words(lower.trim(), &["the", "me"]);
    EVERYTHING.contains(&l) || l.is_empty() || EVERYTHING_PREFIXES.iter().any(|e| l.starts_with(e))
}

/// Whether a region instruction actually names other things to find ("find the dogs").
pub(super) fn looks_like_object_request(lower: &str) -> bool {
    strip_word_prefix(lower, DETECT_VERBS).is_some_and(|o| !o.is_empty() && !has_any(o, DEICTIC))
}

/// "find the sign" reads as detection, "find the text" as OCR.
pub(super) fn looks_like_object_request_excluding_text(lower: &str) -> bool {
    strip_word_prefix(lower, DETECT_VERBS).is_some_and(|o| !has_any(o, TEXT_WORDS))
}

/// The things named, without determiners, counts, or geometry words ("all 3 red cars as boxes").
pub(super) fn object_phrases(object: &str) -> Vec<String> {
    named(object).into_iter().map(|(_, p)| p).collect()
}

/// Referring expressions keep a leading "the" the user wrote ("segment the biggest square" asks
/// for "the biggest square"): the model reads the article as part of the expression (RefCOCO's
/// are written that way, and the demo model is trained on "the ..." only). Counts and other
/// determiners still go ("all the trees" -> "trees").
pub(super) fn referring_phrases(object: &str) -> Vec<String> {
    named(object).into_iter().map(|(the, p)| if the { format!("the {p}") } else { p }).collect()
}

/// (whether the phrase began with "the", the phrase without determiners and counts).
fn named(object: &str) -> Vec<(bool, String)> {
    let object = strip_trailing_geometry(object);
    let lower = object.to_ascii_lowercase();
    let object = [" are there", " is there", " are visible", " is visible", " can you see", " do you see", " are"]
        .iter()
        .find(|tail| lower.ends_with(*tail))
        .map_or(object, |tail| &object[..object.len() - tail.len()]);
    split_phrases(object)
        .into_iter()
        .map(|raw| {
            let p = strip_leading_words(&raw, DETERMINERS);
            let p = strip_leading_words(
                p,
                &[
                    "up to", "at most", "top", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                    "ten", "single", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
                ],
            );
            let p = strip_leading_words(p, DETERMINERS).to_string();
            // `get`, not `[..4]`: byte 4 can fall inside a character ("café").
            let the = raw.len() > 4 && raw.get(..4).is_some_and(|head| head.eq_ignore_ascii_case("the "));
            (the, p)
        })
        .filter(|(_, p)| !p.is_empty())
        .collect()
}

fn strip_trailing_geometry(s: &str) -> &str {
    let lower = s.to_ascii_lowercase();
    for tail in [
        " with masks",
        " with a mask",
        " with boxes",
        " with bounding boxes",
        " as masks",
        " as boxes",
        " as polygons",
        " with polygons",
        " using masks",
        " using boxes",
        " with outlines",
    ] {
        if lower.ends_with(tail) {
            return &s[..s.len() - tail.len()];
        }
    }
    s
}

fn options(phrases: &[String], lower: &str, geometry: Geometry) -> RouteOptions {
    RouteOptions {
        geometry,
        max_instances: max_instances(lower),
        class_filter: phrases.iter().map(|p| singular(p)).collect(),
    }
}

/// `<OD>` filtered to the classes when every phrase is a COCO class, else one open-vocabulary call per phrase.
pub(super) fn detection(phrases: Vec<String>, lower: &str) -> Routed {
    let classes: Option<Vec<&str>> = phrases.iter().map(|p| coco_class(p)).collect();
    match classes {
        Some(classes) if !classes.is_empty() => {
            let mut opts = options(&phrases, lower, Geometry::Box);
            opts.class_filter = classes.iter().map(|c| c.to_string()).collect();
            let explanation = format!("detect {} with <OD>, keeping only those classes", classes.join(", "));
            Routed {
                tasks: vec![TaskCall::new(Task::ObjectDetection, None)],
                options: opts,
                explanation,
                fallback: false,
            }
        }
        _ => {
            let tasks = phrases.iter().map(|p| TaskCall::new(Task::OpenVocabularyDetection, Some(p.clone()))).collect();
            let explanation = format!("find {} (<OPEN_VOCABULARY_DETECTION> per phrase)", phrases.join(", "));
            Routed { tasks, options: options(&phrases, lower, Geometry::Box), explanation, fallback: false }
        }
    }
}

/// One referring segmentation per expression (`referring_phrases`); the class filter is the
/// things named (`object_phrases`).
pub(super) fn segmentation(object: &str, lower: &str) -> Routed {
    let expressions = referring_phrases(object);
    let phrases = object_phrases(object);
    let tasks =
        expressions.iter().map(|p| TaskCall::new(Task::ReferringExpressionSegmentation, Some(p.clone()))).collect();
    let explanation = format!("segment {} (<REFERRING_EXPRESSION_SEGMENTATION> per phrase)", expressions.join(", "));
    Routed { tasks, options: options(&phrases, lower, Geometry::Mask), explanation, fallback: false }
}
