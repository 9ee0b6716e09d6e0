//! The inference worker: owns the GPU device, the weights and the model. The page talks to it
//! only through messages (`crate::messages`); nothing here touches the DOM.
//!
//! One job runs at a time. Messages keep arriving while a job awaits the GPU (every decode step
//! awaits a readback), so `Cancel` lands between stages or tokens and the job stops there.

mod cache_api;
mod engine;
mod fetch;
mod greedy;
mod hf_convert;
mod model_loader;
mod shard_cache;
mod shard_download;
mod shard_file;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use js_sys::ArrayBuffer;
use visionllm_gpu::{Gpu, Overrides};
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::envelope;
use crate::messages::{CachedModel, CapabilityReport, FromWorker, Progress, ToWorker};
use model_loader::LoadedModel;

/// What the worker holds between messages.
#[derive(Default)]
pub(crate) struct WorkerState {
    gpu: RefCell<Option<Arc<Gpu>>>,
    model: RefCell<Option<Rc<LoadedModel>>>,
    /// A job (or model load) is in flight; a second one is refused rather than interleaved.
    busy: Cell<bool>,
    /// The job the page asked to stop.
    cancel: Cell<Option<u64>>,
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
    console_error_panic_hook::set_once();
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
        ToWorker::Init { overrides } => wasm_bindgen_futures::spawn_local(async move {
            shard_cache::prefer_cache_api(overrides.split(['&', '?']).any(|kv| kv == "storage=cache"));
            match Gpu::new(Overrides::from_query(&overrides)).await {
                Ok(gpu) => {
                    let caps = capability_report(&gpu);
                    *state.gpu.borrow_mut() = Some(gpu);
                    post(&FromWorker::GpuReady { caps }, None);
                }
                Err(e) => post(&FromWorker::GpuUnavailable { reason: e.to_string() }, None),
            }
        }),
        ToWorker::LoadModel { model } => {
            let Some(gpu) = state.gpu.borrow().clone() else {
                return post(&FromWorker::Error { job: None, message: "the GPU is not ready yet".into() }, None);
            };
            if state.busy.replace(true) {
                return post(&FromWorker::Error { job: None, message: "busy: wait for the current job to finish".into() }, None);
            }
            wasm_bindgen_futures::spawn_local(async move {
                // Drop the old model first so its GPU buffers are freed before the new upload.
                state.model.borrow_mut().take();
                let t0 = now_ms();
                match model_loader::load_model(&gpu, &model).await {
                    Ok(loaded) => {
                        let bytes = loaded.bytes;
                        *state.model.borrow_mut() = Some(Rc::new(loaded));
                        let wasm_heap = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer().unchecked_into::<ArrayBuffer>().byte_length() as u64;
                        post(&FromWorker::ModelLoaded { id: model.id.clone(), load_ms: now_ms() - t0, bytes, wasm_heap }, None);
                    }
                    Err(message) => post(&FromWorker::Error { job: None, message: format!("loading {}: {message}", model.id) }, None),
                }
                state.busy.set(false);
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
        ToWorker::Run { job, width, height, instruction, region } => {
            let Some(model) = state.model.borrow().clone() else {
                return post(&FromWorker::Error { job: Some(job), message: "no model is loaded yet".into() }, None);
            };
            let Some(pixels) = bytes else {
                return post(&FromWorker::Error { job: Some(job), message: "the image pixels are missing".into() }, None);
            };
            if state.busy.replace(true) {
                return post(&FromWorker::Error { job: Some(job), message: "busy: wait for the current job to finish".into() }, None);
            }
            state.cancel.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let rgba = js_sys::Uint8Array::new(&pixels).to_vec();
                let input = engine::JobInput { job, width, height, rgba, instruction, region };
                match engine::run_job(&state, &model, input).await {
                    Ok(Some(result)) => post(&FromWorker::JobDone { job, result }, None),
                    Ok(None) => post(&FromWorker::JobCancelled { job }, None),
                    Err(message) => post(&FromWorker::Error { job: Some(job), message }, None),
                }
                state.busy.set(false);
            })
        }
        ToWorker::Cancel { job } => state.cancel.set(Some(job)),
    }
}

async fn post_cache() {
    match shard_cache::list().await {
        Ok(list) => post(&FromWorker::Cache { models: list.into_iter().map(|(id, bytes)| CachedModel { id, bytes }).collect() }, None),
        Err(message) => post(&FromWorker::Error { job: None, message }, None),
    }
}

fn capability_report(gpu: &Gpu) -> CapabilityReport {
    let c = &gpu.caps;
    CapabilityReport {
        // Browsers may hide the adapter's name (wgpu's web backend reports it empty).
        adapter: if c.adapter.name.trim().is_empty() { "WebGPU adapter (name not disclosed)".into() } else { c.adapter.name.clone() },
        backend: c.adapter.backend.clone(),
        device_type: c.adapter.device_type.clone(),
        driver: c.adapter.driver.clone(),
        fallback: c.adapter.is_software || c.adapter.name.to_lowercase().contains("swiftshader"),
        f16: c.f16,
        f16_offered: c.adapter_f16,
        subgroups: c.subgroups,
        max_buffer_mib: c.limits.max_buffer_size >> 20,
        max_binding_mib: (c.limits.max_storage_buffer_binding_size as u64) >> 20,
        max_workgroup_storage_kib: (c.limits.max_compute_workgroup_storage_size as u64) >> 10,
        summary: c.describe(),
    }
}
