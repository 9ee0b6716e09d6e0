//! The protocol between the page (UI thread) and the inference worker.
//!
//! Every message is a plain JS object `{v, json, bytes?}`: `v` is [`PROTOCOL_VERSION`], `json` a
//! serde_json string of [`ToWorker`] or [`FromWorker`], and `bytes` an optional `ArrayBuffer`
//! payload (image pixels) that is *transferred*, not copied. Pixels never go through JSON: a 4K
//! image would be hundreds of MB of text. A peer that receives another version refuses the message
//! with a clear error instead of misreading it (a stale cached worker next to a new page).

use serde::{Deserialize, Serialize};
use visionllm_tasks::{BoundingBox, RouteOptions};

pub use crate::backend_choice::{BackendChoice, Compute};

/// Bump when a message changes shape (2: `TestHook`, `Crashed`, `Notice`; 3: `Run::decoding`,
/// `JobUpdate`, structured `TaskRun`, `JobResult::status`; 4: `TaskRun` and `Timings` are the model's
/// own `CallAnswer` (with the beam score) and `JobTimings`; 6: `JobResult::chat` and
/// `ModelFiles::chat_files` for model family #2; 7: `Stage::Masks`; 8: `Init::backend`,
/// `DeviceReady` with the backend in `CapabilityReport`, no `GpuUnavailable`).
pub const PROTOCOL_VERSION: u32 = 8;

/// Least time between two `JobUpdate`s of a job: a fast GPU makes ~100 tokens a second, and the
/// page need not redraw for each.
pub const UPDATE_INTERVAL_MS: f64 = 80.0;

/// Page -> worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWorker {
    /// Open the device: `backend` is the user's stored choice (`backend_choice`); `overrides` is
    /// the page query (`?no-f16&no-subgroups`, `backend=cpu` wins over the stored choice).
    Init {
        overrides: String,
        #[serde(default)]
        backend: BackendChoice,
    },
    /// Download (or read from cache) and load a model; replaces the loaded one.
    LoadModel { model: ModelFiles },
    /// Run an instruction on an image. `bytes` carries RGBA pixels, `width * height * 4` long.
    Run { job: u64, width: u32, height: u32, instruction: String, region: Option<BoundingBox>, decoding: DecodingMode },
    /// Stop job `job` at the next stage or token boundary.
    Cancel { job: u64 },
    /// Report the models cached in browser storage (answered with `Cache`).
    ListCache,
    /// Delete a model's cached shards (answered with `Cache`).
    DeleteCache { id: String },
    /// Inject a fault or an answer, for the end-to-end tests: `"panic"` (a Rust panic in the
    /// worker), `"lose-device"` (destroy the GPU device), `"answer:TEXT"` (family #2's next answer)
    /// or `"mask-answer:TEXT"` (Florence-2's answer for each box of the next masks step). Honoured only when the page's query contains
    /// `test-hooks` (it arrives as `Init`'s `overrides`); refused with an `Error` otherwise.
    TestHook { action: String },
}

/// A model whose shards are in browser storage (OPFS), complete or partial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CachedModel {
    pub id: String,
    pub bytes: u64,
}

/// Where a model's files live. URLs are relative to the page (or absolute for remote models).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelFiles {
    pub id: String,
    pub base_url: String,
    pub config: String,
    pub tokenizer: String,
    pub preprocessor: String,
    /// safetensors files in the transformers layout; several for a sharded checkpoint. Empty when
    /// `manifest` is set.
    pub weights: Vec<String>,
    /// Our converted format (`visionllm convert`): the manifest lists the shards, their sizes and
    /// sha256; each shard is verified before the model is built from it.
    #[serde(default)]
    pub manifest: Option<String>,
    /// With `weights` (the transformers layout): quantize while downloading, to `q4`, `q8` or
    /// `f16`, and cache the converted shards, so the checkpoint never sits whole in memory.
    #[serde(default)]
    pub quantize: Option<String>,
    /// Total bytes when known (from the catalog), for progress before Content-Length arrives.
    pub total_bytes: Option<u64>,
    /// Text files an LLM-based family also reads (Qwen3-VL: `chat_template.jinja`,
    /// `tokenizer_config.json`, `generation_config.json`), each fetched when listed.
    #[serde(default)]
    pub chat_files: Vec<String>,
    /// A Florence-2 trained on the region tasks (`<REGION_TO_...>`), so it may outline family
    /// #2's boxes once stored; the shapes demo was not (`"region_tasks": false` in the catalog).
    #[serde(default = "crate::catalog::yes")]
    pub region_tasks: bool,
}

