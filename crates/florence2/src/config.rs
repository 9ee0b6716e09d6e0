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

impl Florence2Config {
    pub fn from_json(text: &str) -> Result<Self, String> {
        let cfg: Florence2Config = serde_json::from_str(text).map_err(|e| format!("config.json: {e}"))?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), String> {
        let v = &self.vision_config;
        let n = v.embed_dim.len();
        for (what, len) in [("num_heads", v.num_heads.len()), ("num_groups", v.num_groups.len()), ("depths", v.depths.len()), ("patch_size", v.patch_size.len()), ("patch_stride", v.patch_stride.len()), ("patch_padding", v.patch_padding.len()), ("patch_prenorm", v.patch_prenorm.len())] {
            if len != n {
                return Err(format!("config.json: vision_config.{what} has {len} stages, embed_dim has {n}"));
            }
        }
        if self.text_config.scale_embedding {
            return Err("config.json: scale_embedding = true is not supported (Florence-2 never uses it)".into());
        }
        Ok(())
    }
}
