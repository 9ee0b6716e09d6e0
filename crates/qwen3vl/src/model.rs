//! Qwen3-VL assembled: a checkpoint directory (config, processor config, tokenizer, chat
//! template, weights) becomes a model that turns an RGB image and an instruction into prompt ids,
//! image features, prefill logits and decode steps. The model owns the order of its stages and
//! the positional bookkeeping (the image tokens' rows, the next rotary position), so a caller
//! cannot misplace the image or restart positions.


use visionllm_gpu::{DType, Device, Recorder, Tensor};
use visionllm_modelkit::{Loader, ModelError, Result, Tap};
use visionllm_weights::Checkpoint;

use crate::chat::ChatPrompt;
use crate::config::Qwen3VlConfig;
use crate::positions::{multimodal_positions, text_rotary, Grid};
use crate::preprocess::ImageProcessor;
use crate::text::{DecoderState, ImageRows, TextModel};
use crate::vision::{VisionOutput, VisionTower};

/// The text files of a checkpoint besides its weights.
pub struct CheckpointTexts {
    pub config: String,
    pub preprocessor_config: String,
    pub tokenizer_json: Vec<u8>,
    pub chat_template: Option<String>,
    pub tokenizer_config: Option<String>,
    pub generation_config: Option<String>,
}

pub struct Qwen3Vl {
    device: Device,
    cfg: Qwen3VlConfig,
    dtype: DType,
    pub processor: ImageProcessor,
    pub chat: ChatPrompt,
    vision: VisionTower,
    text: TextModel,
    eos: Vec<u32>,
}

/// A prompt ready for the decoder: its ids, where its image tokens start, and positions.
pub struct Prompt {
    pub ids: Vec<u32>,
    pub image_start: usize,
    pub grid: Grid,
    positions: [Vec<u32>; 3],
    /// The rotary position of the first generated token.
    pub next_position: u32,
}

impl Prompt {
    /// Rotary positions along axis 0 (temporal), 1 (height) or 2 (width).
    pub fn positions(&self, axis: usize) -> &[u32] {
        &self.positions[axis]
    }
}

impl Qwen3Vl {
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_dir(device: Device, dir: &std::path::Path, dtype: DType) -> Result<Qwen3Vl> {
        use visionllm_weights::limits::{read_text, FileKind};
        let read = |name: &str, kind| read_text(&dir.join(name), kind).map_err(ModelError::Config);
        let optional = |name: &str, kind| if dir.join(name).exists() { read(name, kind).map(Some) } else { Ok(None) };
        let texts = CheckpointTexts {
            config: read("config.json", FileKind::Config)?,
            preprocessor_config: read("preprocessor_config.json", FileKind::PreprocessorConfig)?,
            tokenizer_json: read("tokenizer.json", FileKind::Tokenizer)?.into_bytes(),
            chat_template: optional("chat_template.jinja", FileKind::ChatTemplate)?,
            tokenizer_config: optional("tokenizer_config.json", FileKind::TokenizerConfig)?,
            generation_config: optional("generation_config.json", FileKind::Config)?,
        };
        let ckpt = Checkpoint::open_dir(dir)?;
        Self::load(device, &texts, &ckpt, dtype)
    }

    pub fn load(device: Device, texts: &CheckpointTexts, ckpt: &Checkpoint, dtype: DType) -> Result<Qwen3Vl> {
        if dtype == DType::F16 && !device.supports_f16() {
            return Err(ModelError::Config(format!("f16 activations need a GPU with shader-f16, not this {}", device.describe())));
        }
        let cfg = Qwen3VlConfig::from_json(&texts.config).map_err(ModelError::Config)?;
        let processor = ImageProcessor::from_json(&texts.preprocessor_config).map_err(ModelError::Config)?;
        if processor.patch_size != cfg.vision_config.patch_size || processor.merge_size != cfg.vision_config.spatial_merge_size || processor.temporal_patch_size != cfg.vision_config.temporal_patch_size {
            return Err(ModelError::Config("preprocessor_config.json and config.json disagree on patch, merge or temporal patch size".into()));
        }
        let template = ChatPrompt::template_from(texts.chat_template.clone(), texts.tokenizer_config.as_deref()).map_err(ModelError::Config)?;
        let chat = ChatPrompt::new(template, &texts.tokenizer_json, cfg.image_token_id).map_err(ModelError::Config)?;
        let eos = eos_ids(texts.generation_config.as_deref(), &cfg, &chat);
        let l = Loader { device: &device, ckpt, dtype };
        let vision = VisionTower::load(&l, &cfg)?;
        let text = TextModel::load(&l, &cfg, dtype)?;
        Ok(Qwen3Vl { device, cfg, dtype, processor, chat, vision, text, eos })
    }

    /// The backend the model was loaded on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn config(&self) -> &Qwen3VlConfig {
        &self.cfg
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn vocab_size(&self) -> usize {
        self.text.vocab
    }

    /// Token ids that end generation (generation_config.json's eos_token_id, else <|im_end|>).
    pub fn eos_ids(&self) -> &[u32] {
        &self.eos
    }

