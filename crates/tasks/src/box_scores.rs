//! Box scores from greedy log-probabilities: `exp(mean log p)` over the generated tokens of a box's
//! label and its four `<loc_k>` (SCENES.md "Metrics"), mapped onto the parser's boxes.
//!
//! The generated ids are walked as the box parsers read the text: `<s>`, `</s>` and `<pad>` are
//! transparent (the parsers delete them), text tokens since the last loc run form the label, and a
//! run of locs gives one box per four (a remainder is ignored; later boxes of a run share its label).
//! Boxes the parser reports are then matched in order to walked boxes with the same coordinates, so
//! a parser rule the walk does not mirror can never shift scores onto the wrong box.

use std::collections::HashMap;

use crate::instances::{Instance, Shape};
use crate::quantize::dequantize;
use crate::tokenizer::Florence2Tokenizer;
use crate::{BoundingBox, ImageSize};

/// The token classes the walk needs.
pub struct TokenKinds {
    loc_bins: HashMap<u32, u32>,
    transparent: [u32; 3],
}

impl TokenKinds {
    pub fn new(tokenizer: &Florence2Tokenizer) -> Self {
        let loc_bins = (0..1000).filter_map(|bin| Some((tokenizer.loc_token_id(bin)?, bin))).collect();
        Self { loc_bins, transparent: [tokenizer.bos_id(), tokenizer.eos_id(), tokenizer.pad_id()] }
    }
}

/// A box found by the walk: its four bins and its score.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WalkedBox {
    pub bins: [u32; 4],
    pub score: f32,
}

/// `generated`: the ids after the decoder start token, `logprobs` one per id.
pub fn walk(generated: &[u32], logprobs: &[f32], kinds: &TokenKinds) -> Vec<WalkedBox> {
    let mut out = Vec::new();
    let mut label: Vec<f32> = Vec::new();
    let mut run: Vec<(u32, f32)> = Vec::new();
    let flush = |label: &[f32], run: &[(u32, f32)], out: &mut Vec<WalkedBox>| {
        if label.is_empty() {
            return; // a run without a phrase is no box for <OD> or grounding
        }
        for four in run.chunks_exact(4) {
            let lps: Vec<f32> = label.iter().copied().chain(four.iter().map(|t| t.1)).collect();
            let mean = lps.iter().map(|&v| v as f64).sum::<f64>() / lps.len() as f64;
            out.push(WalkedBox { bins: [four[0].0, four[1].0, four[2].0, four[3].0], score: mean.exp() as f32 });
        }
    };
    for (&id, &lp) in generated.iter().zip(logprobs) {
        if kinds.transparent.contains(&id) {
            continue;
        }
        if let Some(&bin) = kinds.loc_bins.get(&id) {
            run.push((bin, lp));
            continue;
        }
        if !run.is_empty() {
            flush(&label, &run, &mut out);
            label.clear();
            run.clear();
        }
        label.push(lp);
    }
    flush(&label, &run, &mut out);
    out
}

/// A walked box in image pixels, as the parsers dequantize its bins.
fn pixels(w: &WalkedBox, size: ImageSize) -> BoundingBox {
    BoundingBox::new(dequantize(w.bins[0], size.width), dequantize(w.bins[1], size.height), dequantize(w.bins[2], size.width), dequantize(w.bins[3], size.height))
}

/// Scores for the parser's `boxes` (in its order): each is matched to the next walked box with
/// the same pixel coordinates; `None` where there is none.
pub fn scores_for(boxes: &[BoundingBox], walked: &[WalkedBox], size: ImageSize) -> Vec<Option<f32>> {
    let mut next = 0;
    boxes
        .iter()
        .map(|b| {
            let found = (next..walked.len()).find(|&i| pixels(&walked[i], size) == *b)?;
            next = found + 1;
            Some(walked[found].score)
        })
        .collect()
}

