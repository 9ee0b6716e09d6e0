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


use visionllm_florence2::{preprocess, Florence2, Florence2Config};
use visionllm_qwen3vl::{CheckpointTexts, Qwen3Vl};
use visionllm_gpu::{DType, Device};
use visionllm_tasks::Florence2Tokenizer;
use visionllm_weights::limits::FileKind;
use visionllm_weights::{Checkpoint, Manifest, Stored};

use super::fetch::{fetch_bytes, fetch_text, fetch_text_validated, Limit};
use super::hf_convert;
use super::segmenter;
use super::shard_cache::ShardCache;
use super::shard_download::{self, url, OpfsReader};
use super::tab_lock::{self, TabLock};
use super::{now_ms, progress};
use crate::messages::{ModelFiles, Progress, Stage};

/// The model families the worker can hold; `engine` is the one place that runs either.
pub enum Family {
    Florence2 { model: Florence2, tokenizer: Florence2Tokenizer },
    /// Family #2: the tokenizer and chat template are the model's own.
    Qwen3Vl(Qwen3Vl),
}

pub struct LoadedModel {
    pub family: Family,
    /// Bytes downloaded (weights and text files).
    pub bytes: u64,
    /// The weights as stored (the converted manifest's total, else the bytes fetched).
    pub weight_bytes: u64,
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

pub async fn load_model(device: &Device, files: &ModelFiles) -> Result<LoadedModel, String> {
    // Every size is capped by the kind of file before its body is read (`fetch::Limit`); names
    // from the catalog, a manifest or an index only ever extend the base URL as plain names (`url`).
    let (config_text, config_seen) = fetch_text_validated(&url(&files.base_url, &files.config)?, FileKind::Config).await?;
    let model_type = serde_json::from_str::<serde_json::Value>(&config_text).ok().and_then(|v| v["model_type"].as_str().map(str::to_owned));
    let preprocessor_text = fetch_text(&url(&files.base_url, &files.preprocessor)?, FileKind::PreprocessorConfig).await?;
    let (tokenizer_bytes, _) = fetch_bytes(&url(&files.base_url, &files.tokenizer)?, Limit::Kind(FileKind::Tokenizer), &mut |_| {}).await?;
    let mut bytes = (config_text.len() + preprocessor_text.len() + tokenizer_bytes.len()) as u64;
    // What the family needs besides the weights, checked before any weight is fetched.
    let pending = if model_type.as_deref() == Some("qwen3_vl") {
        let mut texts = CheckpointTexts {
            config: config_text,
            preprocessor_config: preprocessor_text,
            tokenizer_json: tokenizer_bytes,
            chat_template: None,
            tokenizer_config: None,
            generation_config: None,
        };
        bytes += chat_files(files, &mut texts).await?;
        Pending::Qwen3Vl(texts)
    } else {
        let cfg = Florence2Config::from_json(&config_text)?;
        let input_size = preprocess::input_size(&preprocessor_text)?;
        let tokenizer = Florence2Tokenizer::from_bytes(&tokenizer_bytes).map_err(|e| e.to_string())?;
        Pending::Florence2 { cfg, input_size, tokenizer }
    };

    let quantize = match files.quantize.as_deref() {
        Some(q) => Some(Stored::parse(q).ok_or_else(|| format!("quantize: {q:?} is not q4, q8, f16 or f32"))?),
        None => None,
    };
    // Held until the model is built from storage (the shards' files are closed then), so another
    // tab loading the same model waits instead of colliding on the same files.
    let (checkpoint, _lock, stored_in) = match (&files.manifest, quantize) {
        (Some(name), _) => {
            let text = fetch_text(&url(&files.base_url, name)?, FileKind::Manifest).await?;
            bytes += text.len() as u64;
            let manifest = Manifest::from_json(&text).map_err(|e| format!("{name}: {e}"))?;
            converted(files, manifest, &mut bytes).await?
        }
        (None, Some(quant)) => quantized_while_downloading(files, quant, config_seen.commit.as_deref(), &mut bytes).await?,
        (None, None) => {
            let mut report = Reporter::new(Stage::Download, files.total_bytes);
            let mut shards = Vec::new();
            for name in &files.weights {
                shards.push((name.clone(), fetch_bytes(&url(&files.base_url, name)?, Limit::Weights, &mut |n| report.add(n)).await?.0));
            }
            report.end();
            bytes += report.done;
            (Checkpoint::from_bytes(shards).map_err(|e| e.to_string())?, None, None)
        }
    };

    let weight_bytes = checkpoint.manifest().map(|m| m.total_bytes);
    let started = now_ms();
    progress(Progress { job: None, stage: Stage::Load, done: 0, total: weight_bytes, elapsed_ms: 0.0 });
    // f32 activations: correct on every adapter (the fallback adapters lack shader-f16).
    let family = match pending {
        Pending::Florence2 { cfg, input_size, tokenizer } => {
            let model = Florence2::load(device.clone(), cfg, input_size, &checkpoint, DType::F32).map_err(|e| e.to_string())?;
            // Complete in storage and loadable: family #2 may borrow it for masks from now on.
            if let Some(cache) = &stored_in {
                segmenter::remember(cache, files).await;
            }
            Family::Florence2 { model, tokenizer }
        }
        Pending::Qwen3Vl(texts) => Family::Qwen3Vl(Qwen3Vl::load(device.clone(), &texts, &checkpoint, DType::F32).map_err(|e| e.to_string())?),
    };
    progress(Progress { job: None, stage: Stage::Load, done: weight_bytes.unwrap_or(0), total: weight_bytes, elapsed_ms: now_ms() - started });
    Ok(LoadedModel { family, bytes, weight_bytes: weight_bytes.unwrap_or(bytes) })
}

/// A family's text files, read before its weights.
enum Pending {
    Florence2 { cfg: Florence2Config, input_size: usize, tokenizer: Florence2Tokenizer },
    Qwen3Vl(CheckpointTexts),
}

/// Qwen3-VL's chat template (`chat_template.jinja`, else inside `tokenizer_config.json`) and
/// `generation_config.json` (its end-of-sequence ids). Listed files must load; without a list
/// (a repository typed by the user) the usual names are tried and a missing one skipped.
async fn chat_files(files: &ModelFiles, texts: &mut CheckpointTexts) -> Result<u64, String> {
    const USUAL: [&str; 3] = ["chat_template.jinja", "tokenizer_config.json", "generation_config.json"];
    let listed = !files.chat_files.is_empty();
    let names: Vec<String> = if listed { files.chat_files.clone() } else { USUAL.iter().map(|s| s.to_string()).collect() };
    let mut bytes = 0;
    for name in names {
        let kind = match name.as_str() {
            "chat_template.jinja" => FileKind::ChatTemplate,
            "tokenizer_config.json" => FileKind::TokenizerConfig,
            "generation_config.json" => FileKind::Config,
            other => return Err(format!("chat file {other:?}: the loader reads chat_template.jinja, tokenizer_config.json and generation_config.json")),
        };
        let text = match fetch_text(&url(&files.base_url, &name)?, kind).await {
            Ok(text) => text,
            Err(_) if !listed => continue,
            Err(e) => return Err(e),
        };
        bytes += text.len() as u64;
        match kind {
            FileKind::ChatTemplate => texts.chat_template = Some(text),
            FileKind::TokenizerConfig => texts.tokenizer_config = Some(text),
            _ => texts.generation_config = Some(text),
        }
    }
    Ok(bytes)
}

/// Our converted format: through browser storage (OPFS or the Cache API: resumable, verified, read
/// tensor by tensor), or into memory where there is neither (every shard checked before use).
async fn converted(files: &ModelFiles, manifest: Manifest, bytes: &mut u64) -> Result<(Checkpoint, Option<TabLock>, Option<ShardCache>), String> {
    let mut report = Reporter::new(Stage::Download, Some(manifest.total_bytes));
    let lock = tab_lock::hold(&files.id).await?;
    let cache = ShardCache::open(&files.id).await?;
    let checkpoint = match &cache {
        Some(cache) => {
            web_sys::console::log_1(&format!("{}: shards stored in {}", files.id, cache.kind()).into());
            shard_download::check_space(&cache, &manifest, &files.id).await?;
            let mut opened = Vec::new();
            for index in 0..manifest.shards.len() {
                opened.push(shard_download::ensure(&cache, &files.base_url, &manifest, index, &mut |n| report.add(n)).await?);
            }
            // Verified as they were stored and re-hashed just now; read one tensor at a time.
            Checkpoint::from_converted_reader(manifest, Box::new(OpfsReader { files: opened }))
        }
        None => {
            let mut shards = Vec::new();
            for info in &manifest.shards {
                shards.push(fetch_bytes(&url(&files.base_url, &info.file)?, Limit::Shard(info.bytes), &mut |n| report.add(n)).await?.0);
            }
            // Size, sha256 and header of each, as natively.
            Checkpoint::from_converted(manifest, shards)
        }
    };
    report.end();
    *bytes += report.done;
    Ok((checkpoint.map_err(|e| e.to_string())?, lock, cache))
}

/// The transformers layout, quantized while downloading into browser storage. `commit`: the
/// revision config.json came from, when the host says.
async fn quantized_while_downloading(files: &ModelFiles, quant: Stored, commit: Option<&str>, bytes: &mut u64) -> Result<(Checkpoint, Option<TabLock>, Option<ShardCache>), String> {
    let mut report = Reporter::new(Stage::Convert, None);
    // Twice at most: a shard damaged in storage since it was made is removed when the load
    // re-hashes it, and the second pass makes it again.
    for _ in 0..2 {
        let converted = hf_convert::ensure_converted(&files.base_url, &files.weights, quant, &files.id, commit, &mut |done, total| {
            report.total = Some(total);
            report.add(done.saturating_sub(report.done));
        })
        .await?;
        let mut opened = Vec::new();
        for index in 0..converted.manifest.shards.len() {
            match shard_download::open_verified(&converted.cache, &converted.manifest, index).await? {
                Some(file) => opened.push(file),
                None => break,
            }
        }
        if opened.len() == converted.manifest.shards.len() {
            report.end();
            *bytes += report.done;
            let checkpoint = Checkpoint::from_converted_reader(converted.manifest, Box::new(OpfsReader { files: opened })).map_err(|e| e.to_string())?;
            return Ok((checkpoint, converted.lock, Some(converted.cache)));
        }
    }
    Err("the converted shards keep failing verification in browser storage; delete this model in the model panel and load it again".into())
}
