//! Florence-2 assembled: load a checkpoint directory, run the vision tower and projector, the
//! encoder, and decoder steps. The model owns what only it knows (its input size, its image-token
//! id, the order of its stages), so a caller cannot feed a 224 model 768 pixels or forget the
//! projector. Generation lives in `generate.rs`.

#[cfg(not(target_arch = "wasm32"))]
use std::path::Path;

use visionllm_gpu::ops::copy;
use visionllm_gpu::{DType, Device, Recorder, Tensor};
use visionllm_weights::Checkpoint;

use crate::config::Florence2Config;
use crate::language::LanguageModel;
use crate::load::Loader;
use crate::preprocess;
use crate::projector::Projector;
use crate::vision::{Tap, VisionTower};

pub use visionllm_modelkit::{ModelError, Result};

pub struct Florence2 {
    pub(crate) device: Device,
    pub(crate) cfg: Florence2Config,
    dtype: DType,
    /// The square side images are resized to (preprocessor_config.json).
    input_size: usize,
    vision: VisionTower,
    projector: Projector,
    pub(crate) language: LanguageModel,
}

impl Florence2 {
    /// Load from a checkpoint directory (`config.json`, `preprocessor_config.json` + safetensors)
    /// in activation dtype `dtype` (F32 everywhere; F16 where the device has shader-f16).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_dir(device: Device, dir: &Path, dtype: DType) -> Result<Florence2> {
        use visionllm_weights::limits::{read_text, FileKind};
        let text = read_text(&dir.join("config.json"), FileKind::Config).map_err(ModelError::Config)?;
        let cfg = Florence2Config::from_json(&text).map_err(ModelError::Config)?;
        // Required: guessing 768 for a 224 model gives wrong answers silently.
        let pre = read_text(&dir.join("preprocessor_config.json"), FileKind::PreprocessorConfig).map_err(ModelError::Config)?;
        let input_size = preprocess::input_size(&pre).map_err(ModelError::Config)?;
        let ckpt = Checkpoint::open_dir(dir)?;
        Self::load(device, cfg, input_size, &ckpt, dtype)
    }

    /// `input_size` is `preprocess::input_size` of the model's preprocessor_config.json.
    pub fn load(device: Device, cfg: Florence2Config, input_size: usize, ckpt: &Checkpoint, dtype: DType) -> Result<Florence2> {
        if dtype == DType::F16 && !device.supports_f16() {
            return Err(ModelError::Config(format!("f16 activations need a GPU with shader-f16, not this {}", device.describe())));
        }
        if !preprocess::INPUT_SIZES.contains(&input_size) {
            let (lo, hi) = (preprocess::INPUT_SIZES.start(), preprocess::INPUT_SIZES.end());
            return Err(ModelError::Config(format!("input size {input_size}: must be {lo}..={hi}")));
        }
        let l = Loader { device: &device, ckpt, dtype };
        let vision = VisionTower::load(&l, &cfg.vision_config)?;
        let projector = Projector::load(&l, &cfg)?;
        let language = LanguageModel::load(&l, &cfg.text_config)?;
        Ok(Florence2 { device, cfg, dtype, input_size, vision, projector, language })
    }

    /// The backend the model was loaded on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn config(&self) -> &Florence2Config {
        &self.cfg
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The square side the model sees (224, 384, 768...).
    pub fn input_size(&self) -> usize {
        self.input_size
    }

    /// Interleaved RGB pixels of any size -> the pixel values this model takes (Pillow's bicubic
    /// resize to its input size, normalised, CHW).
    pub fn pixel_values(&self, rgb: &[u8], width: usize, height: usize) -> Result<Vec<f32>> {
        let want = width.checked_mul(height).and_then(|n| n.checked_mul(3));
        if width == 0 || height == 0 || want != Some(rgb.len()) {
            return Err(ModelError::Input(format!("{} bytes of RGB for a {width}x{height} image", rgb.len())));
        }
        Ok(preprocess::pixel_values(rgb, width, height, self.input_size))
    }

    /// Pixel values [3, S, S] (CHW, as `pixel_values` or the reference processor give them) ->
    /// image features [1 + (S/32)^2, d]: vision tower, then projector.
    pub fn image_features(&self, rec: &mut Recorder, pixel_values_chw: &[f32], tap: Tap) -> Result<Tensor> {
        let size = self.input_size;
        if pixel_values_chw.len() != 3 * size * size {
            return Err(ModelError::Input(format!("{} pixel values for a {size}x{size} RGB image", pixel_values_chw.len())));
        }
        let chw = rec.upload_as(&[3, size, size], pixel_values_chw, self.dtype);
        let hwc = copy::permute(rec, &chw, &[1, 2, 0])?;
        let last = self.vision.forward(rec, &hwc, tap)?;
        let features = self.projector.forward(rec, &last)?;
        tap("projector.image_features", &features);
        Ok(features)
    }

    /// The encoder over the prompt ids, with the image features in place of the image tokens.
    pub fn encode(&self, rec: &mut Recorder, input_ids: &[u32], features: &Tensor, tap: Tap) -> Result<Tensor> {
        self.language.encode(rec, input_ids, self.cfg.image_token_id, features, tap)
    }

    /// The decoder's first step from the decoder start token: logits [1, vocab]. For dumps and
    /// the reference tests, which compare the first step's activations.
    pub fn first_step_logits(&self, rec: &mut Recorder, encoded: &Tensor, tap: Tap) -> Result<Tensor> {
        let mut state = self.language.start(rec, encoded, 1)?;
        let start = self.cfg.text_config.decoder_start_token_id;
        let logits = self.language.step(rec, &mut state, &[start], tap)?;
        tap("decoder.logits", &logits);
        Ok(logits)
    }
}
