//! `config.json` of a Florence-2 checkpoint in the native transformers layout (any geometry:
//! base, large, tiny test configs). Only what the forward pass needs is read.

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Florence2Config {
    pub vision_config: VisionConfig,
    pub text_config: TextConfig,
    pub image_token_id: u32,
}

#[derive(Clone, Debug, Deserialize)]
pub struct VisionConfig {
    pub embed_dim: Vec<usize>,
    pub num_heads: Vec<usize>,
    pub num_groups: Vec<usize>,
    pub depths: Vec<usize>,
    pub patch_size: Vec<usize>,
    pub patch_stride: Vec<usize>,
    pub patch_padding: Vec<usize>,
    pub patch_prenorm: Vec<bool>,
    pub window_size: usize,
    pub mlp_ratio: f64,
    pub projection_dim: usize,
    #[serde(default = "default_pos")]
    pub max_position_embeddings: usize,
}

fn default_pos() -> usize {
    50
}

#[derive(Clone, Debug, Deserialize)]
pub struct TextConfig {
    pub d_model: usize,
    pub encoder_layers: usize,
    pub decoder_layers: usize,
    pub encoder_attention_heads: usize,
    pub decoder_attention_heads: usize,
    pub encoder_ffn_dim: usize,
    pub decoder_ffn_dim: usize,
    pub vocab_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub scale_embedding: bool,
    #[serde(default = "default_bos")]
    pub bos_token_id: u32,
    #[serde(default = "default_eos")]
    pub eos_token_id: u32,
    #[serde(default = "default_pad")]
    pub pad_token_id: u32,
    #[serde(default = "default_eos")]
    pub decoder_start_token_id: u32,
}

fn default_bos() -> u32 {
    0
}
fn default_eos() -> u32 {
    2
}
fn default_pad() -> u32 {
    1
}

/// Upper bounds on what a config may ask for. Far above Florence-2-large (dims 256..2048, vocab
/// 51289, 1024 positions, 12+12 layers); they keep a hostile config from sizing buffers or loops
/// without bound before a single weight is read.
const MAX_DIM: usize = 16_384;
const MAX_LAYERS: usize = 256;
const MAX_VOCAB: usize = 1 << 20;
const MAX_POSITIONS: usize = 1 << 16;

impl Florence2Config {
    pub fn from_json(text: &str) -> Result<Self, String> {
        visionllm_weights::limits::check_size(visionllm_weights::limits::FileKind::Config, "config.json", text.len() as u64)?;
        let cfg: Florence2Config = serde_json::from_str(text).map_err(|e| format!("config.json: {e}"))?;
        cfg.validate().map_err(|e| format!("config.json: {e}"))?;
        Ok(cfg)
    }

