//! A full-size Florence-2 with random weights, built in memory: the real tensor names and shapes
//! (`tests/fixtures/florence2/keys_{base,large}.json`) and config (`config_{base,large}.json`), so
//! every kernel runs at its real size without downloading anything.
//!
//! The recipe is `tests/reference/florence2/make_fullsize_random.py`'s, and `pytorch_peer.py`
//! draws the same distribution (not the same numbers: only time is compared): weights
//! U(-a, a) with variance 1/fan_in, residual branches damped x0.1 (else DaViT's ~100 residual adds
//! overflow), LayerNorm gain 1, biases 0. One change: row `eos` of the tied embedding is zero, so
//! eos's logit is always 0 while the largest of ~51k random logits is far above it: a random
//! model never stops early and every run generates exactly the tokens asked for.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, TensorView};
use serde_json::Value;

use visionllm_gpu::conformance::Rng;

/// The tiny fixture tokenizer: its ids are a subset of the real 51328-row vocabulary and it has
/// the real special-token layout, which is all a timing run needs (the prompt is a few tokens
/// next to 577 image tokens).
pub const TOKENIZER: &[u8] = include_bytes!("../../tasks/tests/fixtures/tokenizer_tiny.json");

pub struct Size {
    pub config: &'static str,
    pub keys: &'static str,
}

pub fn size(name: &str) -> Option<Size> {
    match name {
        "base" => Some(Size {
            config: include_str!("../../../tests/fixtures/florence2/config_base.json"),
            keys: include_str!("../../../tests/fixtures/florence2/keys_base.json"),
        }),
        "large" => Some(Size {
            config: include_str!("../../../tests/fixtures/florence2/config_large.json"),
            keys: include_str!("../../../tests/fixtures/florence2/keys_large.json"),
        }),
        _ => None,
    }
}

/// The config JSON with the tokenizer's `<image>` id (the fixture tokenizer's, not 51289).
pub fn config_json(size: &Size, image_token_id: u32) -> Result<String, String> {
    let mut cfg: Value = serde_json::from_str(size.config).map_err(|e| e.to_string())?;
    cfg["image_token_id"] = image_token_id.into();
    Ok(cfg.to_string())
}

fn is_norm_gain(name: &str) -> bool {
    let last = name.rsplit('.').nth(1).unwrap_or("");
    name.ends_with(".weight") && last.contains("norm")
}

fn is_damped(name: &str) -> bool {
    [".conv1.", ".conv2.", ".proj.", ".fc2.", ".out_proj."].iter().any(|k| name.contains(k))
}

/// Values of one tensor under the recipe above.
pub fn values(name: &str, shape: &[usize], eos: usize, rng: &mut Rng) -> Vec<f32> {
    let n: usize = shape.iter().product();
    if is_norm_gain(name) {
        return vec![1.0; n];
    }
    if name.ends_with(".bias") {
        return vec![0.0; n];
    }
    let fan_in: usize = shape.iter().skip(1).product::<usize>().max(1);
    let a = (3.0 / fan_in as f32).sqrt() * if is_damped(name) { 0.1 } else { 1.0 };
    let mut v = crate::inputs::scaled(rng, n, a);
    if name.ends_with("language_model.shared.weight") {
        let d = shape[1];
        v[eos * d..(eos + 1) * d].fill(0.0);
    }
    v
}

/// `model.safetensors` bytes with every tensor of `size` (stored f16: half the memory of f32,
/// and the loader widens to the activation dtype anyway). Returns the bytes and the element count.
pub fn safetensors(size: &Size, eos: u32) -> Result<(Vec<u8>, usize), String> {
    let keys: Value = serde_json::from_str(size.keys).map_err(|e| e.to_string())?;
    let tensors = keys["tensors"].as_object().ok_or("keys json: no tensors")?;
    let mut rng = Rng::new(0);
    let mut stored: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::with_capacity(tensors.len());
    let mut elements = 0;
    for (name, info) in tensors {
        let shape: Vec<usize> = info["shape"].as_array().ok_or("keys json: no shape")?.iter().filter_map(|d| d.as_u64().map(|d| d as usize)).collect();
        let v = values(name, &shape, eos as usize, &mut rng);
        elements += v.len();
        let h: Vec<half::f16> = v.iter().map(|&x| half::f16::from_f32(x)).collect();
        stored.push((name.clone(), shape, bytemuck::cast_slice(&h).to_vec()));
    }
    let views: Vec<(String, TensorView)> = stored
        .iter()
        .map(|(name, shape, bytes)| TensorView::new(Dtype::F16, shape.clone(), bytes).map(|v| (name.clone(), v)).map_err(|e| format!("{name}: {e}")))
        .collect::<Result<_, _>>()?;
    let bytes = safetensors::serialize(views, None::<HashMap<String, String>>).map_err(|e| e.to_string())?;
    Ok((bytes, elements))
}

/// The benchmark image: a deterministic `side` x `side` RGB pattern (horizontal red ramp,
/// vertical green ramp, 32-pixel blue checkerboard), made the same way by `pytorch_peer.py`.
/// It is already at the model's input size, so the bicubic resize is the identity on both sides.
pub fn image(side: usize) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(side * side * 3);
    let den = (side - 1).max(1);
    for y in 0..side {
        for x in 0..side {
            rgb.push((x * 255 / den) as u8);
            rgb.push((y * 255 / den) as u8);
            rgb.push(if (x / 32 + y / 32) % 2 == 0 { 0 } else { 255 });
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipe_by_name() {
        let mut rng = Rng::new(1);
        assert_eq!(values("model.vision_tower.blocks.0.0.spatial_block.norm1.weight", &[4], 2, &mut rng), vec![1.0; 4]);
        assert_eq!(values("model.language_model.encoder.layernorm_embedding.weight", &[4], 2, &mut rng), vec![1.0; 4]);
        assert_eq!(values("model.language_model.encoder.layers.0.final_layer_norm.weight", &[4], 2, &mut rng), vec![1.0; 4]);
        assert_eq!(values("model.vision_tower.convs.0.norm.bias", &[4], 2, &mut rng), vec![0.0; 4]);
        let fc2 = values("model.language_model.encoder.layers.0.fc2.weight", &[8, 300], 2, &mut rng);
        assert!(fc2.iter().all(|v| v.abs() <= 0.1 * 0.1 + 1e-6));
        let shared = values("model.language_model.shared.weight", &[5, 3], 2, &mut rng);
        assert_eq!(&shared[6..9], &[0.0; 3]);
        assert!(shared[..6].iter().all(|&v| v != 0.0));
    }

    #[test]
    fn every_base_key_gets_a_shape_and_the_config_parses() {
        let s = size("base").unwrap();
        let keys: Value = serde_json::from_str(s.keys).unwrap();
        assert_eq!(keys["tensors"].as_object().unwrap().len(), 665);
        let cfg = visionllm_florence2::Florence2Config::from_json(&config_json(&s, 1480).unwrap()).unwrap();
        assert_eq!(cfg.image_token_id, 1480);
        assert_eq!(cfg.text_config.d_model, 768);
    }

    #[test]
    fn image_pattern() {
        let img = image(64);
        assert_eq!(img.len(), 64 * 64 * 3);
        assert_eq!(&img[..3], &[0, 0, 0]);
        assert_eq!(img[(63 * 64 + 63) * 3], 255);
        assert_eq!(img[32 * 3 + 2], 255);
    }
}