/// Worker -> page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromWorker {
    /// The worker's module loaded and is listening (sent before `Init`).
    Alive,
    /// The device is open: a WebGPU device, or the CPU backend (always there: without WebGPU
    /// the model runs on the CPU), and why that one.
    DeviceReady { caps: CapabilityReport },
    Progress(Progress),
    /// `wasm_heap` is the worker's wasm memory after loading; wasm memory never shrinks, so this
    /// is the peak of the load.
    ModelLoaded { id: String, load_ms: f64, bytes: u64, #[serde(default)] wasm_heap: u64 },
    /// The answer so far, while the job decodes (at most every `UPDATE_INTERVAL_MS`, and first
    /// when the first token exists, so a job cancelled before that leaves the last result alone).
    JobUpdate { job: u64, result: JobResult },
    JobDone { job: u64, result: JobResult },
    /// The job stopped at the user's request; the page keeps what the last `JobUpdate` showed.
    JobCancelled { job: u64 },
    /// The models in browser storage, after `ListCache`, `DeleteCache` or a model load.
    Cache { models: Vec<CachedModel> },
    /// `job` is `None` for errors outside a job (model loading, a bad message).
    Error { job: Option<u64>, message: String },
    /// Sent by the panic hook: the worker's wasm instance is about to abort (`job` is the job it
    /// was running). The page replaces the worker and reloads the model.
    Crashed { job: Option<u64>, message: String },
    /// Something the user should know that is not an error, e.g. the GPU device was lost and has
    /// been re-created, with the model reloaded from browser storage.
    Notice { message: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Download,
    /// Downloading a checkpoint of the transformers layout and quantizing it on the way.
    Convert,
    Load,
    /// The throwaway run after loading that compiles the GPU pipelines (worker::engine::warm_up).
    Compile,
    Preprocess,
    Vision,
    Encoder,
    Decode,
    /// Family #2 asked to segment: a stored Florence-2 outlines each box (`done` of `total` boxes).
    Masks,
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::Download => "Downloading model",
            Stage::Convert => "Downloading and quantizing model",
            Stage::Load => "Loading the weights",
            Stage::Compile => "Compiling the GPU kernels",
            Stage::Preprocess => "Preparing the image",
            Stage::Vision => "Looking at the image",
            Stage::Encoder => "Reading the instruction",
            Stage::Decode => "Writing the answer",
            Stage::Masks => "Outlining each box (Florence-2)",
        }
    }
}

/// `done` of `total` units: bytes for download and load, tokens for decode (total = the token
/// limit), calls for the other stages. `total` is `None` when unknown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub job: Option<u64>,
    pub stage: Stage,
    pub done: u64,
    pub total: Option<u64>,
    /// Milliseconds since the stage began (for speed and ETA).
    pub elapsed_ms: f64,
}

/// What the capability panel shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CapabilityReport {
    /// What the model runs on, the choice it came from, and why.
    pub compute: Compute,
    pub choice: BackendChoice,
    pub why: String,
    /// The CPU backend's threads (1: the single-threaded build, ARCHITECTURE.md "Backends").
    pub threads: usize,
    /// On the CPU: the WebGPU adapter that was there and not used (a software one).
    pub unused_adapter: Option<String>,
    pub adapter: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    /// A software adapter (SwiftShader, lavapipe): works, slowly.
    pub fallback: bool,
    pub f16: bool,
    pub f16_offered: bool,
    pub subgroups: bool,
    pub max_buffer_mib: u64,
    pub max_binding_mib: u64,
    pub max_workgroup_storage_kib: u64,
    pub summary: String,
}