    /// Everything the forward pass divides by, loops over or sizes a buffer with, checked once here.
    fn validate(&self) -> Result<(), String> {
        let v = &self.vision_config;
        let n = v.embed_dim.len();
        if n == 0 {
            return Err("vision_config.embed_dim lists no stages".into());
        }
        for (what, len) in [("num_heads", v.num_heads.len()), ("num_groups", v.num_groups.len()), ("depths", v.depths.len()), ("patch_size", v.patch_size.len()), ("patch_stride", v.patch_stride.len()), ("patch_padding", v.patch_padding.len()), ("patch_prenorm", v.patch_prenorm.len())] {
            if len != n {
                return Err(format!("vision_config.{what} has {len} stages, embed_dim has {n}"));
            }
        }
        let in_range = |what: &str, value: usize, max: usize| {
            if value == 0 || value > max {
                Err(format!("{what} is {value}; it must be 1..={max}"))
            } else {
                Ok(())
            }
        };
        for stage in 0..n {
            let at = |list: &[usize]| list.get(stage).copied().unwrap_or(0);
            let dim = at(&v.embed_dim);
            in_range(&format!("vision_config.embed_dim[{stage}]"), dim, MAX_DIM)?;
            in_range(&format!("vision_config.depths[{stage}]"), at(&v.depths), MAX_LAYERS)?;
            in_range(&format!("vision_config.patch_size[{stage}]"), at(&v.patch_size), 64)?;
            in_range(&format!("vision_config.patch_stride[{stage}]"), at(&v.patch_stride), 64)?;
            if at(&v.patch_padding) >= at(&v.patch_size) {
                return Err(format!("vision_config.patch_padding[{stage}] must be smaller than patch_size[{stage}]"));
            }
            for (what, div) in [("num_heads", at(&v.num_heads)), ("num_groups", at(&v.num_groups))] {
                in_range(&format!("vision_config.{what}[{stage}]"), div, dim)?;
                if dim % div != 0 {
                    return Err(format!("vision_config.{what}[{stage}] = {div} does not divide embed_dim[{stage}] = {dim}"));
                }
            }
        }
        in_range("vision_config.window_size", v.window_size, 64)?;
        in_range("vision_config.projection_dim", v.projection_dim, MAX_DIM)?;
        in_range("vision_config.max_position_embeddings", v.max_position_embeddings, MAX_POSITIONS)?;
        if !(v.mlp_ratio.is_finite() && v.mlp_ratio > 0.0 && v.mlp_ratio <= 16.0) {
            return Err(format!("vision_config.mlp_ratio is {}; it must be in (0, 16]", v.mlp_ratio));
        }

        let t = &self.text_config;
        in_range("text_config.d_model", t.d_model, MAX_DIM)?;
        in_range("text_config.encoder_layers", t.encoder_layers, MAX_LAYERS)?;
        in_range("text_config.decoder_layers", t.decoder_layers, MAX_LAYERS)?;
        in_range("text_config.encoder_ffn_dim", t.encoder_ffn_dim, 4 * MAX_DIM)?;
        in_range("text_config.decoder_ffn_dim", t.decoder_ffn_dim, 4 * MAX_DIM)?;
        in_range("text_config.vocab_size", t.vocab_size, MAX_VOCAB)?;
        in_range("text_config.max_position_embeddings", t.max_position_embeddings, MAX_POSITIONS)?;
        for (what, heads) in [("encoder_attention_heads", t.encoder_attention_heads), ("decoder_attention_heads", t.decoder_attention_heads)] {
            in_range(&format!("text_config.{what}"), heads, t.d_model)?;
            if t.d_model % heads != 0 {
                return Err(format!("text_config.{what} = {heads} does not divide d_model = {}", t.d_model));
            }
        }
        for (what, id) in [
            ("image_token_id", self.image_token_id),
            ("text_config.bos_token_id", t.bos_token_id),
            ("text_config.eos_token_id", t.eos_token_id),
            ("text_config.pad_token_id", t.pad_token_id),
            ("text_config.decoder_start_token_id", t.decoder_start_token_id),
        ] {
            if id as usize >= t.vocab_size {
                return Err(format!("{what} = {id} is outside the vocabulary of {} tokens", t.vocab_size));
            }
        }
        if t.scale_embedding {
            return Err("scale_embedding = true is not supported (Florence-2 never uses it)".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> serde_json::Value {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../public/models/demo/config.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn with(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Florence2Config, String> {
        let mut v = demo();
        edit(&mut v);
        Florence2Config::from_json(&v.to_string())
    }

    #[test]
    fn shipped_configs_pass() {
        assert!(with(|_| {}).is_ok());
        for f in ["tiny224", "tiny768", "geom2_photo"] {
            let text = std::fs::read_to_string(format!("{}/../../tests/fixtures/florence2/{f}/config.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
            Florence2Config::from_json(&text).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
        for f in ["config_base.json", "config_large.json"] {
            let text = std::fs::read_to_string(format!("{}/../../tests/fixtures/florence2/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            Florence2Config::from_json(&text).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        type Edit = fn(&mut serde_json::Value);
        let cases: [(Edit, &str); 14] = [
            (|v| v["vision_config"]["embed_dim"][0] = 0.into(), "embed_dim[0] is 0"),
            (|v| v["vision_config"]["window_size"] = 0.into(), "window_size is 0"),
            (|v| v["vision_config"]["num_heads"][1] = 7.into(), "does not divide"),
            (|v| v["vision_config"]["num_groups"][0] = 0.into(), "num_groups[0] is 0"),
            (|v| v["vision_config"]["depths"] = serde_json::json!([1]), "depths has 1 stages"),
            (|v| {
                for k in ["embed_dim", "num_heads", "num_groups", "depths", "patch_size", "patch_stride", "patch_padding", "patch_prenorm"] {
                    v["vision_config"][k] = serde_json::json!([]);
                }
            }, "no stages"),
            (|v| v["vision_config"]["patch_stride"][0] = 0.into(), "patch_stride[0] is 0"),
            (|v| v["vision_config"]["mlp_ratio"] = (-1.0).into(), "mlp_ratio"),
            (|v| v["text_config"]["d_model"] = 0.into(), "d_model is 0"),
            (|v| v["text_config"]["encoder_attention_heads"] = 5.into(), "does not divide d_model"),
            (|v| v["text_config"]["vocab_size"] = 3_000_000_000u64.into(), "vocab_size"),
            (|v| v["image_token_id"] = 999_999.into(), "image_token_id"),
            (|v| v["text_config"]["eos_token_id"] = 999_999.into(), "eos_token_id"),
            (|v| v["text_config"]["max_position_embeddings"] = 0.into(), "max_position_embeddings is 0"),
        ];
        for (edit, want) in cases {
            let err = with(edit).unwrap_err();
            assert!(err.contains(want), "want {want:?}, got {err}");
        }
        let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(2 << 20));
        assert!(Florence2Config::from_json(&huge).unwrap_err().contains("more than a model config"));
    }
}
