//! Labelled boxes: `<OD>`, `<DENSE_REGION_CAPTION>`, `<REGION_PROPOSAL>` (no labels) and
//! `<CAPTION_TO_PHRASE_GROUNDING>` (with its banned phrases), as the reference's
//! `parse_description_with_bboxes_from_text_and_spans` / `parse_phrase_grounding_from_text_and_spans`.

use super::scan::{
    ascii_only, drop_sequence_tokens, phrase_head, phrase_runs, py_strip, CoordToken, RunTokens, BOX_PHRASE_ENDS,
};
use super::LabelledBox;
use crate::geometry::{BoundingBox, ImageSize};
use crate::quantize::dequantize;

/// Phrases phrase grounding never reports (pronouns, "the image", articles...): the
/// `phrase_grounding.banned_grounding_tokens` list of the converted Florence-2 checkpoints.
/// Compared after stripping, before the ASCII reduction, case-sensitively.
pub const BANNED_GROUNDING_PHRASES: &[&str] = &[
    "I",
    "a",
    "a group",
    "a set",
    "all",
    "an",
    "another",
    "any",
    "anybody",
    "anyone",
    "anything",
    "each",
    "each other",
    "everybody",
    "everyone",
    "everything",
    "few",
    "he",
    "her",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "image",
    "images",
    "it",
    "its",
    "itself",
    "lots",
    "many",
    "me",
    "mine",
    "myself",
    "nobody",
    "none",
    "one",
    "one another",
    "oneself",
    "other objects",
    "our",
    "ours",
    "ourselves",
    "several",
    "she",
    "some",
    "somebody",
    "someone",
    "something",
    "that",
    "the",
    "the image",
    "their",
    "theirs",
    "them",
    "themselves",
    "these",
    "they",
    "this",
    "those",
    "us",
    "we",
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// Every box after a phrase (or, with `allow_empty_phrase`, every run of >= 4 locs), one entry per
/// box. `banned` drops phrases (phrase grounding).
pub fn parse_labelled_boxes(
    text: &str,
    size: ImageSize,
    allow_empty_phrase: bool,
    banned: &[&str],
) -> Vec<LabelledBox> {
    let text = drop_sequence_tokens(text);
    let mut out = Vec::new();
    for run in phrase_runs(&text, RunTokens::Locs, allow_empty_phrase) {
        // The reference first removes one "<ground>" and one "<obj>"; a match cannot contain them
        // (its only '<' characters open its loc tokens), so there is nothing to do here.
        let Some(head) = phrase_head(&text[run.start..run.end], BOX_PHRASE_ENDS) else {
            continue;
        };
        let phrase = py_strip(head);
        if banned.contains(&phrase) {
            continue;
        }
        let label = ascii_only(phrase);
        let bins: Vec<u32> = RunTokens::Locs
            .tokens(&text, run.tokens_start)
            .into_iter()
            .filter_map(|t| if let CoordToken::Loc(bin) = t { Some(bin) } else { None })
            .collect();
        // Groups of four consecutive locs; a remainder of 1-3 is ignored, as by `finditer`.
        for b in bins.chunks_exact(4) {
            let bbox = BoundingBox::new(
                dequantize(b[0], size.width),
                dequantize(b[1], size.height),
                dequantize(b[2], size.width),
                dequantize(b[3], size.height),
            );
            out.push(LabelledBox { label: label.clone(), bbox });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn od_example_from_reference() {
        let text = "</s><s>car<loc_54><loc_375><loc_906><loc_707>door<loc_710><loc_276><loc_908><loc_537></s>";
        let boxes = parse_labelled_boxes(text, ImageSize::new(640, 480), false, &[]);
        assert_eq!(boxes.len(), 2);
        assert_eq!(boxes[0].label, "car");
        assert_eq!(boxes[0].bbox.to_array(), [34.0, 180.0, 580.0, 339.0]);
        assert_eq!(boxes[1].label, "door");
    }

    #[test]
    fn grounding_drops_banned_phrases() {
        let text = "the image<loc_0><loc_0><loc_999><loc_999>a dog<loc_100><loc_200><loc_300><loc_400>";
        let boxes = parse_labelled_boxes(text, ImageSize::new(1000, 1000), false, BANNED_GROUNDING_PHRASES);
        assert_eq!(boxes.len(), 1);
        assert_eq!(boxes[0].label, "a dog");
    }

    #[test]
    fn banned_list_is_sorted_for_readers() {
        assert!(BANNED_GROUNDING_PHRASES.windows(2).all(|w| w[0] < w[1]));
    }
}