    /// The image's patches and grid, as the reference processor makes them.
    pub fn pixel_values(&self, rgb: &[u8], width: usize, height: usize) -> Result<(Vec<f32>, Grid)> {
        self.processor.pixel_values(rgb, width, height).map_err(ModelError::Input)
    }

    /// The prompt for an instruction about an image of `grid` patches, after an optional system
    /// message.
    pub fn prompt(&self, system: Option<&str>, instruction: &str, grid: Grid) -> Result<Prompt> {
        let merge = self.cfg.vision_config.spatial_merge_size;
        let merged = Grid { h: grid.h / merge, w: grid.w / merge };
        let ids = self.chat.input_ids(system, instruction, merged.patches()).map_err(ModelError::Input)?;
        let image_start = ids.iter().position(|&t| t == self.cfg.image_token_id).unwrap_or(0);
        let (positions, next_position) = multimodal_positions(&ids, self.cfg.image_token_id, merged);
        Ok(Prompt { ids, image_start, grid, positions, next_position })
    }

    /// The ViT on the processor's patches [grid patches, patch_len].
    pub fn image_features(&self, rec: &mut Recorder, patches: &[f32], grid: Grid, tap: Tap) -> Result<VisionOutput> {
        let n = grid.patches();
        if patches.len() != n * self.vision.patch_len {
            return Err(ModelError::Input(format!("{} pixel values for {n} patches of {}", patches.len(), self.vision.patch_len)));
        }
        let t = rec.upload_as(&[n, self.vision.patch_len], patches, self.dtype);
        self.vision.forward(rec, &t, grid, tap)
    }

    /// Caches for the prompt plus `max_new_tokens`.
    pub fn start(&self, rec: &mut Recorder, prompt: &Prompt, max_new_tokens: usize) -> DecoderState {
        self.text.start(rec, prompt.ids.len() + max_new_tokens, self.dtype)
    }

    /// The prompt through the decoder (image rows replaced, DeepStack added): logits [1, vocab]
    /// of its last position.
    pub fn prefill(&self, rec: &mut Recorder, state: &mut DecoderState, prompt: &Prompt, image: &VisionOutput, tap: Tap) -> Result<Tensor> {
        if !state.is_empty() {
            return Err(ModelError::Input("prefill on a decoder state that already holds tokens".into()));
        }
        let (cos, sin) = text_rotary(&prompt.positions, self.text.head_dim, self.cfg.text_config.rope_parameters.rope_theta, self.cfg.text_config.rope_parameters.mrope_section);
        let l = prompt.ids.len();
        let cos = rec.upload_f32(&[l, self.text.head_dim], &cos);
        let sin = rec.upload_f32(&[l, self.text.head_dim], &sin);
        tap("prefill.rotary_cos", &cos);
        tap("prefill.rotary_sin", &sin);
        let rows = ImageRows { start: prompt.image_start, embeds: &image.image_embeds, deepstack: &image.deepstack };
        self.text.forward(rec, state, &prompt.ids, &cos, &sin, Some(rows), tap)
    }

    /// One generated token through the decoder: logits [1, vocab] for the next. `step` counts
    /// generated tokens already fed (0 for the first).
    pub fn decode_step(&self, rec: &mut Recorder, state: &mut DecoderState, prompt: &Prompt, step: usize, token: u32) -> Result<Tensor> {
        let position = prompt.next_position + step as u32;
        let pos = [vec![position], vec![position], vec![position]];
        let (cos, sin) = text_rotary(&pos, self.text.head_dim, self.cfg.text_config.rope_parameters.rope_theta, self.cfg.text_config.rope_parameters.mrope_section);
        let cos = rec.upload_f32(&[1, self.text.head_dim], &cos);
        let sin = rec.upload_f32(&[1, self.text.head_dim], &sin);
        self.text.forward(rec, state, &[token], &cos, &sin, None, &mut |_, _| {})
    }
}

/// generation_config.json's eos_token_id (a number or a list), else config's text eos, else the
/// tokenizer's <|im_end|>.
fn eos_ids(generation_config: Option<&str>, cfg: &Qwen3VlConfig, chat: &ChatPrompt) -> Vec<u32> {
    let ids = |v: &serde_json::Value| -> Vec<u32> {
        match v {
            serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()).into_iter().collect(),
            serde_json::Value::Array(a) => a.iter().filter_map(|n| n.as_u64()).filter_map(|n| u32::try_from(n).ok()).collect(),
            _ => Vec::new(),
        }
    };
    let from_generation = generation_config.and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok()).map(|v| ids(&v["eos_token_id"])).unwrap_or_default();
    let mut out = if from_generation.is_empty() { cfg.text_config.eos_token_id.as_ref().map(ids).unwrap_or_default() } else { from_generation };
    if out.is_empty() {
        out.extend(chat.token_id("<|im_end|>"));
    }
    out.retain(|&t| (t as usize) < cfg.text_config.vocab_size);
    out
}
