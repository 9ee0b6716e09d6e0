//! The inference worker: owns the device (a WebGPU device or the CPU backend, `device_open`), the
//! weights and the model. The page talks to it only through messages (`crate::messages`); nothing
//! here touches the DOM.
//!
//! One job runs at a time. Messages keep arriving while a job awaits the GPU (every decode step
//! awaits a readback), so `Cancel` lands between stages or tokens and the job stops there (the
//! step hook of `Florence2::generate_with` asks, greedy and beam search alike).

mod cache_api;
mod chat_engine;
mod device_open;
mod engine;
mod fetch;
mod hf_convert;
mod hf_source;
mod identity;
mod model_loader;
mod segmenter;
mod shard_cache;
mod shard_download;
mod shard_file;
mod tab_lock;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::ArrayBuffer;
use visionllm_gpu::{Device, Gpu, Overrides};
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::envelope;
use crate::messages::{BackendChoice, CachedModel, FromWorker, JobResult, ModelFiles, Progress, Stage, ToWorker};
use crate::recovery;
use model_loader::LoadedModel;

/// What the worker holds between messages.
#[derive(Default)]
pub(crate) struct WorkerState {
    device: RefCell<Option<Device>>,
    /// The choice the device was opened for, to open a lost GPU's replacement the same way.
    choice: Cell<BackendChoice>,
    model: RefCell<Option<Rc<LoadedModel>>>,
    /// The stored Florence-2 that outlines family #2's boxes (`segmenter`), by id, once loaded.
    segmenter: RefCell<Option<(String, Rc<LoadedModel>)>>,
    /// A job (or model load) is in flight; a second one is refused rather than interleaved.
    busy: Cell<bool>,
    /// The job the page asked to stop.
    cancel: Cell<Option<u64>>,
    /// The page query from `Init`: the GPU overrides, used again when the device is re-created.
    overrides: RefCell<String>,
    /// `?test-hooks` was in the page query: `ToWorker::TestHook` is honoured.
    test_hooks: Cell<bool>,
    /// Test hook `answer:TEXT`: the next family #2 job's answer, after its real tokens streamed.
    injected_answer: RefCell<Option<String>>,
    /// Test hook `mask-answer:TEXT`: Florence-2's answer for each box of the next masks step.
    injected_mask_answer: RefCell<Option<String>>,
    /// What the loaded model was loaded from, to reload it (from browser storage, where its
    /// shards already are) onto a re-created device.
    model_files: RefCell<Option<ModelFiles>>,
}

thread_local! {
    /// The job running now, named in the panic hook's `Crashed` message.
    static CURRENT_JOB: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Holds `busy` for one job or model load and releases it however the work ends (every early
/// return and `?` included), so a failed job never leaves the worker answering "busy".
struct Busy(Rc<WorkerState>);

impl Busy {
    fn take(state: &Rc<WorkerState>, job: Option<u64>) -> Option<Busy> {
        if state.busy.replace(true) {
            return None;
        }
        CURRENT_JOB.with(|j| j.set(job));
        Some(Busy(state.clone()))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.set(false);
        CURRENT_JOB.with(|j| j.set(None));
    }
}

/// Log the panic to the console as before, then tell the page: the wasm instance aborts as soon
/// as this hook returns (wasm32 cannot unwind), so only the page can recover, by starting a new
/// worker and reloading the model.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let payload = info.payload();
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let job = CURRENT_JOB.with(Cell::get);
        post(&FromWorker::Crashed { job, message: recovery::one_line(&format!("{what}{at}"), 300) }, None);
    }));
}

impl WorkerState {
    pub(crate) fn cancelled(&self, job: u64) -> bool {
        self.cancel.get() == Some(job)
    }
}

