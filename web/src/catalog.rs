//! The model catalog (`models/catalog.json`, a static file next to the page) and the numbers the
//! model manager shows: sizes, download speed, ETA.

use serde::{Deserialize, Serialize};

use crate::messages::ModelFiles;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Where remote models come from unless the user sets another host (`{host}` in base_url).
    pub default_host: String,
    pub default_model: String,
    pub models: Vec<CatalogModel>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogModel {
    pub id: String,
    pub name: String,
    /// Shown under the name: what the model is good for, or why it is not usable yet.
    pub note: String,
    /// Directory URL, relative to the page for embedded models; `{host}` is replaced.
    pub base_url: String,
    pub files: CatalogFiles,
    /// Total download in bytes; `None` until the converter publishes the files.
    pub size_bytes: Option<u64>,
    pub precision: String,
    /// Ships inside the site: works offline.
    #[serde(default)]
    pub embedded: bool,
    /// The loader can read this format today.
    #[serde(default)]
    pub available: bool,
    /// See `ModelFiles::region_tasks` (false for the shapes demo).
    #[serde(default = "yes")]
    pub region_tasks: bool,
    /// What a model that knows little knows (the shapes demo), said beside its answers.
    #[serde(default)]
    pub knows: Option<String>,
    /// The model to offer beside its answers, one click away (the demo offers Florence-2-base).
    #[serde(default)]
    pub upgrade: Option<String>,
    /// Bytes the model takes in browser storage once loaded, where the download is not that
    /// (quantized while downloading).
    #[serde(default)]
    pub stored_bytes: Option<u64>,
}

/// serde's default for flags that hold unless a file says otherwise.
pub fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogFiles {
    pub config: String,
    pub tokenizer: String,
    pub preprocessor: String,
    #[serde(default)]
    pub weights: Vec<String>,
    /// The converted format's manifest (shards listed there) instead of `weights`.
    #[serde(default)]
    pub manifest: Option<String>,
    /// Quantize `weights` while downloading (`q4`, `q8`, `f16`); see `ModelFiles::quantize`.
    #[serde(default)]
    pub quantize: Option<String>,
    /// See `ModelFiles::chat_files`.
    #[serde(default)]
    pub chat_files: Vec<String>,
}

impl CatalogModel {
    /// The files to load, with `{host}` replaced by `host` (trailing slashes trimmed).
    pub fn model_files(&self, host: &str) -> ModelFiles {
        ModelFiles {
            id: self.id.clone(),
            base_url: self.base_url.replace("{host}", host.trim_end_matches('/')),
            config: self.files.config.clone(),
            tokenizer: self.files.tokenizer.clone(),
            preprocessor: self.files.preprocessor.clone(),
            weights: self.files.weights.clone(),
            manifest: self.files.manifest.clone(),
            quantize: self.files.quantize.clone(),
            total_bytes: self.size_bytes,
            chat_files: self.files.chat_files.clone(),
            region_tasks: self.region_tasks,
        }
    }
}

/// A Hugging Face repository of the transformers layout typed by the user ("owner/name"), loaded
/// like a catalog entry with `quantize`: converted while it downloads, cached as `hf-owner--name-q4`.
pub fn repository_files(repo: &str, quantize: &str, host: &str) -> Result<ModelFiles, String> {
    let repo = repo.trim().trim_matches('/');
    let ok = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) && part != "." && part != "..";
    let (owner, name) = repo.split_once('/').filter(|(o, n)| ok(o) && ok(n)).ok_or_else(|| {
        format!("{repo:?} is not a repository name: type owner/name, e.g. florence-community/Florence-2-base-ft")
    })?;
    if !matches!(quantize, "q4" | "q8" | "f16") {
        return Err(format!("{quantize:?}: choose q4, q8 or f16"));
    }
    Ok(ModelFiles {
        id: format!("hf-{owner}--{name}-{quantize}"),
        base_url: format!("{}/{owner}/{name}/resolve/main/", host.trim_end_matches('/')),
        config: "config.json".into(),
        tokenizer: "tokenizer.json".into(),
        preprocessor: "preprocessor_config.json".into(),
        weights: vec!["model.safetensors".into()],
        manifest: None,
        quantize: Some(quantize.into()),
        total_bytes: None,
        chat_files: Vec::new(),
        region_tasks: true,
    })
}

/// "1.4 MB", "230 MB", "1.23 GB" (powers of 1000, as browsers and hosts show downloads).
pub fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1e3 {
        format!("{bytes} B")
    } else if b < 1e6 {
        format!("{:.0} kB", b / 1e3)
    } else if b < 1e9 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.2} GB", b / 1e9)
    }
}

/// Bytes per second so far.
pub fn speed(done: u64, elapsed_ms: f64) -> Option<f64> {
    (elapsed_ms > 0.0 && done > 0).then(|| done as f64 * 1000.0 / elapsed_ms)
}

/// Seconds left at the average speed so far.
pub fn eta_seconds(done: u64, total: Option<u64>, elapsed_ms: f64) -> Option<f64> {
    let total = total?;
    let s = speed(done, elapsed_ms)?;
    Some(total.saturating_sub(done) as f64 / s)
}

/// "12 s", "3 min 5 s".
pub fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// Percent done, when the total is known and nonzero.
pub fn percent(done: u64, total: Option<u64>) -> Option<f64> {
    total.filter(|&t| t > 0).map(|t| (done as f64 * 100.0 / t as f64).min(100.0))
}
