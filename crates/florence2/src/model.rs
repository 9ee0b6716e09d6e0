//! Florence-2 assembled: load a checkpoint directory, run the vision tower and projector, the
//! encoder, and decoder steps. Generation lives in `generate.rs`.

#[cfg(not(target_arch = "wasm32"))]
use std::path::Path;
use std::sync::Arc;

use thiserror::Error;
use visionllm_gpu::ops::copy;
use visionllm_gpu::{DType, Gpu, GpuError, Recorder, Tensor};
use visionllm_weights::{Checkpoint, WeightsError};

use crate::config::Florence2Config;
use crate::language::LanguageModel;
use crate::load::Loader;
use crate::projector::Projector;
use crate::vision::{Tap, VisionTower};

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("model configuration: {0}")]
    Config(String),
    #[error("input: {0}")]
    Input(String),
    #[error("numerics: {0}")]
    Numerics(String),
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

pub type Result<T> = std::result::Result<T, ModelError>;

pub struct Florence2 {
    pub gpu: Arc<Gpu>,
    pub cfg: Florence2Config,
    pub dtype: DType,
    pub vision: VisionTower,
    pub projector: Projector,
    pub language: LanguageModel,
}

impl Florence2 {
    /// Load from a checkpoint directory (`config.json` + safetensors) in activation dtype `dtype`
    /// (F32 everywhere; F16 where the device has shader-f16).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_dir(gpu: Arc<Gpu>, dir: &Path, dtype: DType) -> Result<Florence2> {
        let config_path = dir.join("config.json");
        let text = visionllm_weights::limits::read_text(&config_path, visionllm_weights::limits::FileKind::Config).map_err(ModelError::Config)?;
        let cfg = Florence2Config::from_json(&text).map_err(ModelError::Config)?;
        let ckpt = Checkpoint::open_dir(dir)?;
        Self::load(gpu, cfg, &ckpt, dtype)
    }

    pub fn load(gpu: Arc<Gpu>, cfg: Florence2Config, ckpt: &Checkpoint, dtype: DType) -> Result<Florence2> {
        if dtype == DType::F16 && !gpu.caps.f16 {
            return Err(ModelError::Config("f16 activations need shader-f16, which this device lacks".into()));
        }
        let l = Loader { gpu: &gpu, ckpt, dtype };
        let vision = VisionTower::load(&l, &cfg.vision_config)?;
        let projector = Projector::load(&l, &cfg)?;
        let language = LanguageModel::load(&l, &cfg.text_config)?;
        Ok(Florence2 { gpu: gpu.clone(), cfg, dtype, vision, projector, language })
    }

    /// pixel values [3, S, S] (CHW, as the reference processor gives them) -> image features
    /// [1 + (S/32)^2, d].
    pub fn image_features(&self, rec: &mut Recorder, pixel_values_chw: &[f32], size: usize, tap: Tap) -> Result<Tensor> {
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
}
