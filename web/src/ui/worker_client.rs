//! The page's handle on the inference worker: starts it as a module worker, sends typed
//! messages, and turns its replies into state changes. The page never touches the GPU.

use js_sys::ArrayBuffer;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use super::state::{AppState, GpuStatus, ModelStatus};
use crate::envelope;
use crate::messages::{FromWorker, ToWorker};

/// Copyable handle (the worker itself is not `Send`, so it lives in local storage).
#[derive(Clone, Copy)]
pub struct WorkerClient {
    worker: StoredValue<Option<Worker>, LocalStorage>,
}

impl WorkerClient {
    /// Start `worker_loader.js` (built by Trunk next to index.html; the URL resolves against the
    /// document, so the site works from any sub-path).
    pub fn spawn(state: AppState) -> WorkerClient {
        let client = WorkerClient { worker: StoredValue::new_local(None) };
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        match Worker::new_with_options("./worker_loader.js", &options) {
            Ok(worker) => {
                let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                    match envelope::unwrap::<FromWorker>(&e.data()) {
                        Ok((message, _)) => client.handle(state, message),
                        Err(err) => state.error.set(Some(err.to_string())),
                    }
                });
                worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                on_message.forget();
                let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
                    state.gpu.set(GpuStatus::Unavailable("the inference worker failed to start (see the console)".into()));
                });
                worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
                on_error.forget();
                client.worker.set_value(Some(worker));
            }
            Err(_) => state.gpu.set(GpuStatus::Unavailable("this browser cannot start module workers".into())),
        }
        client
    }

    pub fn send(&self, message: &ToWorker, bytes: Option<ArrayBuffer>) {
        let out = envelope::wrap(message, bytes);
        self.worker.with_value(|w| {
            if let Some(w) = w {
                let _ = w.post_message_with_transfer(&out.value, &out.transfer);
            }
        });
    }

    fn handle(&self, state: AppState, message: FromWorker) {
        match message {
            FromWorker::Alive => {
                let query = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
                self.send(&ToWorker::Init { overrides: query }, None);
            }
            FromWorker::GpuReady { caps } => state.gpu.set(GpuStatus::Ready(caps)),
            FromWorker::GpuUnavailable { reason } => state.gpu.set(GpuStatus::Unavailable(reason)),
            FromWorker::Progress(p) => state.progress.set(Some(p)),
            FromWorker::ModelLoaded { id, load_ms, bytes, wasm_heap } => {
                state.progress.set(None);
                web_sys::console::log_1(&format!("model {id}: {bytes} bytes, loaded in {load_ms:.0} ms, worker wasm heap {wasm_heap} bytes").into());
                state.model.set(ModelStatus::Loaded { id, bytes, load_ms });
            }
            FromWorker::JobDone { job, result } => {
                if state.job.get_untracked() == Some(job) {
                    state.job.set(None);
                    state.progress.set(None);
                    state.hovered.set(None);
                    state.result.set(Some(result));
                }
            }
            FromWorker::Cache { models } => state.cached.set(models),
            FromWorker::JobCancelled { job } => {
                if state.job.get_untracked() == Some(job) {
                    state.job.set(None);
                    state.progress.set(None);
                }
            }
            FromWorker::Error { job, message } => {
                state.progress.set(None);
                match job {
                    Some(j) if state.job.get_untracked() == Some(j) => state.job.set(None),
                    Some(_) => return, // a job the page already gave up on
                    None => {
                        if let ModelStatus::Loading { id } = state.model.get_untracked() {
                            state.model.set(ModelStatus::Failed { id, message: message.clone() });
                        }
                    }
                }
                state.error.set(Some(message));
            }
        }
    }
}
