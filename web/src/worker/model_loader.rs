//! Getting a model into the worker: the one place that knows where weights come from.
//!
//! Three sources:
//! - our converted format (manifest.json + shards): each shard downloaded into browser storage
//!   (resumable), verified by sha256 before it is marked complete, re-hashed before each load;
//! - a checkpoint of the transformers layout with `quantize` set (a Hugging Face repository):
//!   quantized while it downloads (`hf_convert`), the converted shards stored the same way;
//! - a checkpoint of the transformers layout without `quantize`: fetched into memory as is
//!   (small checkpoints only: tests, the fixtures).
//!
//! From storage the model is built tensor by tensor (`Checkpoint::from_converted_reader`), so wasm
//! memory holds one tensor of the file at a time, never the model. Storage is OPFS, else the Cache
//! API (`shard_cache`); with neither, converted shards are fetched into memory and checked the same way.

use std::sync::Arc;

use visionllm_florence2::{preprocess, Florence2, Florence2Config};
use visionllm_gpu::{DType, Gpu};
use visionllm_tasks::Florence2Tokenizer;
use visionllm_weights::{Checkpoint, Manifest, Stored};

use super::fetch::{fetch_bytes, fetch_text};
use super::hf_convert;
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

/// Progress of one stage, at most every ~100 ms so a large download shows bytes, speed and ETA
/// without flooding the page.
struct Reporter {
    stage: Stage,
    started: f64,
    last: f64,
    done: u64,
    total: Option<u64>,
}

impl Reporter {
    fn new(stage: Stage, total: Option<u64>) -> Reporter {
        Reporter { stage, started: now_ms(), last: 0.0, done: 0, total }
    }

    fn add(&mut self, n: u64) {
        self.done += n;
        let t = now_ms();
        if t - self.last > 100.0 {
            self.last = t;
            progress(Progress { job: None, stage: self.stage, done: self.done, total: self.total, elapsed_ms: t - self.started });
        }
    }

    fn end(&self) {
        progress(Progress { job: None, stage: self.stage, done: self.done, total: Some(self.done), elapsed_ms: now_ms() - self.started });
    }
}

pub async fn load_model(gpu: &Arc<Gpu>, files: &ModelFiles) -> Result<LoadedModel, String> {
    let config_text = fetch_text(&url(&files.base_url, &files.config)).await?;
    let cfg = Florence2Config::from_json(&config_text)?;
    let preprocessor_text = fetch_text(&url(&files.base_url, &files.preprocessor)).await?;
    let input_size = preprocess::input_size(&preprocessor_text)?;
    let tokenizer_bytes = fetch_bytes(&url(&files.base_url, &files.tokenizer), &mut |_| {}).await?;
    let tokenizer = Florence2Tokenizer::from_bytes(&tokenizer_bytes).map_err(|e| e.to_string())?;
    let mut bytes = (config_text.len() + preprocessor_text.len() + tokenizer_bytes.len()) as u64;

    let quantize = match files.quantize.as_deref() {
        Some(q) => Some(Stored::parse(q).ok_or_else(|| format!("quantize: {q:?} is not q4, q8, f16 or f32"))?),
        None => None,
    };
    let checkpoint = match (&files.manifest, quantize) {
        (Some(name), _) => {
            let text = fetch_text(&url(&files.base_url, name)).await?;
            bytes += text.len() as u64;
            let manifest = Manifest::from_json(&text).map_err(|e| format!("{name}: {e}"))?;
            converted(files, manifest, &mut bytes).await?
        }
        (None, Some(quant)) => quantized_while_downloading(files, quant, &mut bytes).await?,
        (None, None) => {
            let mut report = Reporter::new(Stage::Download, files.total_bytes);
            let mut shards = Vec::new();
            for name in &files.weights {
                shards.push((name.clone(), fetch_bytes(&url(&files.base_url, name), &mut |n| report.add(n)).await?));
            }
            report.end();
            bytes += report.done;
            Checkpoint::from_bytes(shards).map_err(|e| e.to_string())?
        }
    };

    let weight_bytes = checkpoint.manifest().map(|m| m.total_bytes);
    let started = now_ms();
    progress(Progress { job: None, stage: Stage::Load, done: 0, total: weight_bytes, elapsed_ms: 0.0 });
    // f32 activations: correct on every adapter (the fallback adapters lack shader-f16).
    let model = Florence2::load(gpu.clone(), cfg, &checkpoint, DType::F32).map_err(|e| e.to_string())?;
    progress(Progress { job: None, stage: Stage::Load, done: weight_bytes.unwrap_or(0), total: weight_bytes, elapsed_ms: now_ms() - started });
    Ok(LoadedModel { model, tokenizer, input_size, bytes })
}

/// Our converted format: through browser storage (OPFS or the Cache API: resumable, verified, read
/// tensor by tensor), or into memory where there is neither (every shard checked before use).
async fn converted(files: &ModelFiles, manifest: Manifest, bytes: &mut u64) -> Result<Checkpoint, String> {
    let mut report = Reporter::new(Stage::Download, Some(manifest.total_bytes));
    let checkpoint = match ShardCache::open(&files.id).await? {
        Some(cache) => {
            web_sys::console::log_1(&format!("{}: shards stored in {}", files.id, cache.kind()).into());
            shard_download::check_space(&cache, &manifest, &files.id).await?;
            let mut opened = Vec::new();
            for info in &manifest.shards {
                opened.push(shard_download::ensure(&cache, &files.base_url, info, &mut |n| report.add(n)).await?);
            }
            // Verified as they were stored and re-hashed just now; read one tensor at a time.
            Checkpoint::from_converted_reader(manifest, Box::new(OpfsReader { files: opened }))
        }
        None => {
            let mut shards = Vec::new();
            for info in &manifest.shards {
                shards.push(fetch_bytes(&url(&files.base_url, &info.file), &mut |n| report.add(n)).await?);
            }
            Checkpoint::from_converted(manifest, shards)
        }
    };
    report.end();
    *bytes += report.done;
    checkpoint.map_err(|e| e.to_string())
}

/// The transformers layout, quantized while downloading into browser storage.
async fn quantized_while_downloading(files: &ModelFiles, quant: Stored, bytes: &mut u64) -> Result<Checkpoint, String> {
    let cache = ShardCache::open(&files.id).await?.ok_or("quantizing while downloading needs browser storage (OPFS or the Cache API), and this browser offers neither")?;
    web_sys::console::log_1(&format!("{}: converted shards stored in {}", files.id, cache.kind()).into());
    let mut report = Reporter::new(Stage::Convert, None);
    // Twice at most: a shard damaged in storage since it was made is removed when the load
    // re-hashes it, and the second pass makes it again.
    for _ in 0..2 {
        let manifest = hf_convert::ensure_converted(&cache, &files.base_url, &files.weights, quant, &files.id, &mut |done, total| {
            report.total = Some(total);
            report.add(done.saturating_sub(report.done));
        })
        .await?;
        let mut opened = Vec::new();
        for info in &manifest.shards {
            match shard_download::open_verified(&cache, info).await? {
                Some(file) => opened.push(file),
                None => break,
            }
        }
        if opened.len() == manifest.shards.len() {
            report.end();
            *bytes += report.done;
            return Checkpoint::from_converted_reader(manifest, Box::new(OpfsReader { files: opened })).map_err(|e| e.to_string());
        }
    }
    Err("the converted shards keep failing verification in browser storage; delete this model in the model panel and load it again".into())
}
