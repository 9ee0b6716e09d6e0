//! Detection and grounding metrics for `visionllm eval` (training/demo/SCENES.md "Metrics"):
//! COCO-style AP at IoU 0.5 with 101 recall points (pycocotools' matching and interpolation),
//! one-to-one box matching for grounding, and means.

use std::collections::{BTreeMap, BTreeSet};

use visionllm_tasks::BoundingBox;

/// A predicted box of one image.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    pub image: usize,
    pub class: String,
    pub bbox: BoundingBox,
    pub score: f32,
}

/// A true box of one image.
#[derive(Clone, Debug, PartialEq)]
pub struct Truth {
    pub image: usize,
    pub class: String,
    pub bbox: BoundingBox,
}

/// pycocotools' greedy matching in one image for one class: detections in descending score
/// (stable), each takes the unmatched truth with the highest IoU >= `threshold` (a duplicate of an
/// already matched truth is a false positive). Returns, per detection in the given order, whether
/// it is a true positive.
pub fn match_detections(dets: &[(f32, BoundingBox)], truths: &[BoundingBox], threshold: f32) -> Vec<bool> {
    let mut order: Vec<usize> = (0..dets.len()).collect();
    order.sort_by(|&a, &b| dets[b].0.total_cmp(&dets[a].0));
    let mut taken = vec![false; truths.len()];
    let mut tp = vec![false; dets.len()];
    for d in order {
        let mut best = (threshold, None);
        for (g, truth) in truths.iter().enumerate() {
            if taken[g] {
                continue;
            }
            let iou = dets[d].1.iou(*truth);
            if iou >= best.0 {
                best = (iou, Some(g));
            }
        }
        if let (_, Some(g)) = best {
            taken[g] = true;
            tp[d] = true;
        }
    }
    tp
}

/// COCO's 101-point interpolated AP from detections `(score, true positive)` pooled over images
/// and the number of true boxes: precision made non-increasing from the right, sampled at recall
/// 0, 0.01, ..., 1 (the first detection reaching each recall; 0 beyond the last).
pub fn average_precision(dets: &[(f32, bool)], num_truths: usize) -> f64 {
    if num_truths == 0 {
        return 0.0;
    }
    let mut order: Vec<usize> = (0..dets.len()).collect();
    order.sort_by(|&a, &b| dets[b].0.total_cmp(&dets[a].0)); // stable, like mergesort
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut recall = Vec::with_capacity(dets.len());
    let mut precision = Vec::with_capacity(dets.len());
    for &i in &order {
        if dets[i].1 {
            tp += 1;
        } else {
            fp += 1;
        }
        recall.push(tp as f64 / num_truths as f64);
        precision.push(tp as f64 / (tp + fp) as f64);
    }
    for i in (1..precision.len()).rev() {
        if precision[i] > precision[i - 1] {
            precision[i - 1] = precision[i];
        }
    }
    // np.linspace(0, 1, 101) is i * 0.01.
    let total: f64 = (0..=100)
        .map(|k| {
            let r = k as f64 * 0.01;
            recall.iter().position(|&rc| rc >= r).map_or(0.0, |i| precision[i])
        })
        .sum();
    total / 101.0
}

/// AP@`threshold` for every class that has a true box; detections of other classes are ignored.
pub fn ap_per_class(truths: &[Truth], dets: &[Detection], threshold: f32) -> BTreeMap<String, f64> {
    let classes: BTreeSet<&str> = truths.iter().map(|t| t.class.as_str()).collect();
    let images: BTreeSet<usize> = truths.iter().map(|t| t.image).chain(dets.iter().map(|d| d.image)).collect();
    let mut out = BTreeMap::new();
    for class in classes {
        let mut pooled = Vec::new();
        let mut num_truths = 0;
        for &image in &images {
            let t: Vec<BoundingBox> = truths.iter().filter(|t| t.image == image && t.class == class).map(|t| t.bbox).collect();
            let d: Vec<(f32, BoundingBox)> =
                dets.iter().filter(|d| d.image == image && d.class == class).map(|d| (d.score, d.bbox)).collect();
            num_truths += t.len();
            let tp = match_detections(&d, &t, threshold);
            pooled.extend(d.iter().zip(tp).map(|(d, tp)| (d.0, tp)));
        }
        out.insert(class.to_string(), average_precision(&pooled, num_truths));
    }
    out
}

/// Whether the predicted boxes match the true ones one to one at IoU >= `threshold`: the same
/// number, and a perfect bipartite matching exists (augmenting paths).
pub fn one_to_one(pred: &[BoundingBox], truth: &[BoundingBox], threshold: f32) -> bool {
    if pred.len() != truth.len() {
        return false;
    }
    let ok = |p: usize, t: usize| pred[p].iou(truth[t]) >= threshold;
    let mut owner: Vec<Option<usize>> = vec![None; truth.len()];
    fn augment(p: usize, seen: &mut [bool], owner: &mut [Option<usize>], ok: &dyn Fn(usize, usize) -> bool) -> bool {
        for t in 0..owner.len() {
            if ok(p, t) && !seen[t] {
                seen[t] = true;
                if owner[t].is_none_or(|q| augment(q, seen, owner, ok)) {
                    owner[t] = Some(p);
                    return true;
                }
            }
        }
        false
    }
    (0..pred.len()).all(|p| augment(p, &mut vec![false; truth.len()], &mut owner, &ok))
}

pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: f32, y: f32, w: f32) -> BoundingBox {
        BoundingBox::new(x, y, x + w, y + w)
    }

    fn truth(image: usize, class: &str, bbox: BoundingBox) -> Truth {
        Truth { image, class: class.into(), bbox }
    }

    fn det(image: usize, class: &str, bbox: BoundingBox, score: f32) -> Detection {
        Detection { image, class: class.into(), bbox, score }
    }

    #[test]
    fn perfect_detector_scores_one() {
        let truths = vec![truth(0, "red circle", b(0.0, 0.0, 10.0)), truth(1, "red circle", b(50.0, 50.0, 20.0)), truth(1, "blue star", b(0.0, 0.0, 30.0))];
        let dets: Vec<Detection> = truths.iter().map(|t| det(t.image, &t.class, t.bbox, 0.5)).collect();
        let ap = ap_per_class(&truths, &dets, 0.5);
        assert_eq!(ap.len(), 2);
        assert!(ap.values().all(|&v| (v - 1.0).abs() < 1e-12), "{ap:?}");
        // No detections: 0; classes without truths are not reported.
        let ap = ap_per_class(&truths, &[det(0, "green square", b(0.0, 0.0, 10.0), 0.9)], 0.5);
        assert_eq!(ap.keys().collect::<Vec<_>>(), ["blue star", "red circle"]);
        assert!(ap.values().all(|&v| v == 0.0));
    }

    #[test]
    fn false_positive_above_the_true_positive() {
        // One truth; a wrong box scored 0.9, the right one 0.8: precision 0, then 1/2 at recall 1.
        // Interpolated precision is 1/2 at every recall point: AP = 0.5.
        let truths = vec![truth(0, "c", b(0.0, 0.0, 10.0))];
        let dets = vec![det(0, "c", b(50.0, 50.0, 10.0), 0.9), det(0, "c", b(0.0, 0.0, 10.0), 0.8)];
        assert!((ap_per_class(&truths, &dets, 0.5)["c"] - 0.5).abs() < 1e-12);
        // Two truths; hits at 0.9 and 0.7, a miss at 0.8: recall .5/.5/1, precision 1/.5/.667
        // -> interpolated 1 for recall 0..=0.5 (51 points), 2/3 for 0.51..=1 (50 points).
        let truths = vec![truth(0, "c", b(0.0, 0.0, 10.0)), truth(1, "c", b(0.0, 0.0, 10.0))];
        let dets = vec![det(0, "c", b(0.0, 0.0, 10.0), 0.9), det(0, "c", b(60.0, 0.0, 10.0), 0.8), det(1, "c", b(1.0, 0.0, 10.0), 0.7)];
        let want = (51.0 + 50.0 * 2.0 / 3.0) / 101.0;
        assert!((ap_per_class(&truths, &dets, 0.5)["c"] - want).abs() < 1e-12);
    }

    #[test]
    fn duplicates_are_false_positives() {
        let t = [b(0.0, 0.0, 10.0), b(40.0, 0.0, 10.0)];
        // Both detections overlap truth 0; the lower-scored one is a duplicate.
        let d = [(0.6, b(0.0, 0.0, 10.0)), (0.9, b(0.5, 0.0, 10.0))];
        assert_eq!(match_detections(&d, &t, 0.5), vec![false, true]);
        // Truth A hit (0.9), duplicate of A (0.8), truth B hit (0.7): same AP as a miss in between.
        let truths = vec![truth(0, "c", t[0]), truth(0, "c", t[1])];
        let dets = vec![det(0, "c", t[0], 0.9), det(0, "c", b(0.5, 0.0, 10.0), 0.8), det(0, "c", t[1], 0.7)];
        let want = (51.0 + 50.0 * 2.0 / 3.0) / 101.0;
        assert!((ap_per_class(&truths, &dets, 0.5)["c"] - want).abs() < 1e-12);
    }

    #[test]
    fn matching_takes_the_best_free_truth_at_iou_half() {
        // IoU exactly 0.5 matches (pycocotools: iou >= t): [0,10]x[0,10] vs [0,10]x[0,20] -> 100/200.
        let t = [BoundingBox::new(0.0, 0.0, 10.0, 20.0)];
        assert_eq!(match_detections(&[(1.0, b(0.0, 0.0, 10.0))], &t, 0.5), vec![true]);
        assert_eq!(match_detections(&[(1.0, b(0.0, 0.0, 9.0))], &t, 0.5), vec![false]);
    }

    #[test]
    fn grounding_one_to_one() {
        let t = [b(0.0, 0.0, 10.0), b(5.0, 0.0, 10.0)];
        // The first prediction fits both truths, the second only truth 0: needs the augmenting path.
        let p = [b(2.5, 0.0, 10.0), b(0.0, 0.0, 10.0)];
        assert!(one_to_one(&p, &t, 0.5));
        assert!(!one_to_one(&[b(0.0, 0.0, 10.0), b(0.0, 0.0, 10.0)], &[b(0.0, 0.0, 10.0), b(50.0, 0.0, 10.0)], 0.5));
        assert!(!one_to_one(&p[..1], &t, 0.5));
        assert!(one_to_one(&[], &[], 0.5));
        assert_eq!(mean(&[1.0, 0.0]), Some(0.5));
        assert_eq!(mean(&[]), None);
    }
}