/// "what: detail" for a JS exception: its `message` (DOMException, TypeError), else the value as
/// a string, else its JSON.
pub(crate) fn js_error(what: &str, e: JsValue) -> String {
    let detail = js_sys::Reflect::get(&e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .or_else(|| js_sys::JSON::stringify(&e).ok().and_then(|s| s.as_string()))
        .unwrap_or_default();
    format!("{what}: {detail}")
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Post a message (and transfer `bytes`) to the page.
pub(crate) fn post(message: &FromWorker, bytes: Option<ArrayBuffer>) {
    let out = envelope::wrap(message, bytes);
    if let Err(e) = scope().post_message_with_transfer(&out.value, &out.transfer) {
        web_sys::console::error_2(&"worker: postMessage failed".into(), &e);
    }
}

pub(crate) fn progress(p: Progress) {
    post(&FromWorker::Progress(p), None);
}

pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Entry point of the worker binary.
pub fn start() {
    install_panic_hook();
    let state = Rc::new(WorkerState::default());
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        match envelope::unwrap::<ToWorker>(&event.data()) {
            Ok((message, bytes)) => handle(state.clone(), message, bytes),
            Err(e) => post(&FromWorker::Error { job: None, message: e.to_string() }, None),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    post(&FromWorker::Alive, None);
}

fn handle(state: Rc<WorkerState>, message: ToWorker, bytes: Option<ArrayBuffer>) {
    match message {
        ToWorker::Init { overrides, backend } => wasm_bindgen_futures::spawn_local(async move {
            shard_cache::prefer_cache_api(overrides.split(['&', '?']).any(|kv| kv == "storage=cache"));
            state.test_hooks.set(recovery::test_hooks_enabled(&overrides));
            *state.overrides.borrow_mut() = overrides.clone();
            state.choice.set(backend);
            let (device, caps) = device_open::open(backend, &overrides).await;
            *state.device.borrow_mut() = Some(device);
            post(&FromWorker::DeviceReady { caps }, None);
        }),
        ToWorker::LoadModel { model } => {
            if state.device.borrow().is_none() {
                return post(&FromWorker::Error { job: None, message: "the device is not open yet".into() }, None);
            }
            let Some(busy) = Busy::take(&state, None) else {
                return post(&FromWorker::Error { job: None, message: "busy: wait for the current job to finish".into() }, None);
            };
            wasm_bindgen_futures::spawn_local(async move {
                let loaded = match usable_device(&state).await {
                    Ok((device, _)) => load_onto(&state, &device, &model).await.map(|_| ()),
                    Err(message) => Err(message),
                };
                if let Err(message) = loaded {
                    post(&FromWorker::Error { job: None, message }, None);
                }
                drop(busy);
                post_cache().await;
            })
        }
        ToWorker::ListCache => wasm_bindgen_futures::spawn_local(post_cache()),
        ToWorker::DeleteCache { id } => {
            if state.busy.get() {
                return post(&FromWorker::Error { job: None, message: "busy: delete cached models when no model is loading and no job runs".into() }, None);
            }
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(message) = shard_cache::delete(&id).await {
                    post(&FromWorker::Error { job: None, message }, None);
                }
                post_cache().await;
            })
        }
        ToWorker::Run { job, width, height, instruction, region, decoding } => {
            if state.model.borrow().is_none() && state.model_files.borrow().is_none() {
                return post(&FromWorker::Error { job: Some(job), message: "no model is loaded yet".into() }, None);
            }
            let Some(pixels) = bytes else {
                return post(&FromWorker::Error { job: Some(job), message: "the image pixels are missing".into() }, None);
            };
            let Some(busy) = Busy::take(&state, Some(job)) else {
                return post(&FromWorker::Error { job: Some(job), message: "busy: wait for the current job to finish".into() }, None);
            };
            state.cancel.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let rgba = js_sys::Uint8Array::new(&pixels).to_vec();
                let input = engine::JobInput { job, width, height, rgba, instruction, region, decoding };
                let outcome = run_on_usable_device(&state, input).await;
                // wasm memory never shrinks: after a job it is the peak so far (on the CPU backend
                // the weights and activations live there). For the memory measurements.
                web_sys::console::log_1(&format!("job {job}: worker wasm heap {} bytes", wasm_heap_bytes()).into());
                match outcome {
                    Ok(Some(result)) => post(&FromWorker::JobDone { job, result }, None),
                    Ok(None) => post(&FromWorker::JobCancelled { job }, None),
                    Err(message) => post(&FromWorker::Error { job: Some(job), message }, None),
                }
                drop(busy);
            })
        }
        ToWorker::Cancel { job } => state.cancel.set(Some(job)),
        ToWorker::TestHook { action } => {
            if !state.test_hooks.get() {
                return post(&FromWorker::Error { job: None, message: "test hooks are off (they need ?test-hooks in the page address)".into() }, None);
            }
            match action.as_str() {
                "panic" => panic!("test hook: a deliberate panic in the worker"),
                "lose-device" => match state.device.borrow().as_ref().and_then(Device::gpu) {
                    // The device-lost callback marks the `Gpu` lost; the next job re-creates it.
                    Some(gpu) => gpu.device.destroy(),
                    None => post(&FromWorker::Error { job: None, message: "test hook: there is no GPU device to lose (the model runs on the CPU)".into() }, None),
                },
                other => match (other.strip_prefix("answer:"), other.strip_prefix("mask-answer:")) {
                    (Some(answer), _) => *state.injected_answer.borrow_mut() = Some(answer.to_string()),
                    (_, Some(answer)) => *state.injected_mask_answer.borrow_mut() = Some(answer.to_string()),
                    _ => post(&FromWorker::Error { job: None, message: format!("unknown test hook {other:?} (known: panic, lose-device, answer:TEXT, mask-answer:TEXT)") }, None),
                },
            }
        }
    }
}

