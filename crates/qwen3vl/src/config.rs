//! `config.json` of a Qwen3-VL checkpoint (transformers' `Qwen3VLConfig` layout: `text_config`,
//! `vision_config`, token ids at the top). Only what the forward pass needs is read, and every
//! number the model divides by, loops over or sizes a buffer with is checked here, once.

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Qwen3VlConfig {
    pub text_config: TextConfig,
    pub vision_config: VisionConfig,
    pub image_token_id: u32,
    pub vision_start_token_id: u32,
    pub vision_end_token_id: u32,
    /// lm_head shares the token embedding (Qwen3-VL-2B: true). Read at the top level, where
    /// transformers 5 writes it, else from text_config.
    #[serde(default)]
    pub tie_word_embeddings: Option<bool>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TextConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    pub head_dim: usize,
    pub rms_norm_eps: f64,
    pub rope_parameters: TextRope,
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub hidden_act: Option<String>,
    #[serde(default)]
    pub tie_word_embeddings: Option<bool>,
    #[serde(default)]
    pub eos_token_id: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TextRope {
    pub rope_theta: f64,
    /// Frequencies per axis (temporal, height, width), summing to head_dim / 2.
    pub mrope_section: [usize; 3],
    #[serde(default)]
    pub rope_type: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct VisionConfig {
    pub depth: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_heads: usize,
    pub patch_size: usize,
    pub spatial_merge_size: usize,
    pub temporal_patch_size: usize,
    pub out_hidden_size: usize,
    pub num_position_embeddings: usize,
    pub deepstack_visual_indexes: Vec<usize>,
    #[serde(default)]
    pub in_channels: Option<usize>,
    #[serde(default)]
    pub hidden_act: Option<String>,
    #[serde(default)]
    pub rope_parameters: Option<VisionRope>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct VisionRope {
    pub rope_theta: f64,
}

/// Bounds far above Qwen3-VL-8B (text 4096 wide, 36 layers, vocab 151,936; ViT 1152 wide, 27
/// blocks, 2304 positions); they keep a hostile config from sizing buffers or loops without bound
/// before a weight is read.
const MAX_DIM: usize = 16_384;
const MAX_FFN: usize = 65_536;
const MAX_LAYERS: usize = 256;
const MAX_VOCAB: usize = 1 << 20;
const MAX_HEAD_DIM: usize = visionllm_gpu::ops::attention::MAX_HEAD_DIM;
const MAX_POSITIONS: usize = 1 << 16;

fn in_range(what: &str, value: usize, max: usize) -> Result<(), String> {
    if value == 0 || value > max {
        return Err(format!("{what} is {value}; it must be 1..={max}"));
    }
    Ok(())
}

fn divides(what: &str, part: usize, whole_what: &str, whole: usize) -> Result<(), String> {
    if part == 0 || whole % part != 0 {
        return Err(format!("{what} = {part} does not divide {whole_what} = {whole}"));
    }
    Ok(())
}

impl Qwen3VlConfig {
    pub fn from_json(text: &str) -> Result<Self, String> {
        visionllm_weights::limits::check_size(visionllm_weights::limits::FileKind::Config, "config.json", text.len() as u64)?;
        let cfg: Qwen3VlConfig = serde_json::from_str(text).map_err(|e| format!("config.json: {e}"))?;
        cfg.validate().map_err(|e| format!("config.json: {e}"))?;
        Ok(cfg)
    }

    /// Whether lm_head is the token embedding (top level first, then text_config; default false
    /// as in transformers).
    pub fn tied_embeddings(&self) -> bool {
        self.tie_word_embeddings.or(self.text_config.tie_word_embeddings).unwrap_or(false)
    }

    fn validate(&self) -> Result<(), String> {
        let t = &self.text_config;
        in_range("text_config.vocab_size", t.vocab_size, MAX_VOCAB)?;
        in_range("text_config.hidden_size", t.hidden_size, MAX_DIM)?;
        in_range("text_config.intermediate_size", t.intermediate_size, MAX_FFN)?;
        in_range("text_config.num_hidden_layers", t.num_hidden_layers, MAX_LAYERS)?;
        in_range("text_config.num_attention_heads", t.num_attention_heads, MAX_DIM)?;
        in_range("text_config.num_key_value_heads", t.num_key_value_heads, t.num_attention_heads)?;
        divides("text_config.num_key_value_heads", t.num_key_value_heads, "num_attention_heads", t.num_attention_heads)?;
        in_range("text_config.head_dim", t.head_dim, MAX_HEAD_DIM)?;
        if t.head_dim % 2 != 0 {
            return Err(format!("text_config.head_dim {} must be even (rotary pairs)", t.head_dim));
        }
        if t.num_attention_heads * t.head_dim > MAX_DIM {
            return Err(format!("text_config: {} heads of {} exceed {MAX_DIM} columns", t.num_attention_heads, t.head_dim));
        }
        let sections: usize = t.rope_parameters.mrope_section.iter().sum();
        if sections != t.head_dim / 2 {
            return Err(format!("text_config.rope_parameters.mrope_section {:?} sums to {sections}, not head_dim / 2 = {}", t.rope_parameters.mrope_section, t.head_dim / 2));
        }
        // The interleaved layout gives height and width every third frequency from 1 and 2.
        let [_, sh, sw] = t.rope_parameters.mrope_section;
        if 3 * sh > t.head_dim / 2 || 3 * sw > t.head_dim / 2 {
            return Err(format!("text_config.rope_parameters.mrope_section {:?} does not fit head_dim / 2 = {} interleaved", t.rope_parameters.mrope_section, t.head_dim / 2));
        }
        check_positive_finite("text_config.rope_parameters.rope_theta", t.rope_parameters.rope_theta)?;
        check_eps("text_config.rms_norm_eps", t.rms_norm_eps)?;
        if let Some(kind) = &t.rope_parameters.rope_type {
            if kind != "default" {
                return Err(format!("text_config.rope_parameters.rope_type {kind:?} is not supported (only \"default\")"));
            }
        }
        if let Some(act) = &t.hidden_act {
            if act != "silu" {
                return Err(format!("text_config.hidden_act {act:?} is not supported (only \"silu\")"));
            }
        }
        let v = &self.vision_config;
        in_range("vision_config.depth", v.depth, MAX_LAYERS)?;
        in_range("vision_config.hidden_size", v.hidden_size, MAX_DIM)?;
        in_range("vision_config.intermediate_size", v.intermediate_size, MAX_FFN)?;
        in_range("vision_config.num_heads", v.num_heads, v.hidden_size)?;
        divides("vision_config.num_heads", v.num_heads, "hidden_size", v.hidden_size)?;
        let vhd = v.hidden_size / v.num_heads;
        if vhd % 4 != 0 || vhd > MAX_HEAD_DIM {
            return Err(format!("vision head dim {vhd} must be a multiple of 4 (2-D rotary) and at most {MAX_HEAD_DIM}"));
        }
        in_range("vision_config.patch_size", v.patch_size, 64)?;
        in_range("vision_config.spatial_merge_size", v.spatial_merge_size, 8)?;
        in_range("vision_config.temporal_patch_size", v.temporal_patch_size, 8)?;
        in_range("vision_config.out_hidden_size", v.out_hidden_size, MAX_DIM)?;
        if v.out_hidden_size != t.hidden_size {
            return Err(format!("vision_config.out_hidden_size {} must equal text_config.hidden_size {}", v.out_hidden_size, t.hidden_size));
        }
        in_range("vision_config.num_position_embeddings", v.num_position_embeddings, MAX_POSITIONS)?;
        let side = integer_sqrt(v.num_position_embeddings);
        if side * side != v.num_position_embeddings {
            return Err(format!("vision_config.num_position_embeddings {} is not a square grid", v.num_position_embeddings));
        }
        if v.in_channels.is_some_and(|c| c != 3) {
            return Err("vision_config.in_channels must be 3 (RGB)".into());
        }
        if let Some(act) = &v.hidden_act {
            if act != "gelu_pytorch_tanh" {
                return Err(format!("vision_config.hidden_act {act:?} is not supported (only \"gelu_pytorch_tanh\")"));
            }
        }
        if let Some(rope) = &v.rope_parameters {
            check_positive_finite("vision_config.rope_parameters.rope_theta", rope.rope_theta)?;
        }
        // DeepStack features are added after the first decoder layers, one per listed ViT block.
        let mut seen = std::collections::BTreeSet::new();
        for &i in &v.deepstack_visual_indexes {
            if i >= v.depth || !seen.insert(i) {
                return Err(format!("vision_config.deepstack_visual_indexes {:?} must be distinct blocks below depth {}", v.deepstack_visual_indexes, v.depth));
            }
        }
        if v.deepstack_visual_indexes.len() > t.num_hidden_layers {
            return Err(format!("{} DeepStack features for {} decoder layers", v.deepstack_visual_indexes.len(), t.num_hidden_layers));
        }
        for (what, id) in [("image_token_id", self.image_token_id), ("vision_start_token_id", self.vision_start_token_id), ("vision_end_token_id", self.vision_end_token_id)] {
            if id as usize >= t.vocab_size {
                return Err(format!("{what} {id} is outside the vocabulary of {}", t.vocab_size));
            }
        }
        Ok(())
    }

    /// The vision tower's rotary base (10,000 when the config omits it, as transformers does).
    pub fn vision_rope_theta(&self) -> f64 {
        self.vision_config.rope_parameters.as_ref().map_or(10_000.0, |r| r.rope_theta)
    }

    /// Side of the learned position grid (num_position_embeddings = side^2).
    pub fn position_grid_side(&self) -> usize {
        integer_sqrt(self.vision_config.num_position_embeddings)
    }
}

fn integer_sqrt(n: usize) -> usize {
    let mut r = (n as f64).sqrt() as usize;
    while r * r > n {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= n {
        r += 1;
    }
    r
}

fn check_positive_finite(what: &str, v: f64) -> Result<(), String> {
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("{what} {v} must be finite and positive"));
    }
    Ok(())
}

fn check_eps(what: &str, v: f64) -> Result<(), String> {
    if !(v.is_finite() && (0.0..1.0).contains(&v)) {
        return Err(format!("{what} {v} must be in [0, 1)"));
    }
    Ok(())
}
