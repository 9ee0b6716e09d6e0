//! Florence-2's 1000-bin coordinate quantizer, bit-exact with the reference.
//!
//! The reference (`Florence2PostProcessor.dequantize`) computes `(bin + 0.5) * (size / 1000)` on
//! a float32 tensor and truncates with `.int()`, so the answer's coordinates are whole pixels.
//! Reproducing the float32 rounding matters: f64 gives a different integer for some sizes.

use crate::geometry::{BoundingBox, ImageSize};

/// Bins per axis.
pub const NUM_BINS: u32 = 1000;

/// Bin index -> pixel coordinate along an axis of `size` pixels (bin centre, truncated).
///
/// Bins above 999 (which the model cannot emit, but a pasted string can) are clamped to 999 so
/// every coordinate stays inside the image; the reference would place them outside.
pub fn dequantize(bin: u32, size: u32) -> f32 {
    let bin = bin.min(NUM_BINS - 1);
    let per_bin = (size as f64 / NUM_BINS as f64) as f32;
    ((bin as f32 + 0.5) * per_bin).trunc()
}

/// Pixel coordinate -> bin: `floor(v / (size / 1000))` clamped to 0..=999 (NaN -> 0).
pub fn quantize(value: f32, size: u32) -> u32 {
    let per_bin = size.max(1) as f64 / NUM_BINS as f64;
    let bin = (value as f64 / per_bin).floor();
    if bin.is_nan() {
        0
    } else {
        bin.clamp(0.0, (NUM_BINS - 1) as f64) as u32
    }
}

/// The `<loc_k>` token text for bin `k`.
pub fn loc_token(bin: u32) -> String {
    format!("<loc_{}>", bin.min(NUM_BINS - 1))
}

/// A pixel box as the four `<loc_x1><loc_y1><loc_x2><loc_y2>` tokens the region tasks take.
pub fn region_tokens(region: BoundingBox, size: ImageSize) -> String {
    let b = region.normalized();
    [quantize(b.x1, size.width), quantize(b.y1, size.height), quantize(b.x2, size.width), quantize(b.y2, size.height)]
        .into_iter()
        .map(loc_token)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dequantize_matches_reference_values() {
        // From the reference: "car<loc_54><loc_375><loc_906><loc_707>" at 640x480 -> [34, 180, 580, 339].
        assert_eq!(
            [dequantize(54, 640), dequantize(375, 480), dequantize(906, 640), dequantize(707, 480)],
            [34.0, 180.0, 580.0, 339.0]
        );
        assert_eq!(dequantize(999, 1), 0.0);
        assert_eq!(dequantize(5000, 100), dequantize(999, 100));
    }

    #[test]
    fn quantize_round_trips_bin_centres() {
        for size in [1, 7, 480, 640, 1000, 4000] {
            for bin in [0, 1, 500, 998, 999] {
                let centre = (bin as f32 + 0.5) * size as f32 / 1000.0;
                assert_eq!(quantize(centre, size), bin, "size {size} bin {bin}");
            }
        }
        assert_eq!(quantize(-3.0, 100), 0);
        assert_eq!(quantize(1e9, 100), 999);
        assert_eq!(quantize(f32::NAN, 100), 0);
    }

    #[test]
    fn region_tokens_from_pixels() {
        let size = ImageSize::new(640, 480);
        let tokens = region_tokens(BoundingBox::new(640.0, 480.0, 0.0, 0.0), size);
        assert_eq!(tokens, "<loc_0><loc_0><loc_999><loc_999>");
        assert_eq!(
            region_tokens(BoundingBox::new(64.0, 48.0, 320.0, 240.0), size),
            "<loc_100><loc_100><loc_500><loc_500>"
        );
    }
}