/// The device to work on: the current one, or, for a GPU whose device was lost (driver reset,
/// `destroy()`), a new one. The second value is why it was lost when it was re-created: the caller
/// must then reload the model (its buffers died with the old device). The CPU is never lost.
async fn usable_device(state: &WorkerState) -> Result<(Device, Option<String>), String> {
    let Some(device) = state.device.borrow().clone() else {
        return Err("the device is not open yet".into());
    };
    let Some(reason) = device.gpu().and_then(|g| g.lost_reason()) else {
        return Ok((device, None));
    };
    // The old model's buffers belong to the dead device; free them before making a new one.
    state.model.borrow_mut().take();
    state.segmenter.borrow_mut().take();
    drop(device);
    let overrides = state.overrides.borrow().clone();
    // On failure the lost `Gpu` stays in place, so the next job tries again.
    let gpu = Gpu::new(Overrides::from_query(&overrides))
        .await
        .map_err(|e| format!("the GPU device was lost ({reason}) and could not be re-created: {e}. Reload the page."))?;
    let caps = device_open::gpu_report(&gpu, state.choice.get(), format!("re-created after the device was lost ({reason})"));
    let device = Device::Gpu(gpu);
    *state.device.borrow_mut() = Some(device.clone());
    post(&FromWorker::DeviceReady { caps }, None);
    Ok((device, Some(reason)))
}

/// Load `files` onto `device` (on a GPU inside out-of-memory and validation error scopes), make it
/// the current model and tell the page (`ModelLoaded`); the error is the message to show.
async fn load_onto(state: &WorkerState, device: &Device, files: &ModelFiles) -> Result<Rc<LoadedModel>, String> {
    // Drop the old model (and the segmenter it may have borrowed) first so their GPU buffers are
    // freed before the new upload; a segmenter is loaded again when a segmentation asks for it.
    state.model.borrow_mut().take();
    state.segmenter.borrow_mut().take();
    let t0 = now_ms();
    let scope = device.error_scope("loading the model");
    let loaded = model_loader::load_model(device, files).await;
    // A GPU error (out of memory while uploading) explains a failed load better than its symptom.
    let loaded = match (scope.finish().await, loaded) {
        (Err(e), _) => return Err(format!("loading {}: {e}", files.id)),
        (Ok(()), Err(message)) => return Err(format!("loading {}: {message}", files.id)),
        (Ok(()), Ok(loaded)) => Rc::new(loaded),
    };
    // Compile the pipelines now, while the page still says the model is loading, not on the
    // user's first instruction. Its failure is not the user's: logged, and a real job reports its
    // own. The CPU backend has nothing to compile.
    if let Some(gpu) = device.gpu() {
        progress(Progress { job: None, stage: Stage::Compile, done: 0, total: None, elapsed_ms: 0.0 });
        let scope = gpu.error_scope("compiling the kernels");
        let warm = engine::warm_up(&loaded, gpu.caps.adapter.is_software).await;
        if let Err(e) = scope.finish().await.map_err(|e| e.to_string()).and(warm) {
            web_sys::console::warn_1(&format!("warm-up run after loading {}: {e}", files.id).into());
        }
    }
    *state.model.borrow_mut() = Some(loaded.clone());
    *state.model_files.borrow_mut() = Some(files.clone());
    post(&FromWorker::ModelLoaded { id: files.id.clone(), load_ms: now_ms() - t0, bytes: loaded.bytes, wasm_heap: wasm_heap_bytes() }, None);
    Ok(loaded)
}

/// One job inside error scopes, after re-creating a lost device and reloading the model from
/// browser storage if needed (the user is told with a `Notice`). `Ok(None)`: cancelled.
async fn run_on_usable_device(state: &WorkerState, input: engine::JobInput) -> Result<Option<JobResult>, String> {
    let (device, recreated) = usable_device(state).await?;
    let current = state.model.borrow().clone();
    let model = match current {
        Some(model) if recreated.is_none() => model,
        _ => {
            let Some(files) = state.model_files.borrow().clone() else {
                return Err("no model is loaded yet".into());
            };
            let model = load_onto(state, &device, &files).await?;
            if let Some(reason) = &recreated {
                post(&FromWorker::Notice { message: recovery::device_notice(reason) }, None);
            }
            model
        }
    };
    let scope = device.error_scope("the job");
    let result = engine::run_job(state, &model, input).await;
    match scope.finish().await {
        Err(e) if device.is_lost() => Err(format!("{e}; it will be re-created and the model reloaded on the next run")),
        Err(e) => Err(e.to_string()),
        Ok(()) => result,
    }
}

async fn post_cache() {
    match shard_cache::list().await {
        Ok(list) => post(&FromWorker::Cache { models: list.into_iter().map(|(id, bytes)| CachedModel { id, bytes }).collect() }, None),
        Err(message) => post(&FromWorker::Error { job: None, message }, None),
    }
}

/// The worker's wasm memory in bytes.
fn wasm_heap_bytes() -> u64 {
    wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer().unchecked_into::<ArrayBuffer>().byte_length() as u64
}
