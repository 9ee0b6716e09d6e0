//! Image preprocessing exactly as the reference processor (`Qwen2VLImageProcessor`, PIL path):
//! smart resize (both sides multiples of patch x merge, pixel count within min/max pixels,
//! aspect ratio kept), Pillow's bicubic resize, x/255, (x - mean) / std, then patches of
//! temporal x patch x patch pixels (a still image repeats itself over the temporal patch) in
//! merge-block order.

use serde::Deserialize;

use crate::positions::Grid;

/// The processor settings `preprocessor_config.json` holds (only what the pixels depend on).
#[derive(Clone, Debug, PartialEq)]
pub struct ImageProcessor {
    pub patch_size: usize,
    pub merge_size: usize,
    pub temporal_patch_size: usize,
    pub min_pixels: usize,
    pub max_pixels: usize,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

#[derive(Deserialize)]
struct Raw {
    patch_size: Option<usize>,
    merge_size: Option<usize>,
    temporal_patch_size: Option<usize>,
    size: Option<RawSize>,
    min_pixels: Option<usize>,
    max_pixels: Option<usize>,
    image_mean: Option<[f32; 3]>,
    image_std: Option<[f32; 3]>,
}

#[derive(Deserialize)]
struct RawSize {
    shortest_edge: Option<usize>,
    longest_edge: Option<usize>,
}

/// The most pixels a resized image may have: 2048 patches of 16 x 16 (about 724 x 724), the most
/// keys the attention kernels take. Qwen3-VL's own processor allows up to 16M pixels; a larger
/// max_pixels in a config is lowered to this, so big photos are scaled down further than the
/// reference would (a memory and time budget for a browser).
pub const MAX_PIXELS: usize = visionllm_gpu::ops::attention::MAX_KEYS * 16 * 16;
/// Aspect ratios beyond this are refused, as the reference refuses them.
pub const MAX_ASPECT: usize = 200;

impl ImageProcessor {
    /// From `preprocessor_config.json`: `size.shortest_edge` / `size.longest_edge` are min/max
    /// pixels (transformers 5), `min_pixels` / `max_pixels` the older names.
    pub fn from_json(text: &str) -> Result<ImageProcessor, String> {
        visionllm_weights::limits::check_size(visionllm_weights::limits::FileKind::PreprocessorConfig, "preprocessor_config.json", text.len() as u64)?;
        let raw: Raw = serde_json::from_str(text).map_err(|e| format!("preprocessor_config.json: {e}"))?;
        let min_pixels = raw.size.as_ref().and_then(|s| s.shortest_edge).or(raw.min_pixels).unwrap_or(56 * 56);
        let max_pixels = raw.size.as_ref().and_then(|s| s.longest_edge).or(raw.max_pixels).unwrap_or(28 * 28 * 1280);
        let p = ImageProcessor {
            patch_size: raw.patch_size.unwrap_or(16),
            merge_size: raw.merge_size.unwrap_or(2),
            temporal_patch_size: raw.temporal_patch_size.unwrap_or(2),
            min_pixels,
            max_pixels: max_pixels.min(MAX_PIXELS),
            mean: raw.image_mean.unwrap_or([0.5; 3]),
            std: raw.image_std.unwrap_or([0.5; 3]),
        };
        p.validate().map_err(|e| format!("preprocessor_config.json: {e}"))?;
        Ok(p)
    }

    fn validate(&self) -> Result<(), String> {
        if !(1..=64).contains(&self.patch_size) || !(1..=8).contains(&self.merge_size) || !(1..=8).contains(&self.temporal_patch_size) {
            return Err(format!("patch {} / merge {} / temporal patch {} out of range", self.patch_size, self.merge_size, self.temporal_patch_size));
        }
        let factor = self.factor();
        if self.min_pixels > self.max_pixels || self.max_pixels < factor * factor {
            return Err(format!("min_pixels {} / max_pixels {} leave no image size (a side is a multiple of {factor})", self.min_pixels, self.max_pixels));
        }
        if self.mean.iter().chain(&self.std).any(|v| !v.is_finite()) || self.std.iter().any(|&s| s <= 0.0) {
            return Err(format!("image_mean {:?} / image_std {:?} must be finite, std positive", self.mean, self.std));
        }
        Ok(())
    }

    /// Both sides of a resized image are multiples of this.
    pub fn factor(&self) -> usize {
        self.patch_size * self.merge_size
    }

