//! Pixel-space geometry shared by the parsers, the mask rasteriser and the exporters.
//!
//! Coordinates are `f32` pixels in the original image, x to the right, y down. The parsers only
//! ever produce whole numbers (the reference truncates to int), but user-drawn boxes need not be.

use serde::{Deserialize, Serialize};

/// Size of the original image, in pixels. The reference processor calls this `image_size`
/// and orders it (width, height).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageSize {
    pub width: u32,
    pub height: u32,
}

impl ImageSize {
    pub fn new(width: u32, height: u32) -> Self {
        Self { width, height }
    }

    /// Parses `WxH` (as in `--image-size 640x480`); both sides must be at least 1.
    pub fn parse(text: &str) -> Option<Self> {
        let (w, h) = text.trim().split_once(['x', 'X'])?;
        let (width, height) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
        (width > 0 && height > 0).then_some(Self { width, height })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// Axis-aligned box `[x1, y1, x2, y2]` (top-left, bottom-right), as the reference writes boxes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BoundingBox {
    pub fn new(x1: f32, y1: f32, x2: f32, y2: f32) -> Self {
        Self { x1, y1, x2, y2 }
    }

    pub fn to_array(self) -> [f32; 4] {
        [self.x1, self.y1, self.x2, self.y2]
    }

    /// Corners put in order (x1 <= x2, y1 <= y2): the model may emit them swapped.
    pub fn normalized(self) -> Self {
        Self::new(self.x1.min(self.x2), self.y1.min(self.y2), self.x1.max(self.x2), self.y1.max(self.y2))
    }

    pub fn width(self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }

    pub fn height(self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }

    pub fn area(self) -> f32 {
        self.width() * self.height()
    }

    /// The smallest box holding both (of normalised boxes): a mask's box from its parts' boxes.
    pub fn union(self, other: Self) -> Self {
        Self::new(self.x1.min(other.x1), self.y1.min(other.y1), self.x2.max(other.x2), self.y2.max(other.y2))
    }

    /// Clipped to `[0, width] x [0, height]`; non-finite values become 0.
    pub fn clipped(self, size: ImageSize) -> Self {
        let (w, h) = (size.width as f32, size.height as f32);
        Self::new(clip(self.x1, w), clip(self.y1, h), clip(self.x2, w), clip(self.y2, h))
    }

    /// Intersection over union; 0 when both are empty (so empty boxes never "match").
    pub fn iou(self, other: Self) -> f32 {
        let (a, b) = (self.normalized(), other.normalized());
        let inter = BoundingBox::new(a.x1.max(b.x1), a.y1.max(b.y1), a.x2.min(b.x2), a.y2.min(b.y2)).area();
        let union = a.area() + b.area() - inter;
        if union > 0.0 && union.is_finite() {
            inter / union
        } else {
            0.0
        }
    }
}

/// A closed polygon. The reference keeps polygons with fewer than 3 points (even empty ones)
/// when the model emits them, so this type does too; rasterising such a polygon fills nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Polygon {
    pub points: Vec<Point>,
}

impl Polygon {
    /// From a flat `[x0, y0, x1, y1, ...]` list (an odd trailing value is dropped, like the reference).
    pub fn from_flat(coords: &[f32]) -> Self {
        Self { points: coords.chunks_exact(2).map(|p| Point { x: p[0], y: p[1] }).collect() }
    }

    pub fn to_flat(&self) -> Vec<f32> {
        self.points.iter().flat_map(|p| [p.x, p.y]).collect()
    }

    /// Every vertex clipped to the image rectangle.
    pub fn clipped(&self, size: ImageSize) -> Self {
        let (w, h) = (size.width as f32, size.height as f32);
        Self { points: self.points.iter().map(|p| Point { x: clip(p.x, w), y: clip(p.y, h) }).collect() }
    }

    /// Tight bounding box; `None` for an empty polygon.
    pub fn bounding_box(&self) -> Option<BoundingBox> {
        let first = self.points.first()?;
        let init = BoundingBox::new(first.x, first.y, first.x, first.y);
        Some(
            self.points
                .iter()
                .fold(init, |b, p| BoundingBox::new(b.x1.min(p.x), b.y1.min(p.y), b.x2.max(p.x), b.y2.max(p.y))),
        )
    }

    /// Shoelace area (absolute value).
    pub fn area(&self) -> f32 {
        let n = self.points.len();
        let twice: f64 = (0..n)
            .map(|i| {
                let (a, b) = (self.points[i], self.points[(i + 1) % n]);
                a.x as f64 * b.y as f64 - b.x as f64 * a.y as f64
            })
            .sum();
        (twice.abs() / 2.0) as f32
    }
}

fn clip(v: f32, max: f32) -> f32 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(0.0, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_size_parses_w_by_h() {
        assert_eq!(ImageSize::parse("640x480"), Some(ImageSize::new(640, 480)));
        assert_eq!(ImageSize::parse(" 7X9 "), Some(ImageSize::new(7, 9)));
        assert_eq!(ImageSize::parse("0x9"), None);
        assert_eq!(ImageSize::parse("640"), None);
        assert_eq!(ImageSize::parse("ax9"), None);
    }

    #[test]
    fn box_iou_and_clip() {
        let a = BoundingBox::new(0.0, 0.0, 10.0, 10.0);
        let b = BoundingBox::new(5.0, 0.0, 15.0, 10.0);
        assert!((a.iou(b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(a.iou(a), 1.0);
        assert_eq!(BoundingBox::new(1.0, 1.0, 1.0, 1.0).iou(BoundingBox::new(1.0, 1.0, 1.0, 1.0)), 0.0);
        let c = BoundingBox::new(-5.0, f32::NAN, 1e9, 3.0).clipped(ImageSize::new(100, 50));
        assert_eq!(c.to_array(), [0.0, 0.0, 100.0, 3.0]);
    }

    #[test]
    fn polygon_flat_round_trip_and_area() {
        let p = Polygon::from_flat(&[0.0, 0.0, 4.0, 0.0, 4.0, 3.0, 9.0]);
        assert_eq!(p.points.len(), 3);
        assert_eq!(p.to_flat(), vec![0.0, 0.0, 4.0, 0.0, 4.0, 3.0]);
        assert_eq!(p.area(), 6.0);
        assert_eq!(p.bounding_box(), Some(BoundingBox::new(0.0, 0.0, 4.0, 3.0)));
    }
}
