//! A scene: background parameters and shapes, drawn from a seed exactly as SCENES.md describes
//! (the distribution, not Python's random stream).

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::classes::{Colour, Kind};
use crate::rng::Rng;
use crate::shapes::{box_offsets, Shape};
use crate::texts::quantize;
use crate::words::{draw_words, Word};

/// The scene size the demo model uses.
pub const DEFAULT_SIZE: u32 = 224;
/// Shapes per scene by default.
pub const DEFAULT_SHAPES: RangeInclusive<usize> = 1..=4;
/// First evaluation seed; training seeds stay below.
pub const EVAL_SEED_START: u64 = 1_000_000_000;
/// A new shape is re-drawn when its box overlaps an earlier one's by more than this IoU.
pub const MAX_BOX_IOU: f64 = 0.2;
/// Draws per shape before the scene keeps fewer shapes.
pub const PLACEMENT_TRIES: usize = 50;

/// What is added to the base colour at each pixel centre (x, y).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Pattern {
    Plain,
    /// Independent `N(0, sigma)` per channel and pixel, from a generator seeded with `seed`.
    Noise { sigma: f64, seed: u64 },
    /// `amplitude * sin(2 pi (x cos(angle) + y sin(angle)) / wavelength)`.
    Stripes { amplitude: f64, wavelength: f64, angle: f64 },
    /// `+amplitude` or `-amplitude` by the parity of `floor(x / cell) + floor(y / cell)`.
    Checker { amplitude: f64, cell: f64 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Background {
    /// Grey plus a per-channel offset (floats; clamped and rounded per pixel).
    pub base: [f64; 3],
    pub pattern: Pattern,
}

impl Default for Background {
    fn default() -> Self {
        Background { base: [128.0; 3], pattern: Pattern::Plain }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    pub seed: u64,
    pub size: u32,
    pub background: Background,
    /// In painting order (later shapes on top).
    pub shapes: Vec<Shape>,
    /// Painted after the shapes, never over one (`words`); none unless asked for.
    pub words: Vec<Word>,
}

/// IoU of two `[x1, y1, x2, y2]` boxes (0 when the union is empty).
pub fn box_iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

fn draw_background(rng: &mut Rng) -> Background {
    let grey = rng.uniform(70.0, 190.0);
    let base = [0; 3].map(|_| grey + rng.uniform(-20.0, 20.0));
    let pattern = match rng.index(4) {
        0 => Pattern::Plain,
        1 => Pattern::Noise { sigma: rng.uniform(4.0, 20.0), seed: rng.next_u64() },
        2 => Pattern::Stripes {
            amplitude: rng.uniform(10.0, 35.0),
            wavelength: rng.uniform(8.0, 40.0),
            angle: rng.uniform(0.0, std::f64::consts::PI),
        },
        _ => Pattern::Checker { amplitude: rng.uniform(10.0, 35.0), cell: rng.uniform(8.0, 32.0) },
    };
    Background { base, pattern }
}

/// One candidate shape: class, size, rotation, colour jitter, then a centre that keeps the box
/// inside `[1, S - 1]`.
fn draw_shape(rng: &mut Rng, size: u32) -> Shape {
    let s = size as f64;
    let kind = Kind::ALL[rng.index(4)];
    let colour = Colour::ALL[rng.index(4)];
    let r = rng.uniform(0.07 * s, 0.2 * s);
    let theta = if kind == Kind::Circle { 0.0 } else { rng.uniform(0.0, kind.period()) };
    let base = colour.rgb();
    let rgb = [0, 1, 2].map(|c| (base[c] as i64 + rng.int(-20, 20)).clamp(0, 255) as u8);
    let [x0, y0, x1, y1] = box_offsets(kind, r, theta);
    let cx = rng.uniform(1.0 - x0, s - 1.0 - x1);
    let cy = rng.uniform(1.0 - y0, s - 1.0 - y1);
    Shape::new(kind, colour, cx, cy, r, theta, Some(rgb))
}

impl Scene {
    /// The scene of `seed`: `size` x `size`, a shape count uniform in `shapes`, no words.
    pub fn generate(seed: u64, size: u32, shapes: RangeInclusive<usize>) -> Scene {
        Scene::generate_with_words(seed, size, shapes, 0..=0)
    }

    /// The scene of `seed` with a word count uniform in `words`, drawn after the shapes from the
    /// same generator, so the shapes and background of a seed are those of `generate`.
    pub fn generate_with_words(seed: u64, size: u32, shapes: RangeInclusive<usize>, words: RangeInclusive<usize>) -> Scene {
        let mut rng = Rng::new(seed);
        let (lo, hi) = (*shapes.start(), *shapes.end().max(shapes.start()));
        let n = rng.int(lo as i64, hi as i64) as usize;
        let background = draw_background(&mut rng);
        let mut placed: Vec<Shape> = Vec::with_capacity(n);
        for _ in 0..n {
            for _ in 0..PLACEMENT_TRIES {
                let shape = draw_shape(&mut rng, size);
                if placed.iter().all(|p| box_iou(p.bbox, shape.bbox) <= MAX_BOX_IOU) {
                    placed.push(shape);
                    break;
                }
            }
        }
        let words = match *words.end() {
            0 => Vec::new(),
            hi => {
                let n = rng.int(*words.start().min(&hi) as i64, hi as i64) as usize;
                let taken: Vec<[f64; 4]> = placed.iter().map(|s| s.bbox).collect();
                draw_words(&mut rng, size, n, &taken)
            }
        };
        Scene { seed, size, background, shapes: placed, words }
    }

    /// A scene from given shapes (plain grey background), e.g. parameters from the Python side.
    pub fn from_shapes(size: u32, shapes: Vec<Shape>) -> Scene {
        Scene { seed: 0, size, background: Background::default(), shapes, words: Vec::new() }
    }

    /// Shape indices in reading order: by the box's quantized `y1`, then its quantized `x1`, then
    /// painting order (as `training/demo/scenes.py`; SCENES.md only says y1 is quantized).
    pub fn reading_order(&self) -> Vec<usize> {
        let key = |i: usize| {
            let b = self.shapes[i].bbox;
            (quantize(b[1], self.size), quantize(b[0], self.size), i)
        };
        let mut order: Vec<usize> = (0..self.shapes.len()).collect();
        order.sort_by_key(|&i| key(i));
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_scene_and_seeds_differ() {
        let a = Scene::generate(42, 224, 1..=4);
        assert_eq!(a, Scene::generate(42, 224, 1..=4));
        let others: Vec<Scene> = (43..53).map(|s| Scene::generate(s, 224, 1..=4)).collect();
        assert!(others.iter().all(|o| o.shapes != a.shapes));
    }

    #[test]
    fn shapes_follow_the_distribution_rules() {
        let mut counts = [0usize; 5];
        for seed in 0..400 {
            let scene = Scene::generate(seed, 224, 1..=4);
            counts[scene.shapes.len()] += 1;
            for (i, s) in scene.shapes.iter().enumerate() {
                assert!(s.r >= 0.07 * 224.0 && s.r < 0.2 * 224.0, "r {}", s.r);
                assert!(s.theta >= 0.0 && (s.theta < s.kind.period() || s.theta == 0.0));
                assert!(s.bbox[0] >= 1.0 - 1e-9 && s.bbox[1] >= 1.0 - 1e-9, "{:?}", s.bbox);
                assert!(s.bbox[2] <= 223.0 + 1e-9 && s.bbox[3] <= 223.0 + 1e-9, "{:?}", s.bbox);
                let base = s.colour.rgb();
                assert!((0..3).all(|c| (s.rgb[c] as i32 - base[c] as i32).abs() <= 20));
                for earlier in &scene.shapes[..i] {
                    assert!(box_iou(earlier.bbox, s.bbox) <= MAX_BOX_IOU);
                }
            }
        }
        // 1..=4 uniform (a few scenes may keep fewer shapes after 50 tries).
        assert_eq!(counts[0], 0);
        assert!(counts[1..].iter().all(|&c| c > 60), "{counts:?}");
        let one = Scene::generate(9, 224, 2..=2);
        assert_eq!(one.shapes.len(), 2);
    }

    #[test]
    fn reading_order_compares_quantized_y1_then_quantized_x1() {
        let sq = |cx: f64, cy: f64| Shape::new(Kind::Square, Colour::Red, cx, cy, 10.0 * 2f64.sqrt(), 0.0, None);
        // y1 = 100.1 and 100.0 fall in the same bin at S = 224 (floor(v * 1000 / 224) = 446):
        // x1 decides. y1 = 110 is a later bin.
        let scene = Scene::from_shapes(224, vec![sq(150.0, 110.1), sq(50.0, 110.0), sq(20.0, 120.0), sq(200.0, 30.0)]);
        assert_eq!(quantize(100.1, 224), quantize(100.0, 224));
        assert_eq!(scene.reading_order(), vec![3, 1, 0, 2]);
        // x1 = 40.2 and 40.1 share bin 179 too: painting order decides, not the raw x1.
        let scene = Scene::from_shapes(224, vec![sq(50.2, 110.0), sq(50.1, 110.0)]);
        assert_eq!(quantize(40.2, 224), quantize(40.1, 224));
        assert_eq!(scene.reading_order(), vec![0, 1]);
    }

    #[test]
    fn words_come_after_the_shapes_of_the_same_seed() {
        let mut with_words = 0;
        for seed in 0..50 {
            let plain = Scene::generate(seed, 224, 1..=4);
            let worded = Scene::generate_with_words(seed, 224, 1..=4, 1..=3);
            assert_eq!((&plain.background, &plain.shapes), (&worded.background, &worded.shapes));
            assert!(plain.words.is_empty() && worded.words.len() <= 3);
            with_words += worded.words.len();
            for w in &worded.words {
                assert!(worded.shapes.iter().all(|s| box_iou(s.bbox, w.bbox()) == 0.0), "{w:?}");
            }
        }
        assert!(with_words >= 70, "{with_words} words in 50 scenes of 1..=3");
    }

    #[test]
    fn box_iou_hand_checked() {
        assert_eq!(box_iou([0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 15.0, 10.0]), 50.0 / 150.0);
        assert_eq!(box_iou([0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0]), 0.0);
    }
}