/// How the worker decodes: the user's choice, remembered per browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodingMode {
    /// 3 beams, Florence-2's published setting: better answers, about 3x the decoder's work.
    Accurate,
    /// Greedy: one hypothesis.
    Fast,
}

impl DecodingMode {
    pub const ALL: [DecodingMode; 2] = [DecodingMode::Accurate, DecodingMode::Fast];

    /// Accurate on a real GPU; fast on a software (fallback) adapter or the CPU, where each step
    /// costs more.
    pub fn default_for(slow_device: bool) -> DecodingMode {
        if slow_device {
            DecodingMode::Fast
        } else {
            DecodingMode::Accurate
        }
    }

    /// The name stored in the browser and used in the page (`"accurate"`, `"fast"`).
    pub fn name(self) -> &'static str {
        match self {
            DecodingMode::Accurate => "accurate",
            DecodingMode::Fast => "fast",
        }
    }

    pub fn from_name(name: &str) -> Option<DecodingMode> {
        DecodingMode::ALL.into_iter().find(|m| m.name() == name.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            DecodingMode::Accurate => "accurate (3 beams)",
            DecodingMode::Fast => "fast (greedy)",
        }
    }

    /// Beams for this mode (1 = greedy).
    pub fn beams(self) -> usize {
        match self {
            DecodingMode::Accurate => 3,
            DecodingMode::Fast => 1,
        }
    }
}

/// One model call of a job and its parsed answer: the model's own record, sent as is.
pub use visionllm_florence2::CallAnswer as TaskRun;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Decoding: the last run is the answer so far.
    Running,
    Done,
    /// Stopped by the user: the runs are what had been shown.
    Cancelled,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    pub instruction: String,
    pub explanation: String,
    pub fallback: bool,
    pub options: RouteOptions,
    pub image_width: u32,
    pub image_height: u32,
    pub decoding: DecodingMode,
    pub status: JobStatus,
    pub runs: Vec<TaskRun>,
    pub timings: Timings,
    /// Model family #2's answer (Qwen3-VL: the instruction as written, no task calls): `runs`
    /// is empty then.
    #[serde(default)]
    pub chat: Option<ChatRun>,
}

/// What family #2 answered: the generated text (so far, while decoding), what was asked for,
/// and the instances parsed from its JSON grounding answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatRun {
    pub system: Option<String>,
    pub answer: visionllm_tasks::chat_request::ChatAnswer,
    pub generated_text: String,
    pub instances: Vec<visionllm_tasks::Instance>,
    pub new_tokens: usize,
    /// Something the user should know about this answer: which model drew the masks, or why
    /// segmenting gave boxes only.
    pub note: Option<String>,
}

/// Milliseconds per stage: the model's own record, sent as is.
pub use visionllm_florence2::JobTimings as Timings;

/// Why an envelope could not be read.
#[derive(Debug, PartialEq)]
pub enum EnvelopeError {
    Version { got: u32 },
    Json(String),
}

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvelopeError::Version { got } => write!(
                f,
                "message protocol v{got}, expected v{PROTOCOL_VERSION}: the page and the worker come from different builds; reload the page"
            ),
            EnvelopeError::Json(e) => write!(f, "unreadable message: {e}"),
        }
    }
}

/// The JSON text of a message (the `json` field of the envelope).
pub fn encode<T: Serialize>(message: &T) -> String {
    serde_json::to_string(message).expect("messages serialize")
}

/// Check the version, then parse the JSON text.
pub fn decode<T: for<'de> Deserialize<'de>>(version: u32, json: &str) -> Result<T, EnvelopeError> {
    if version != PROTOCOL_VERSION {
        return Err(EnvelopeError::Version { got: version });
    }
    serde_json::from_str(json).map_err(|e| EnvelopeError::Json(e.to_string()))
}
