//! One shape: its parameters, vertices (in SCENES.md's order, clockwise on screen), box, area,
//! inside test at pixel centres and its own (unoccluded) mask.

use std::f64::consts::PI;

use crate::classes::{Class, Colour, Kind};
use crate::texts::quantize;

/// Star inner radius as a fraction of the circumradius.
pub const STAR_INNER: f64 = 0.45;
/// Vertices of a circle's polygon (targets and masks of circles use it; rendering uses the disc).
pub const CIRCLE_VERTICES: usize = 16;

#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    pub kind: Kind,
    pub colour: Colour,
    /// Painted colour: the class colour plus jitter, clamped.
    pub rgb: [u8; 3],
    pub cx: f64,
    pub cy: f64,
    /// Circumradius, pixels.
    pub r: f64,
    /// Rotation, radians (0 for circles).
    pub theta: f64,
    /// Polygon vertices `[x, y]` in pixels, k = 0.. (circle: its 16-gon).
    pub vertices: Vec<[f64; 2]>,
    /// `[x1, y1, x2, y2]` in pixels (floats).
    pub bbox: [f64; 4],
    /// pi r^2 for circles, else the polygon's area.
    pub area: f64,
}

/// Vertex offsets from the centre, k = 0.. (SCENES.md "Shapes"); y grows downwards, so
/// increasing angle turns clockwise on screen.
pub fn vertex_offsets(kind: Kind, r: f64, theta: f64) -> Vec<[f64; 2]> {
    let at = |angle: f64, radius: f64| [radius * angle.cos(), radius * angle.sin()];
    match kind {
        Kind::Square => (0..4).map(|k| at(theta + PI / 4.0 + k as f64 * PI / 2.0, r)).collect(),
        Kind::Triangle => (0..3).map(|k| at(theta - PI / 2.0 + k as f64 * 2.0 * PI / 3.0, r)).collect(),
        Kind::Star => (0..10)
            .map(|k| at(theta - PI / 2.0 + k as f64 * PI / 5.0, if k % 2 == 0 { r } else { STAR_INNER * r }))
            .collect(),
        Kind::Circle => (0..CIRCLE_VERTICES)
            .map(|k| at(-PI / 2.0 + k as f64 * 2.0 * PI / CIRCLE_VERTICES as f64, r))
            .collect(),
    }
}

/// The box of a shape relative to its centre: `[min dx, min dy, max dx, max dy]`.
pub fn box_offsets(kind: Kind, r: f64, theta: f64) -> [f64; 4] {
    if kind == Kind::Circle {
        return [-r, -r, r, r];
    }
    bounds(&vertex_offsets(kind, r, theta))
}

fn bounds(points: &[[f64; 2]]) -> [f64; 4] {
    points.iter().fold([f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY], |b, p| {
        [b[0].min(p[0]), b[1].min(p[1]), b[2].max(p[0]), b[3].max(p[1])]
    })
}

/// Shoelace area (absolute).
pub fn polygon_area(points: &[[f64; 2]]) -> f64 {
    let n = points.len();
    let twice: f64 = (0..n).map(|i| points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1]).sum();
    twice.abs() / 2.0
}

/// Even-odd crossing rule: is (x, y) inside the polygon? Half-open in y, so a vertex on the
/// scanline counts once; a point is inside when an odd number of edges cross to its right.
pub fn polygon_contains(points: &[[f64; 2]], x: f64, y: f64) -> bool {
    let mut inside = false;
    let n = points.len();
    for i in 0..n {
        let (a, b) = (points[i], points[(i + 1) % n]);
        if (a[1] > y) != (b[1] > y) {
            let cross = a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
            if x < cross {
                inside = !inside;
            }
        }
    }
    inside
}

impl Shape {
    /// A shape from its parameters; `rgb` defaults to the class colour.
    pub fn new(kind: Kind, colour: Colour, cx: f64, cy: f64, r: f64, theta: f64, rgb: Option<[u8; 3]>) -> Shape {
        let theta = if kind == Kind::Circle { 0.0 } else { theta };
        let vertices: Vec<[f64; 2]> =
            vertex_offsets(kind, r, theta).into_iter().map(|[dx, dy]| [cx + dx, cy + dy]).collect();
        let (bbox, area) = if kind == Kind::Circle {
            ([cx - r, cy - r, cx + r, cy + r], PI * r * r)
        } else {
            (bounds(&vertices), polygon_area(&vertices))
        };
        Shape { kind, colour, rgb: rgb.unwrap_or(colour.rgb()), cx, cy, r, theta, vertices, bbox, area }
    }

    pub fn class(&self) -> Class {
        Class { colour: self.colour, kind: self.kind }
    }