/// The instances of one answer (`instances::apply`'s, in its order) get the scores of the walked
/// boxes with their coordinates; polygons, quads and boxes the walk did not find keep theirs.
pub fn score_instances(instances: &mut [Instance], walked: &[WalkedBox], size: ImageSize) {
    let boxes: Vec<(usize, BoundingBox)> =
        instances.iter().enumerate().filter_map(|(i, inst)| if let Shape::Box(b) = inst.shape { Some((i, b)) } else { None }).collect();
    let just_boxes: Vec<BoundingBox> = boxes.iter().map(|b| b.1).collect();
    for ((i, _), score) in boxes.iter().zip(scores_for(&just_boxes, walked, size)) {
        if score.is_some() {
            instances[*i].score = score;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Ids: 0 <s>, 2 </s>, 1 <pad>, 100 + k <loc_k>, other ids are text.
    fn kinds() -> TokenKinds {
        TokenKinds { loc_bins: (0..1000).map(|k| (100 + k, k)).collect(), transparent: [0, 2, 1] }
    }

    #[test]
    fn label_and_four_locs_per_box() {
        // <s> red circle <loc 1..4> blue <pad> square <loc 5..12> </s>
        let ids = [0, 7, 8, 101, 102, 103, 104, 9, 1, 10, 105, 106, 107, 108, 109, 110, 111, 112, 2];
        let lps = [-9.0, -1.0, -1.0, -0.5, -0.5, -0.5, -0.5, -2.0, -9.0, -2.0, -0.1, -0.1, -0.1, -0.1, -0.2, -0.2, -0.2, -0.2, -9.0];
        let w = walk(&ids, &lps, &kinds());
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].bins, [1, 2, 3, 4]);
        assert!((w[0].score - (-4.0f32 / 6.0).exp()).abs() < 1e-6); // (-1 -1 -0.5 * 4) / 6
        assert_eq!(w[1].bins, [5, 6, 7, 8]);
        assert!((w[1].score - (-4.4f32 / 6.0).exp()).abs() < 1e-6); // (-2 -2 -0.1 * 4) / 6
        assert!((w[2].score - (-4.8f32 / 6.0).exp()).abs() < 1e-6); // shared label, its own locs
    }

    #[test]
    fn runs_without_a_label_or_short_runs_give_no_box() {
        let ids = [101, 102, 103, 104, 7, 105, 106, 107];
        let w = walk(&ids, &[-1.0; 8], &kinds());
        assert!(w.is_empty());
    }

    #[test]
    fn scores_follow_coordinates() {
        let size = ImageSize::new(1000, 1000);
        let walked = vec![WalkedBox { bins: [1, 2, 3, 4], score: 0.9 }, WalkedBox { bins: [5, 6, 7, 8], score: 0.4 }];
        let b = |k: [u32; 4]| BoundingBox::new(dequantize(k[0], 1000), dequantize(k[1], 1000), dequantize(k[2], 1000), dequantize(k[3], 1000));
        // The parser dropped the first box: the second still gets its own score.
        assert_eq!(scores_for(&[b([5, 6, 7, 8])], &walked, size), vec![Some(0.4)]);
        assert_eq!(scores_for(&[b([1, 2, 3, 4]), b([9, 9, 9, 9])], &walked, size), vec![Some(0.9), None]);
    }

    #[test]
    fn instances_take_the_scores_of_their_boxes() {
        let size = ImageSize::new(1000, 1000);
        let walked = vec![WalkedBox { bins: [1, 2, 3, 4], score: 0.9 }, WalkedBox { bins: [5, 6, 7, 8], score: 0.4 }];
        let b = |k: [u32; 4]| BoundingBox::new(dequantize(k[0], 1000), dequantize(k[1], 1000), dequantize(k[2], 1000), dequantize(k[3], 1000));
        let mut instances = vec![
            Instance { label: "a".into(), shape: Shape::Box(b([5, 6, 7, 8])), score: None },
            Instance { label: "mask".into(), shape: Shape::Polygons(vec![]), score: Some(0.7) },
            Instance { label: "b".into(), shape: Shape::Box(b([9, 9, 9, 9])), score: None },
        ];
        score_instances(&mut instances, &walked, size);
        let scores: Vec<Option<f32>> = instances.iter().map(|i| i.score).collect();
        assert_eq!(scores, vec![Some(0.4), Some(0.7), None]);
    }
}
