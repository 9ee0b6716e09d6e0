//! The page's state: plain signals (cheap to copy into views and handlers). Browser objects
//! that are not `Send` (the worker, the decoded image) live in `StoredValue::new_local`.

use futures_channel::oneshot;
use leptos::prelude::*;
use visionllm_tasks::export::Categories;
use visionllm_tasks::BoundingBox;
use web_sys::HtmlCanvasElement;

use crate::catalog::Catalog;
use crate::messages::{BackendChoice, CapabilityReport, Compute, DecodingMode, JobResult, Progress};

/// Where the decoding choice is remembered (localStorage).
const DECODING_KEY: &str = "visionllm.decoding";

/// The worker's device: opening, open (a WebGPU device or the CPU backend, in the report), or the
/// worker itself could not start (the page explains what to do).
#[derive(Clone, Debug, PartialEq)]
pub enum DeviceStatus {
    Starting,
    Ready(CapabilityReport),
    Unavailable(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ModelStatus {
    None,
    Loading { id: String },
    Loaded { id: String, bytes: u64, load_ms: f64 },
    Failed { id: String, message: String },
}

/// The image on screen. `serial` changes with every new image, so views redraw.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageInfo {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub serial: u64,
}

/// How a job ended, for whoever started it (the batch and the camera wait for their own).
#[derive(Clone, Debug, PartialEq)]
pub enum JobEnd {
    Done(JobResult),
    Cancelled,
    Failed(String),
}

#[derive(Clone, Copy)]
pub struct AppState {
    pub device: RwSignal<DeviceStatus>,
    pub catalog: RwSignal<Option<Catalog>>,
    /// Where remote models come from (the catalog's `{host}`).
    pub host: RwSignal<String>,
    pub selected_model: RwSignal<String>,
    pub model: RwSignal<ModelStatus>,
    /// Models in browser storage (from the worker).
    pub cached: RwSignal<Vec<crate::messages::CachedModel>>,
    /// The latest progress event (download, load, or a job stage).
    pub progress: RwSignal<Option<Progress>>,
    pub image: RwSignal<Option<ImageInfo>>,
    /// The decoded image at full size; drawing and the worker's pixels come from it.
    pub source: StoredValue<Option<HtmlCanvasElement>, LocalStorage>,
    pub instruction: RwSignal<String>,
    /// The running job, if any.
    pub job: RwSignal<Option<u64>>,
    pub next_job: StoredValue<u64>,
    pub result: RwSignal<Option<JobResult>>,
    /// Who waits for the running job's end (the batch, the camera): told once, by `job_ended`.
    waiter: StoredValue<Option<(u64, oneshot::Sender<JobEnd>)>, LocalStorage>,
    /// The user is looking at something other than the running job (a finished image of the
    /// batch): the job's answers then do not replace what is shown.
    pub pinned_view: RwSignal<bool>,
    /// The last thing that went wrong, shown in the message bar.
    pub error: RwSignal<Option<String>>,
    /// Something the user should know that is not an error (the worker was restarted, the GPU
    /// device re-created), shown until dismissed.
    pub notice: RwSignal<Option<String>>,
    /// A dataset's categories the user loaded (`--categories` of the CLI): labels that are theirs
    /// get their ids in the COCO exports; COCO's own classes keep COCO's ids either way.
    pub categories: RwSignal<Option<(String, Categories)>>,
    pub hovered: RwSignal<Option<usize>>,
    pub hidden_classes: RwSignal<Vec<String>>,
    /// Drawing a region with the mouse instead of hovering.
    pub region_mode: RwSignal<bool>,
    pub region: RwSignal<Option<BoundingBox>>,
    /// The user's decoding choice, remembered per browser; `None` until they choose (then the
    /// adapter decides: see `decoding_mode`).
    pub decoding: RwSignal<Option<DecodingMode>>,
}

impl AppState {
    pub fn new() -> Self {
        AppState {
            device: RwSignal::new(DeviceStatus::Starting),
            catalog: RwSignal::new(None),
            host: RwSignal::new(String::new()),
            selected_model: RwSignal::new(String::new()),
            model: RwSignal::new(ModelStatus::None),
            cached: RwSignal::new(Vec::new()),
            progress: RwSignal::new(None),
            image: RwSignal::new(None),
            source: StoredValue::new_local(None),
            instruction: RwSignal::new(String::new()),
            job: RwSignal::new(None),
            next_job: StoredValue::new(1),
            result: RwSignal::new(None),
            waiter: StoredValue::new_local(None),
            pinned_view: RwSignal::new(false),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            categories: RwSignal::new(None),
            hovered: RwSignal::new(None),
            hidden_classes: RwSignal::new(Vec::new()),
            region_mode: RwSignal::new(false),
            region: RwSignal::new(None),
            decoding: RwSignal::new(stored_decoding()),
        }
    }

    /// The decoding the next job uses: the user's choice, else accurate on a real GPU and fast on
    /// a software adapter or the CPU.
    pub fn decoding_mode(&self) -> DecodingMode {
        self.decoding.get().unwrap_or_else(|| {
            let slow = matches!(self.device.get(), DeviceStatus::Ready(caps) if caps.fallback || caps.compute == Compute::Cpu);
            DecodingMode::default_for(slow)
        })
    }

    /// Choose and remember (a browser without storage just forgets at reload).
    pub fn choose_decoding(&self, mode: DecodingMode) {
        self.decoding.set(Some(mode));
        if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = storage.set_item(DECODING_KEY, mode.name());
        }
    }

    /// A future that resolves when `job` ends (call right after starting it).
    pub fn wait_for(&self, job: u64) -> oneshot::Receiver<JobEnd> {
        let (tx, rx) = oneshot::channel();
        self.waiter.set_value(Some((job, tx)));
        rx
    }

    /// The worker client saw `job` end: tell whoever waits for it.
    pub fn job_ended(&self, job: u64, end: JobEnd) {
        if let Some((waiting, tx)) = self.waiter.try_update_value(|w| w.take()).flatten() {
            if waiting == job {
                let _ = tx.send(end);
            } else {
                self.waiter.set_value(Some((waiting, tx)));
            }
        }
    }

    /// The categories the COCO exports number labels with (empty: COCO's own, then new ids).
    pub fn export_categories(&self) -> Categories {
        self.categories.with_untracked(|c| c.as_ref().map(|(_, c)| c.clone()).unwrap_or_default())
    }

    pub fn model_ready(&self) -> bool {
        matches!(self.model.get(), ModelStatus::Loaded { .. })
    }
}

/// The backend the user chose in the capability panel (`Auto` until they do).
pub fn stored_backend() -> BackendChoice {
    let stored = || web_sys::window()?.local_storage().ok()??.get_item(crate::backend_choice::STORAGE_KEY).ok()?;
    stored().and_then(|s| BackendChoice::parse(&s)).unwrap_or_default()
}

/// Remember the backend choice (a browser without storage forgets it at reload).
pub fn store_backend(choice: BackendChoice) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(crate::backend_choice::STORAGE_KEY, choice.as_str());
    }
}

fn stored_decoding() -> Option<DecodingMode> {
    let storage = web_sys::window()?.local_storage().ok()??;
    DecodingMode::from_name(&storage.get_item(DECODING_KEY).ok()??)
}