    /// Whether the scene point (x, y) is painted by this shape: the exact disc for circles,
    /// the even-odd rule on the vertices otherwise.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        if self.kind == Kind::Circle {
            let (dx, dy) = (x - self.cx, y - self.cy);
            return dx * dx + dy * dy <= self.r * self.r;
        }
        polygon_contains(&self.vertices, x, y)
    }

    /// The pixel range `(x0..x1, y0..y1)` that can hold this shape in a `size` image.
    pub fn pixel_span(&self, size: u32) -> (std::ops::Range<u32>, std::ops::Range<u32>) {
        let lo = |v: f64| (v.floor().max(0.0) as u32).min(size);
        let hi = |v: f64| (v.ceil().max(0.0) as u32 + 1).min(size);
        (lo(self.bbox[0])..hi(self.bbox[2]), lo(self.bbox[1])..hi(self.bbox[3]))
    }

    /// Its own mask at `size` x `size`, row-major, sampled at pixel centres (other shapes ignored).
    pub fn mask(&self, size: u32) -> Vec<bool> {
        let mut out = vec![false; size as usize * size as usize];
        let (xs, ys) = self.pixel_span(size);
        for y in ys {
            for x in xs.clone() {
                out[(y * size + x) as usize] = self.contains(x as f64 + 0.5, y as f64 + 0.5);
            }
        }
        out
    }

    /// The vertices starting at the topmost one, keeping the clockwise order: the polygon
    /// target's order. Topmost as the target sees it: smallest quantized y, then smallest
    /// quantized x, then the raw y and x (as `training/demo/scenes.py` does; SCENES.md says
    /// "smallest y, then smallest x").
    pub fn polygon_from_top(&self, size: u32) -> Vec<[f64; 2]> {
        let key = |v: [f64; 2]| (quantize(v[1], size), quantize(v[0], size));
        let top = (0..self.vertices.len())
            .min_by(|&i, &j| {
                let (a, b) = (self.vertices[i], self.vertices[j]);
                key(a).cmp(&key(b)).then(a[1].total_cmp(&b[1])).then(a[0].total_cmp(&b[0]))
            })
            .unwrap_or(0);
        self.vertices[top..].iter().chain(&self.vertices[..top]).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn circle_inside_box_area_and_polygon() {
        let c = Shape::new(Kind::Circle, Colour::Red, 50.0, 40.0, 10.0, 1.0, None);
        assert_eq!(c.theta, 0.0);
        assert!(c.contains(50.0, 40.0));
        assert!(c.contains(60.0, 40.0)); // on the circle: dx^2 + dy^2 <= r^2
        assert!(c.contains(57.0, 47.0)); // 49 + 49 = 98 <= 100
        assert!(!c.contains(58.0, 47.0)); // 64 + 49 = 113
        assert!(!c.contains(60.01, 40.0));
        assert_eq!(c.bbox, [40.0, 30.0, 60.0, 50.0]);
        assert!(close(c.area, PI * 100.0));
        assert_eq!(c.vertices.len(), 16);
        // k = 0 is straight up; k = 4 points right (clockwise on screen).
        assert!(close(c.vertices[0][0], 50.0) && close(c.vertices[0][1], 30.0));
        assert!(close(c.vertices[4][0], 60.0) && close(c.vertices[4][1], 40.0));
        assert_eq!(c.rgb, [215, 40, 40]);
    }

    #[test]
    fn square_unrotated_and_rotated() {
        // theta = 0: corners at 45 degrees, half side r / sqrt 2, axis-aligned.
        let r = 10.0 * 2f64.sqrt();
        let s = Shape::new(Kind::Square, Colour::Blue, 100.0, 100.0, r, 0.0, None);
        for (got, want) in s.bbox.iter().zip([90.0, 90.0, 110.0, 110.0]) {
            assert!(close(*got, want), "{:?}", s.bbox);
        }
        assert!(close(s.area, 400.0));
        assert!(s.contains(109.9, 90.1) && !s.contains(110.1, 100.0) && !s.contains(100.0, 89.9));
        // Vertex 0 at angle pi/4: bottom right (y down).
        assert!(close(s.vertices[0][0], 110.0) && close(s.vertices[0][1], 110.0));
        // Rotated by pi/4 it becomes a diamond: box [cx - r, cy - r, cx + r, cy + r].
        let d = Shape::new(Kind::Square, Colour::Blue, 100.0, 100.0, r, PI / 4.0, None);
        for (got, want) in d.bbox.iter().zip([100.0 - r, 100.0 - r, 100.0 + r, 100.0 + r]) {
            assert!(close(*got, want), "{:?}", d.bbox);
        }
        assert!(close(d.area, 400.0));
        assert!(d.contains(100.0 + r - 0.5, 100.0) && !d.contains(109.0, 109.0) && d.contains(107.0, 107.0));
        // Rotated by 0.3 rad: half-extent r * max(|cos|, |sin|) of the corner angles.
        let t = Shape::new(Kind::Square, Colour::Blue, 0.0, 0.0, 1.0, 0.3, None);
        let half = (PI / 4.0 + 0.3).cos().abs().max((PI / 4.0 + 0.3).sin().abs());
        for (got, want) in t.bbox.iter().zip([-half, -half, half, half]) {
            assert!(close(*got, want), "{:?} vs {half}", t.bbox);
        }
    }

    #[test]
    fn triangle_and_star_hand_checked() {
        // Unrotated triangle: apex straight up, base below the centre at y = cy + r/2.
        let t = Shape::new(Kind::Triangle, Colour::Green, 50.0, 50.0, 20.0, 0.0, None);
        assert!(close(t.vertices[0][0], 50.0) && close(t.vertices[0][1], 30.0));
        assert!(close(t.vertices[1][1], 60.0) && t.vertices[1][0] > 50.0); // clockwise: right next
        let h = 20.0 * 3f64.sqrt() / 2.0;
        for (got, want) in t.bbox.iter().zip([50.0 - h, 30.0, 50.0 + h, 60.0]) {
            assert!(close(*got, want), "{:?}", t.bbox);
        }
        assert!(close(t.area, 3.0 * 3f64.sqrt() / 4.0 * 400.0));
        assert!(t.contains(50.0, 31.0) && t.contains(50.0, 59.9) && !t.contains(50.0, 60.1));
        assert!(!t.contains(40.0, 35.0)); // left of the left edge near the apex
        // Star: outer tips at r, inner corners at 0.45 r; the centre is inside, the point halfway
        // to an inner corner is inside, just past the inner corner towards it is outside.
        let s = Shape::new(Kind::Star, Colour::Yellow, 0.0, 0.0, 10.0, 0.0, None);
        assert_eq!(s.vertices.len(), 10);
        assert!(close(s.vertices[0][1], -10.0) && close(s.vertices[1].iter().map(|v| v * v).sum::<f64>(), 20.25));
        let inner = s.vertices[1];
        assert!(s.contains(0.0, 0.0) && s.contains(inner[0] * 0.5, inner[1] * 0.5));
        assert!(!s.contains(inner[0] * 1.05, inner[1] * 1.05));
        assert!(s.contains(0.0, -9.5)); // inside the top tip
        // 10 triangles (centre, outer, inner): 10 * 0.5 * r * 0.45 r * sin(36 deg).
        assert!(close(s.area, 10.0 * 0.5 * 10.0 * 4.5 * (PI / 5.0).sin()));
    }

    #[test]
    fn polygon_starts_at_the_topmost_vertex() {
        // Triangle rotated by 1.5 rad: vertex angles -0.07, 2.02, 4.12 rad; k = 2 (sin 4.12 = -0.83) is
        // the top, then clockwise k = 0, k = 1.
        let t = Shape::new(Kind::Triangle, Colour::Red, 50.0, 50.0, 20.0, 1.5, None);
        assert_eq!(t.polygon_from_top(224), vec![t.vertices[2], t.vertices[0], t.vertices[1]]);
        // Unrotated square: the two top corners tie in y; the left one (k = 2) starts,
        // then clockwise: top right (k = 3), bottom right (k = 0), bottom left (k = 1).
        let s = Shape::new(Kind::Square, Colour::Red, 50.0, 50.0, 10.0, 0.0, None);
        let p = s.polygon_from_top(224);
        assert_eq!(p, vec![s.vertices[2], s.vertices[3], s.vertices[0], s.vertices[1]]);
        assert!(p[0][0] < p[1][0] && close(p[0][1], p[1][1]));
        // Square turned by pi/2 - 0.001: the top-right corner (k = 2) is 0.04 px higher than the
        // top-left one (k = 1), but both fall in the same y bin: the left one starts.
        let s = Shape::new(Kind::Square, Colour::Red, 112.0, 112.0, 30.0, PI / 2.0 - 0.001, None);
        let (tl, tr) = (s.vertices[1], s.vertices[2]);
        assert!(tr[1] < tl[1] && tl[0] < tr[0]);
        assert_eq!(quantize(tl[1], 224), quantize(tr[1], 224));
        assert_eq!(s.polygon_from_top(224)[0], tl);
        // Circle: k = 0 is the top.
        let c = Shape::new(Kind::Circle, Colour::Red, 50.0, 50.0, 10.0, 0.0, None);
        assert_eq!(c.polygon_from_top(224), c.vertices);
    }

    #[test]
    fn mask_samples_pixel_centres() {
        // Square 10..20 x 10..20: pixels 10..=19 in both axes (centres 10.5..19.5).
        let s = Shape::new(Kind::Square, Colour::Red, 15.0, 15.0, 5.0 * 2f64.sqrt(), 0.0, None);
        let m = s.mask(32);
        assert_eq!(m.iter().filter(|&&v| v).count(), 100);
        assert!(m[10 * 32 + 10] && m[19 * 32 + 19] && !m[9 * 32 + 10] && !m[10 * 32 + 20]);
        // A circle of radius 1.0 at (5, 5): pixels whose centre is within 1: (4, 4), (5, 4), (4, 5), (5, 5).
        let c = Shape::new(Kind::Circle, Colour::Red, 5.0, 5.0, 1.0, 0.0, None);
        let on: Vec<usize> = c.mask(10).iter().enumerate().filter(|(_, &v)| v).map(|(i, _)| i).collect();
        assert_eq!(on, vec![44, 45, 54, 55]);
    }
}
