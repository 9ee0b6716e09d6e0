//! Rendering: the background at every pixel centre (clamped, rounded), then every shape painted
//! over it in order with hard edges.

use std::f64::consts::PI;

use crate::rng::Rng;
use crate::scene::{Pattern, Scene};

impl Scene {
    /// RGB bytes, row-major, `size * size * 3`.
    pub fn render(&self) -> Vec<u8> {
        let s = self.size as usize;
        let mut out = vec![0u8; s * s * 3];
        let base = self.background.base;
        let mut noise = match self.background.pattern {
            Pattern::Noise { seed, .. } => Some(Rng::new(seed)),
            _ => None,
        };
        for y in 0..s {
            for x in 0..s {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let shared = match self.background.pattern {
                    Pattern::Plain | Pattern::Noise { .. } => 0.0,
                    Pattern::Stripes { amplitude, wavelength, angle } => {
                        amplitude * (2.0 * PI * (px * angle.cos() + py * angle.sin()) / wavelength).sin()
                    }
                    Pattern::Checker { amplitude, cell } => {
                        let parity = ((px / cell).floor() + (py / cell).floor()).rem_euclid(2.0);
                        if parity == 0.0 {
                            amplitude
                        } else {
                            -amplitude
                        }
                    }
                };
                for c in 0..3 {
                    let mut v = base[c] + shared;
                    if let (Some(rng), Pattern::Noise { sigma, .. }) = (noise.as_mut(), &self.background.pattern) {
                        v += sigma * rng.normal();
                    }
                    out[(y * s + x) * 3 + c] = v.clamp(0.0, 255.0).round() as u8;
                }
            }
        }
        for shape in &self.shapes {
            let (xs, ys) = shape.pixel_span(self.size);
            for y in ys {
                for x in xs.clone() {
                    if shape.contains(x as f64 + 0.5, y as f64 + 0.5) {
                        let i = (y as usize * s + x as usize) * 3;
                        out[i..i + 3].copy_from_slice(&shape.rgb);
                    }
                }
            }
        }
        for word in &self.words {
            let [x1, y1, x2, y2] = word.bbox().map(|v| v as u32);
            for y in y1..y2.min(self.size) {
                for x in x1..x2.min(self.size) {
                    if word.inks(x, y) {
                        let i = (y as usize * s + x as usize) * 3;
                        out[i..i + 3].copy_from_slice(&word.ink);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::classes::{Colour, Kind};
    use crate::scene::{Background, Pattern, Scene};
    use crate::shapes::Shape;

    fn px(img: &[u8], size: usize, x: usize, y: usize) -> [u8; 3] {
        let i = (y * size + x) * 3;
        [img[i], img[i + 1], img[i + 2]]
    }

    #[test]
    fn shapes_paint_over_the_background_in_order() {
        let red = Shape::new(Kind::Square, Colour::Red, 10.0, 10.0, 5.0 * 2f64.sqrt(), 0.0, None);
        let blue = Shape::new(Kind::Circle, Colour::Blue, 15.0, 10.0, 3.0, 0.0, None);
        let mut scene = Scene::from_shapes(32, vec![red, blue]);
        scene.background = Background { base: [100.4, 300.0, -5.0], pattern: Pattern::Plain };
        let img = scene.render();
        assert_eq!(img.len(), 32 * 32 * 3);
        assert_eq!(px(&img, 32, 0, 0), [100, 255, 0]); // rounded and clamped
        assert_eq!(px(&img, 32, 6, 10), [215, 40, 40]); // red square (5..15)
        assert_eq!(px(&img, 32, 14, 10), [45, 85, 215]); // blue circle on top
        assert_eq!(px(&img, 32, 17, 10), [45, 85, 215]); // circle outside the square
        assert_eq!(px(&img, 32, 4, 10), [100, 255, 0]);
    }

    #[test]
    fn patterns_hand_checked() {
        let mut scene = Scene::from_shapes(16, vec![]);
        scene.background = Background { base: [100.0; 3], pattern: Pattern::Checker { amplitude: 10.0, cell: 8.0 } };
        let img = scene.render();
        assert_eq!(px(&img, 16, 0, 0), [110; 3]);
        assert_eq!(px(&img, 16, 8, 0), [90; 3]);
        assert_eq!(px(&img, 16, 8, 8), [110; 3]);
        // Vertical stripes (angle 0), wavelength 4: x centre 0.5 -> sin(pi/4), 1.5 -> sin(3 pi/4), 2.5 -> sin(5 pi/4).
        scene.background.pattern = Pattern::Stripes { amplitude: 20.0, wavelength: 4.0, angle: 0.0 };
        let img = scene.render();
        let a = 20.0 * std::f64::consts::FRAC_1_SQRT_2;
        assert_eq!(px(&img, 16, 0, 5)[0], (100.0 + a).round() as u8);
        assert_eq!(px(&img, 16, 1, 9)[0], (100.0 + a).round() as u8);
        assert_eq!(px(&img, 16, 2, 0)[0], (100.0 - a).round() as u8);
        // Noise: deterministic, channels independent, roughly sigma.
        scene.background.pattern = Pattern::Noise { sigma: 10.0, seed: 5 };
        let img = scene.render();
        assert_eq!(img, scene.render());
        let mean = img.iter().map(|&v| v as f64).sum::<f64>() / img.len() as f64;
        let sd = (img.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / img.len() as f64).sqrt();
        assert!((mean - 100.0).abs() < 2.0 && (sd - 10.0).abs() < 1.5, "mean {mean} sd {sd}");
        assert!(img.chunks(3).filter(|p| p[0] != p[1]).count() > 200);
    }

    #[test]
    fn words_paint_their_glyph_cells_in_ink() {
        use crate::words::{Word, INKS};
        let mut scene = Scene::from_shapes(32, vec![]);
        scene.words = vec![Word { text: "L".into(), x: 3, y: 2, scale: 2, ink: INKS[1] }];
        let img = scene.render();
        // L: the left column and the bottom row, 2x2 pixels a cell, from (3, 2) to (13, 16).
        assert_eq!(px(&img, 32, 3, 2), [235; 3]);
        assert_eq!(px(&img, 32, 4, 15), [235; 3]);
        assert_eq!(px(&img, 32, 12, 15), [235; 3]);
        assert_eq!(px(&img, 32, 5, 2), [128; 3]);
        assert_eq!(px(&img, 32, 12, 13), [128; 3]);
        assert_eq!(px(&img, 32, 13, 15), [128; 3]);
        let inked = img.chunks(3).filter(|p| *p == [235; 3]).count();
        assert_eq!(inked, 11 * 4, "7 + 4 cells of L, 4 pixels each");
    }

    #[test]
    fn generated_scenes_render_deterministically() {
        let a = Scene::generate(1_000_000_000, 224, 1..=4);
        assert_eq!(a.render(), Scene::generate(1_000_000_000, 224, 1..=4).render());
        assert_ne!(a.render(), Scene::generate(1_000_000_001, 224, 1..=4).render());
    }
}
