//! Binary masks at image resolution: polygons and boxes filled for drawing and IoU.
//!
//! A pixel (x, y) is inside when its centre (x + 0.5, y + 0.5) is inside the shape (even-odd
//! rule per polygon). Several polygons of one instance are unioned (COCO semantics: parts, not
//! holes). Everything outside the image is clipped away; non-finite vertices are skipped.

use crate::geometry::{BoundingBox, ImageSize, Polygon};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    pub width: u32,
    pub height: u32,
    /// Row-major, one byte per pixel: 1 inside, 0 outside.
    pub data: Vec<u8>,
}

impl Mask {
    pub fn empty(size: ImageSize) -> Self {
        Self { width: size.width, height: size.height, data: vec![0; size.width as usize * size.height as usize] }
    }

    pub fn from_polygons(polygons: &[Polygon], size: ImageSize) -> Self {
        let mut mask = Self::empty(size);
        for polygon in polygons {
            mask.fill_polygon(polygon);
        }
        mask
    }

    pub fn from_box(bbox: BoundingBox, size: ImageSize) -> Self {
        let b = bbox.normalized();
        let corners = [b.x1, b.y1, b.x2, b.y1, b.x2, b.y2, b.x1, b.y2];
        Self::from_polygons(&[Polygon::from_flat(&corners)], size)
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && self.data[(y * self.width + x) as usize] != 0
    }

    /// Number of pixels inside.
    pub fn area(&self) -> u64 {
        self.data.iter().filter(|&&v| v != 0).count() as u64
    }

    /// Intersection over union with a mask of the same size; 0 if sizes differ or both are empty.
    pub fn iou(&self, other: &Mask) -> f32 {
        if (self.width, self.height) != (other.width, other.height) {
            return 0.0;
        }
        let (mut inter, mut union) = (0u64, 0u64);
        for (&a, &b) in self.data.iter().zip(&other.data) {
            inter += u64::from(a != 0 && b != 0);
            union += u64::from(a != 0 || b != 0);
        }
        if union == 0 {
            0.0
        } else {
            inter as f32 / union as f32
        }
    }

    /// Sets (unions in) the pixels whose centres lie inside `polygon` (even-odd rule).
    pub fn fill_polygon(&mut self, polygon: &Polygon) {
        let pts: Vec<(f64, f64)> = polygon
            .points
            .iter()
            .filter(|p| p.x.is_finite() && p.y.is_finite())
            .map(|p| (p.x as f64, p.y as f64))
            .collect();
        if pts.len() < 3 || self.width == 0 {
            return;
        }
        let min_y = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let max_y = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        // Only rows whose centre can be inside: centre in [min_y, max_y).
        let first_row = (min_y - 0.5).ceil().max(0.0) as u32;
        let last_row = ((max_y - 0.5).ceil().min(self.height as f64)).max(0.0) as u32;
        let mut crossings = Vec::new();
        for y in first_row..last_row {
            let cy = y as f64 + 0.5;
            crossings.clear();
            for i in 0..pts.len() {
                let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
                // Half-open rule so a vertex on the scanline is counted once.
                if (a.1 <= cy && cy < b.1) || (b.1 <= cy && cy < a.1) {
                    crossings.push(a.0 + (cy - a.1) * (b.0 - a.0) / (b.1 - a.1));
                }
            }
            crossings.sort_by(f64::total_cmp);
            for span in crossings.chunks_exact(2) {
                // Pixels with centre in [span[0], span[1]).
                let from = (span[0] - 0.5).ceil().clamp(0.0, self.width as f64) as u32;
                let to = (span[1] - 0.5).ceil().clamp(0.0, self.width as f64) as u32;
                let row = (y * self.width) as usize;
                self.data[row + from as usize..row + to.max(from) as usize].fill(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(mask: &Mask) -> Vec<String> {
        mask.data
            .chunks(mask.width as usize)
            .map(|r| r.iter().map(|&v| if v != 0 { '#' } else { '.' }).collect())
            .collect()
    }

    #[test]
    fn rectangle_covers_exact_pixels() {
        let size = ImageSize::new(6, 5);
        let m = Mask::from_polygons(&[Polygon::from_flat(&[1.0, 1.0, 4.0, 1.0, 4.0, 3.0, 1.0, 3.0])], size);
        assert_eq!(rows(&m), ["......", ".###..", ".###..", "......", "......"]);
        assert_eq!(m.area(), 6);
        assert_eq!(m, Mask::from_box(BoundingBox::new(4.0, 3.0, 1.0, 1.0), size));
    }

    #[test]
    fn triangle_hand_checked() {
        // Right triangle (0,0) (4,0) (0,4): pixel (x, y) is in when its centre has
        // (x + 0.5) + (y + 0.5) < 4, i.e. x + y < 3 (centres on the hypotenuse are out).
        let m = Mask::from_polygons(&[Polygon::from_flat(&[0.0, 0.0, 4.0, 0.0, 0.0, 4.0])], ImageSize::new(5, 5));
        assert_eq!(rows(&m), ["###..", "##...", "#....", ".....", "....."]);
    }

    #[test]
    fn union_clipping_and_degenerate_shapes() {
        let size = ImageSize::new(4, 2);
        let parts = [
            Polygon::from_flat(&[-9.0, -9.0, 1.0, -9.0, 1.0, 9.0, -9.0, 9.0]),
            Polygon::from_flat(&[3.0, 0.0, 9.0, 0.0, 9.0, 1.0, 3.0, 1.0]),
        ];
        let m = Mask::from_polygons(&parts, size);
        assert_eq!(rows(&m), ["#..#", "#..."]);
        let nothing = [
            Polygon::default(),
            Polygon::from_flat(&[1.0, 1.0, 2.0, 2.0]),
            Polygon::from_flat(&[f32::NAN, 0.0, 1.0, 1.0, 2.0, 0.0]),
        ];
        assert_eq!(Mask::from_polygons(&nothing, size).area(), 0);
    }

    #[test]
    fn mask_iou() {
        let size = ImageSize::new(10, 10);
        let a = Mask::from_box(BoundingBox::new(0.0, 0.0, 10.0, 5.0), size);
        let b = Mask::from_box(BoundingBox::new(0.0, 0.0, 5.0, 10.0), size);
        assert!((a.iou(&b) - 25.0 / 75.0).abs() < 1e-6);
        assert_eq!(a.iou(&Mask::empty(ImageSize::new(3, 3))), 0.0);
    }
}
