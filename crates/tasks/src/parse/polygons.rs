//! Polygons: `<REFERRING_EXPRESSION_SEGMENTATION>`, `<REGION_TO_SEGMENTATION>` and the polygon
//! branch of `<OPEN_VOCABULARY_DETECTION>`, as the reference's
//! `parse_description_with_polygons_from_text_and_spans` (without a box at the start).

use super::scan::{drop_sequence_tokens, loc_at, phrase_head, phrase_runs, py_strip, RunTokens, POLYGON_PHRASE_ENDS};
use super::LabelledPolygons;
use crate::geometry::{ImageSize, Polygon};
use crate::quantize::dequantize;

pub fn parse_labelled_polygons(text: &str, size: ImageSize, allow_empty_phrase: bool) -> Vec<LabelledPolygons> {
    let text = drop_sequence_tokens(text);
    let mut out = Vec::new();
    for run in phrase_runs(&text, RunTokens::LocsAndPolygonMarks, allow_empty_phrase) {
        let phrase_text = &text[run.start..run.end];
        // `re.sub(r"^<loc_\d+>", "", count=1)`: only for finding the phrase.
        let without_first_loc = loc_at(phrase_text, 0).map_or(phrase_text, |(_, end)| &phrase_text[end..]);
        if without_first_loc.is_empty() && !allow_empty_phrase {
            continue;
        }
        // The phrase runs up to the first `<loc_`/`<poly>`, so it can be "<sep></poly>": kept as is
        // (no ASCII reduction for polygons in the reference).
        let Some(head) = phrase_head(without_first_loc, POLYGON_PHRASE_ENDS) else {
            continue;
        };
        let label = py_strip(head).to_string();
        for instance in polygon_instances(phrase_text) {
            let polygons = loc_runs_before_sep_or_end(instance)
                .into_iter()
                .map(|bins| {
                    let coords: Vec<f32> = bins
                        .chunks_exact(2) // an odd trailing coordinate is dropped
                        .flat_map(|xy| [dequantize(xy[0], size.width), dequantize(xy[1], size.height)])
                        .collect();
                    Polygon::from_flat(&coords)
                })
                .collect::<Vec<_>>();
            if !polygons.is_empty() {
                out.push(LabelledPolygons { label: label.clone(), polygons });
            }
        }
    }
    out
}

/// `<poly>(.*?)</poly>` contents when the match has both marks, else the whole match.
fn polygon_instances(phrase_text: &str) -> Vec<&str> {
    if !(phrase_text.contains("<poly>") && phrase_text.contains("</poly>")) {
        return vec![phrase_text];
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(open) = phrase_text[pos..].find("<poly>") {
        let content_start = pos + open + "<poly>".len();
        let Some(close) = phrase_text[content_start..].find("</poly>") else {
            break;
        };
        out.push(&phrase_text[content_start..content_start + close]);
        pos = content_start + close + "</poly>".len();
    }
    out
}

/// `re.finditer(r"((?:<loc_\d+>)+)(?:<sep>|$)", s)`: the bins of every run of locs that is followed
/// by `<sep>` or ends the string. (`$` could also match before a final '\n', but these strings
/// always end in a token.)
fn loc_runs_before_sep_or_end(s: &str) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let Some(lt) = s[i..].find('<').map(|off| i + off) else {
            break;
        };
        let mut bins = Vec::new();
        let mut end = lt;
        while let Some((bin, next)) = loc_at(s, end) {
            bins.push(bin);
            end = next;
        }
        if bins.is_empty() {
            i = lt + 1;
        } else if end == s.len() {
            out.push(bins);
            break;
        } else if s[end..].starts_with("<sep>") {
            out.push(bins);
            i = end + "<sep>".len();
        } else {
            i = end; // shorter suffixes of this run are followed by the same non-separator
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_odd_coordinates_and_odd_labels() {
        let size = ImageSize::new(1000, 1000);
        let p = parse_labelled_polygons("<loc_1><loc_2><loc_3><loc_4><sep><loc_5><loc_6><loc_7>", size, true);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].polygons.len(), 2);
        assert_eq!(p[0].polygons[0].to_flat(), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(p[0].polygons[1].to_flat(), vec![5.0, 6.0]);
        let p = parse_labelled_polygons("<sep></poly><loc_1><loc_2><loc_3>", size, true);
        assert_eq!(p[0].label, "<sep></poly>");
        // A single loc leaves an empty polygon, which the reference keeps.
        let p = parse_labelled_polygons("<poly><loc_1></poly><sep><sep>", size, true);
        assert_eq!(p[0].polygons, vec![Polygon::default()]);
    }

    #[test]
    fn open_vocabulary_instances() {
        let size = ImageSize::new(1000, 1000);
        let text = "a cat<poly><loc_1><loc_2><loc_3><loc_4><loc_5><loc_6></poly><poly><loc_7><loc_8></poly>";
        let p = parse_labelled_polygons(text, size, false);
        assert_eq!(p.len(), 2);
        assert!(p.iter().all(|i| i.label == "a cat"));
    }
}
