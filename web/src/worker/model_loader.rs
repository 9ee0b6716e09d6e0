//! Getting a model into the worker: the one place that knows where weights come from.
//!
//! Two sources, both plain `fetch` into memory with progress: a Hugging Face-layout checkpoint
//! (config.json, tokenizer.json, preprocessor_config.json, safetensors) read by
//! `Checkpoint::from_bytes`, or our converted format (manifest.json + quantized shards), where each
//! shard is checked (size, sha256, header against the manifest) before `Checkpoint::from_converted`
//! builds the model, so bad bytes never reach the GPU. The OPFS cache of issue 5 goes behind
//! [`load_model`]; its signature (files in, loaded model out, progress on the way) is what the
//! rest relies on.

use std::sync::Arc;

use visionllm_florence2::{preprocess, Florence2, Florence2Config};
use visionllm_gpu::{DType, Gpu};
use visionllm_tasks::Florence2Tokenizer;
use visionllm_weights::{Checkpoint, Manifest};

use super::fetch::{fetch_bytes, fetch_text};
use super::shard_cache::ShardCache;
use super::shard_download::{self, url, OpfsReader};
use super::{now_ms, progress};
use crate::messages::{ModelFiles, Progress, Stage};

pub struct LoadedModel {
    pub model: Florence2,
    pub tokenizer: Florence2Tokenizer,
    /// The square input side from preprocessor_config.json (768 for the real models).
    pub input_size: usize,
    /// Bytes downloaded (weights and text files).
    pub bytes: u64,
}

pub async fn load_model(gpu: &Arc<Gpu>, files: &ModelFiles) -> Result<LoadedModel, String> {
    let config_text = fetch_text(&url(&files.base_url, &files.config)).await?;
    let cfg = Florence2Config::from_json(&config_text)?;
    let preprocessor_text = fetch_text(&url(&files.base_url, &files.preprocessor)).await?;
    let input_size = preprocess::input_size(&preprocessor_text).ok_or("preprocessor_config.json is not JSON with a size.height")?;
    let tokenizer_bytes = fetch_bytes(&url(&files.base_url, &files.tokenizer), &mut |_| {}).await?;
    let tokenizer = Florence2Tokenizer::from_bytes(&tokenizer_bytes).map_err(|e| e.to_string())?;
    let mut bytes = (config_text.len() + preprocessor_text.len() + tokenizer_bytes.len()) as u64;

    let manifest = match &files.manifest {
        Some(name) => {
            let text = fetch_text(&url(&files.base_url, name)).await?;
            bytes += text.len() as u64;
            Some(Manifest::from_json(&text).map_err(|e| format!("{name}: {e}"))?)
        }
        None => None,
    };
    let total = manifest.as_ref().map(|m| m.total_bytes).or(files.total_bytes);

    // Weights, with progress every ~100 ms so a large download shows bytes, speed and ETA.
    let started = now_ms();
    let mut downloaded = 0u64;
    let mut last_report = 0.0;
    let mut report = |n: u64| {
        downloaded += n;
        let t = now_ms();
        if t - last_report > 100.0 {
            last_report = t;
            progress(Progress { job: None, stage: Stage::Download, done: downloaded, total, elapsed_ms: t - started });
        }
    };
    // The converted format goes through the OPFS cache (resumable, verified, then read tensor by
    // tensor); without OPFS, and for the transformers layout, the files are fetched into memory.
    let cache = match &manifest {
        Some(_) => ShardCache::open(&files.id).await?,
        None => None,
    };
    let mut shards = Vec::new();
    let mut stored = None;
    match (&manifest, &cache) {
        (Some(m), Some(cache)) => {
            shard_download::check_space(cache, m, &files.id).await?;
            let mut opened = Vec::new();
            for info in &m.shards {
                opened.push(shard_download::ensure(cache, &files.base_url, info, &mut report).await?);
            }
            stored = Some(OpfsReader { files: opened });
        }
        _ => {
            let names = manifest.as_ref().map_or_else(|| files.weights.clone(), |m| m.shards.iter().map(|s| s.file.clone()).collect());
            for name in names {
                let data = fetch_bytes(&url(&files.base_url, &name), &mut report).await?;
                shards.push((name, data));
            }
        }
    }
    progress(Progress { job: None, stage: Stage::Download, done: downloaded, total: Some(downloaded), elapsed_ms: now_ms() - started });
    bytes += downloaded;

    let load_started = now_ms();
    progress(Progress { job: None, stage: Stage::Load, done: 0, total: Some(downloaded), elapsed_ms: 0.0 });
    let checkpoint = match (manifest, stored) {
        // Verified as they were stored and re-hashed just now; read one tensor at a time.
        (Some(manifest), Some(reader)) => Checkpoint::from_converted_reader(manifest, Box::new(reader)).map_err(|e| e.to_string())?,
        // Checks every shard (size, sha256, header) before anything is built from it.
        (Some(manifest), None) => Checkpoint::from_converted(manifest, shards.into_iter().map(|(_, data)| data).collect()).map_err(|e| e.to_string())?,
        (None, _) => Checkpoint::from_bytes(shards).map_err(|e| e.to_string())?,
    };
    // f32 activations: correct everywhere; f16 waits for the quantized format (issue 5).
    let model = Florence2::load(gpu.clone(), cfg, &checkpoint, DType::F32).map_err(|e| e.to_string())?;
    progress(Progress { job: None, stage: Stage::Load, done: downloaded, total: Some(downloaded), elapsed_ms: now_ms() - load_started });
    Ok(LoadedModel { model, tokenizer, input_size, bytes })
}
