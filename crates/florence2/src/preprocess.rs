//! Image preprocessing exactly as the reference processor (PIL path) does it: bicubic resize to
//! S x S with Pillow's separable fixed-point resampler, then x/255, then (x - mean) / std, CHW.
//!
//! The resize is `visionllm_modelkit::pillow_resize` (Pillow's, byte for byte; shared with Qwen3-VL).

pub const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const STD: [f32; 3] = [0.229, 0.224, 0.225];

pub use visionllm_modelkit::pillow_resize::resize_bicubic_rgb;

/// The smallest and largest square input side accepted from a preprocessor config (Florence-2
/// uses 768; the test models 224 and 384). Outside this range the vision tower's grids are
/// degenerate (below) or its buffers unreasonably large (above).
pub const INPUT_SIZES: std::ops::RangeInclusive<usize> = 64..=2048;

/// The square input side from `preprocessor_config.json`: `size.height`, else `crop_size.height`,
/// checked against `INPUT_SIZES` and, when given, equal to the width (the model is square).
pub fn input_size(preprocessor_json: &str) -> Result<usize, String> {
    use visionllm_weights::limits::{check_size, FileKind};
    check_size(FileKind::PreprocessorConfig, "preprocessor_config.json", preprocessor_json.len() as u64)?;
    let json: serde_json::Value = serde_json::from_str(preprocessor_json).map_err(|e| format!("preprocessor_config.json: {e}"))?;
    let side = ["size", "crop_size"].into_iter().map(|k| &json[k]).find(|s| s["height"].is_u64());
    let side = side.ok_or("preprocessor_config.json: no size.height (or crop_size.height)")?;
    let height = side["height"].as_u64().and_then(|h| usize::try_from(h).ok()).unwrap_or(0);
    if !INPUT_SIZES.contains(&height) {
        return Err(format!("preprocessor_config.json: the input size is {height}; it must be {}..={}", INPUT_SIZES.start(), INPUT_SIZES.end()));
    }
    if let Some(width) = side["width"].as_u64() {
        if width != height as u64 {
            return Err(format!("preprocessor_config.json: the input is {width}x{height}; Florence-2 takes square images"));
        }
    }
    Ok(height)
}

/// Resize to `size` x `size`, rescale and normalize: pixel values [3, size, size] (CHW), as the
/// reference's `pixel_values[0]`.
pub fn pixel_values(rgb: &[u8], w: usize, h: usize, size: usize) -> Vec<f32> {
    let resized = resize_bicubic_rgb(rgb, w, h, size, size);
    let mut out = vec![0f32; 3 * size * size];
    for (i, px) in resized.chunks_exact(3).enumerate() {
        for c in 0..3 {
            // transformers rescales in float64 (x * 1/255), stores float32, normalizes in float32.
            let v = (px[c] as f64 * (1.0 / 255.0)) as f32;
            out[c * size * size + i] = (v - MEAN[c]) / STD[c];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_size_reads_size_then_crop_size() {
        assert_eq!(input_size(r#"{"size": {"height": 768, "width": 768}}"#), Ok(768));
        assert_eq!(input_size(r#"{"crop_size": {"height": 224}}"#), Ok(224));
        assert_eq!(input_size(r#"{"size": {"height": 224}, "crop_size": {"height": 768}}"#), Ok(224));
        assert!(input_size(r#"{"size": {}}"#).unwrap_err().contains("no size.height"));
        assert!(input_size("not json").is_err());
        for (json, want) in [
            (r#"{"size": {"height": 0}}"#, "must be 64..=2048"),
            (r#"{"size": {"height": 63}}"#, "must be 64..=2048"),
            (r#"{"size": {"height": 2049}}"#, "must be 64..=2048"),
            (r#"{"size": {"height": 18446744073709551615}}"#, "must be 64..=2048"),
            (r#"{"size": {"height": 768, "width": 512}}"#, "square"),
        ] {
            let err = input_size(json).unwrap_err();
            assert!(err.contains(want), "{json}: {err}");
        }
        assert_eq!(input_size(r#"{"size": {"height": 64}}"#), Ok(64));
        assert_eq!(input_size(r#"{"size": {"height": 2048}}"#), Ok(2048));
    }
}