    /// (height, width) an image of `height` x `width` is resized to: the reference's
    /// `smart_resize`, then refused when past [`MAX_PIXELS`] (what the ViT's kernels take; the
    /// reference's own result can exceed max_pixels for extreme aspect ratios).
    pub fn resized_size(&self, height: usize, width: usize) -> Result<(usize, usize), String> {
        let (h, w) = smart_resize(height, width, self.factor(), self.min_pixels, self.max_pixels)?;
        if h.checked_mul(w).is_none_or(|n| n > MAX_PIXELS) {
            return Err(format!("{width}x{height} resizes to {w}x{h}, more than the {MAX_PIXELS} pixels the vision tower takes"));
        }
        Ok((h, w))
    }

    /// The patches [patches, 3 * temporal * patch * patch] and the patch grid of an RGB image
    /// (interleaved u8, `width` x `height`), with the resized size.
    pub fn pixel_values(&self, rgb: &[u8], width: usize, height: usize) -> Result<(Vec<f32>, Grid), String> {
        let want = width.checked_mul(height).and_then(|n| n.checked_mul(3));
        if want != Some(rgb.len()) {
            return Err(format!("RGB buffer of {} bytes for a {width}x{height} image", rgb.len()));
        }
        let (rh, rw) = self.resized_size(height, width)?;
        let resized = visionllm_modelkit::pillow_resize::resize_bicubic_rgb(rgb, width, height, rw, rh);
        Ok((self.patchify(&resized, rw, rh), Grid { h: rh / self.patch_size, w: rw / self.patch_size }))
    }

    /// Normalise and cut an already resized image (sides multiples of `factor()`) into patches.
    pub fn patchify(&self, rgb: &[u8], width: usize, height: usize) -> Vec<f32> {
        let (p, m, t) = (self.patch_size, self.merge_size, self.temporal_patch_size);
        let grid = Grid { h: height / p, w: width / p };
        // x = f32(f64(u8) / 255), then (x - mean) / std in f32, as the reference's rescale and
        // normalise compute it.
        let norm: Vec<[f32; 256]> = (0..3)
            .map(|c| {
                let mut lut = [0f32; 256];
                for (v, out) in lut.iter_mut().enumerate() {
                    *out = ((v as f64 * (1.0 / 255.0)) as f32 - self.mean[c]) / self.std[c];
                }
                lut
            })
            .collect();
        let per_patch = 3 * t * p * p;
        let positions = crate::positions::patch_positions(grid, m);
        let mut out = Vec::with_capacity(positions.len() * per_patch);
        for (r, c) in positions {
            for (ch, lut) in norm.iter().enumerate() {
                for _ in 0..t {
                    for y in 0..p {
                        let row = (r * p + y) * width;
                        for x in 0..p {
                            out.push(lut[rgb[(row + c * p + x) * 3 + ch] as usize]);
                        }
                    }
                }
            }
        }
        out
    }
}

/// The reference's `smart_resize` on f64, for `factor` (patch x merge): both sides multiples of
/// factor, the pixel count brought within [min_pixels, max_pixels] by one common scale (rounded
/// half to even first, as Python's `round`; floor when shrinking, ceil when growing; a side is
/// at least `factor` when shrinking, so the result can exceed max_pixels for extreme aspect
/// ratios, as the reference's does).
pub fn smart_resize(height: usize, width: usize, factor: usize, min_pixels: usize, max_pixels: usize) -> Result<(usize, usize), String> {
    if height == 0 || width == 0 || factor == 0 {
        return Err(format!("image of {width}x{height} pixels"));
    }
    if height.max(width) as f64 / height.min(width) as f64 > MAX_ASPECT as f64 {
        return Err(format!("aspect ratio of {width}x{height} exceeds {MAX_ASPECT}"));
    }
    let f = factor as f64;
    let (h, w) = (height as f64, width as f64);
    let mut hb = (h / f).round_ties_even() * f;
    let mut wb = (w / f).round_ties_even() * f;
    if hb * wb > max_pixels as f64 {
        let beta = (h * w / max_pixels as f64).sqrt();
        hb = f.max((h / beta / f).floor() * f);
        wb = f.max((w / beta / f).floor() * f);
    } else if hb * wb < min_pixels as f64 {
        let beta = (min_pixels as f64 / (h * w)).sqrt();
        hb = (h * beta / f).ceil() * f;
        wb = (w * beta / f).ceil() * f;
    }
    // Bounded by the inputs' sizes times sqrt(min_pixels) at most; refuse what a usize cannot hold.
    if !(hb >= f && wb >= f && hb < 1e15 && wb < 1e15) {
        return Err(format!("{width}x{height} has no resized size within the pixel bounds"));
    }
    Ok((hb as usize, wb as usize))
}
