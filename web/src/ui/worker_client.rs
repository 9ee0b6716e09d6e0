//! The page's handle on the inference worker: starts it as a module worker, sends typed
//! messages, and turns its replies into state changes. The page never touches the GPU.
//!
//! A worker that crashes (its panic hook sends `Crashed`, or the `Worker` fires `error` after it
//! was alive) is replaced: terminated, a new one started, the GPU opened again and the model
//! reloaded (its shards are in browser storage already), while the image and the last result
//! stay on the page. At most `recovery::MAX_RESTARTS` a minute, then a message says to reload.

use js_sys::ArrayBuffer;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

use super::state::{stored_backend, store_backend, AppState, DeviceStatus, JobEnd, ModelStatus};
use crate::envelope;
use crate::messages::{BackendChoice, FromWorker, JobStatus, ModelFiles, ToWorker};
use crate::recovery::{self, RestartBudget};

/// Copyable handle (the worker itself is not `Send`, so it lives in local storage).
#[derive(Clone, Copy)]
pub struct WorkerClient {
    worker: StoredValue<Option<Worker>, LocalStorage>,
    /// Bumped for every new worker; events of a replaced worker carry an old value and are ignored.
    generation: StoredValue<u64>,
    /// The current worker said `Alive`: an `error` event now is a crash, not a failed start.
    alive: StoredValue<bool>,
    /// The model the page asked for last, reloaded into a replacement worker.
    model: StoredValue<Option<ModelFiles>>,
    restarts: StoredValue<RestartBudget>,
    /// Why the previous worker stopped, while its replacement starts and reloads the model.
    restarting: StoredValue<Option<String>>,
    /// The user switched the backend: the new worker reloads the model, and no crash is reported.
    switching: StoredValue<bool>,
}

impl WorkerClient {
    /// Start `worker_loader.js` (built by Trunk next to index.html; the URL resolves against the
    /// document, so the site works from any sub-path).
    pub fn spawn(state: AppState) -> WorkerClient {
        let client = WorkerClient {
            worker: StoredValue::new_local(None),
            generation: StoredValue::new(0),
            alive: StoredValue::new(false),
            model: StoredValue::new(None),
            restarts: StoredValue::new(RestartBudget::default()),
            restarting: StoredValue::new(None),
            switching: StoredValue::new(false),
        };
        client.start(state);
        client.expose_test_hook();
        client
    }

    /// With `?test-hooks` in the page address, `window.visionllmTestHook(action)` sends
    /// `ToWorker::TestHook` (the e2e tests inject faults this way). Without it nothing is
    /// exposed, and the worker refuses the message anyway.
    fn expose_test_hook(self) {
        let Some(window) = web_sys::window() else { return };
        if !recovery::test_hooks_enabled(&window.location().search().unwrap_or_default()) {
            return;
        }
        let hook = Closure::<dyn Fn(String)>::new(move |action: String| self.send(&ToWorker::TestHook { action }, None));
        let _ = js_sys::Reflect::set(&window, &JsValue::from_str("visionllmTestHook"), hook.as_ref());
        // Lives as long as the page.
        hook.forget();
    }

    fn start(self, state: AppState) {
        let generation = self.generation.get_value() + 1;
        self.generation.set_value(generation);
        self.alive.set_value(false);
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let worker = match Worker::new_with_options("./worker_loader.js", &options) {
            Ok(worker) => worker,
            Err(_) => return state.device.set(DeviceStatus::Unavailable("this browser cannot start module workers".into())),
        };
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if self.generation.get_value() != generation {
                return;
            }
            match envelope::unwrap::<FromWorker>(&e.data()) {
                Ok((message, _)) => self.handle(state, message),
                Err(err) => state.error.set(Some(err.to_string())),
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            if self.generation.get_value() != generation {
                return;
            }
            if self.alive.get_value() {
                let reason = e.dyn_ref::<ErrorEvent>().map(|e| e.message()).filter(|m| !m.is_empty());
                self.restart(state, reason.unwrap_or_else(|| "an uncaught error in the worker".into()));
            } else {
                state.device.set(DeviceStatus::Unavailable("the inference worker failed to start (see the console)".into()));
            }
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        self.worker.set_value(Some(worker));
    }

    /// Replace a crashed worker. The image, the instruction and the last result are page state
    /// and stay; the running job (if any) is over.
    fn restart(self, state: AppState, reason: String) {
        self.stop_worker();
        if let Some(job) = state.job.get_untracked() {
            state.job_ended(job, JobEnd::Failed(format!("the engine stopped: {}", recovery::one_line(&reason, 200))));
        }
        state.job.set(None);
        state.progress.set(None);
        keep_partial_answer(state);
        let now = js_sys::Date::now();
        if !self.restarts.try_update_value(|b| b.allow(now)).unwrap_or(false) {
            self.restarting.set_value(None);
            let message = recovery::crash_limit_message(&reason);
            if let Some(id) = self.model.with_value(|m| m.as_ref().map(|m| m.id.clone())) {
                state.model.set(ModelStatus::Failed { id, message: message.clone() });
            }
            return state.error.set(Some(message));
        }
        web_sys::console::warn_1(&format!("inference worker stopped ({reason}); starting a new one").into());
        self.restarting.set_value(Some(reason));
        self.start_again(state);
    }

    /// Terminate the current worker; its late events (an `error` after a panic) carry an old
    /// generation and are ignored.
    fn stop_worker(self) {
        if let Some(old) = self.worker.try_update_value(|w| w.take()).flatten() {
            old.terminate();
        }
        self.generation.update_value(|g| *g += 1);
    }

    /// Start a new worker that will load the model the old one had (once its device is ready).
    fn start_again(self, state: AppState) {
        if let Some(id) = self.model.with_value(|m| m.as_ref().map(|m| m.id.clone())) {
            state.model.set(ModelStatus::Loading { id });
        }
        self.start(state);
    }

    /// Send the model the page asked for last to a new worker; false when there was none.
    fn reload_model(self, state: AppState) -> bool {
        let Some(model) = self.model.get_value() else { return false };
        state.model.set(ModelStatus::Loading { id: model.id.clone() });
        self.send(&ToWorker::LoadModel { model }, None);
        true
    }

    /// Run on `choice` from now on (remembered per browser): a new worker opens that backend and
    /// reloads the model from browser storage; the image, instruction and answer stay. Refused
    /// while a job runs (its answer would be lost).
    pub fn switch_backend(self, state: AppState, choice: BackendChoice) {
        if state.job.get_untracked().is_some() {
            return state.error.set(Some("a job is running: switch the backend when it has finished (or cancel it)".into()));
        }
        store_backend(choice);
        self.stop_worker();
        self.switching.set_value(true);
        state.device.set(DeviceStatus::Starting);
        state.progress.set(None);
        self.start_again(state);
    }

    pub fn send(&self, message: &ToWorker, bytes: Option<ArrayBuffer>) {
        if let ToWorker::LoadModel { model } = message {
            self.model.set_value(Some(model.clone()));
        }
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
                self.alive.set_value(true);
                let query = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
                self.send(&ToWorker::Init { overrides: query, backend: stored_backend() }, None);
            }
            FromWorker::DeviceReady { caps } => {
                state.device.set(DeviceStatus::Ready(caps));
                // A new worker after a backend switch: load the model the old one had.
                if self.switching.get_value() {
                    self.switching.set_value(false);
                    self.reload_model(state);
                }
                // A replacement worker: load the model the crashed one had (or was loading).
                else if let Some(reason) = self.restarting.get_value() {
                    if !self.reload_model(state) {
                        self.restarting.set_value(None);
                        state.notice.set(Some(recovery::crash_notice(&reason, false)));
                    }
                }
            }
            FromWorker::Progress(p) => state.progress.set(Some(p)),
            FromWorker::ModelLoaded { id, load_ms, bytes, wasm_heap } => {
                state.progress.set(None);
                web_sys::console::log_1(&format!("model {id}: {bytes} bytes, loaded in {load_ms:.0} ms, worker wasm heap {wasm_heap} bytes").into());
                state.model.set(ModelStatus::Loaded { id, bytes, load_ms });
                if let Some(reason) = self.restarting.try_update_value(|r| r.take()).flatten() {
                    state.notice.set(Some(recovery::crash_notice(&reason, true)));
                }
            }
            // The answer so far replaces what is shown (the previous result stays until the
            // new job has a first token).
            FromWorker::JobUpdate { job, result } => {
                if state.job.get_untracked() == Some(job) && !state.pinned_view.get_untracked() {
                    state.result.set(Some(result));
                }
            }
            FromWorker::JobDone { job, result } => {
                if state.job.get_untracked() == Some(job) {
                    state.job.set(None);
                    state.progress.set(None);
                    if !state.pinned_view.get_untracked() {
                        state.hovered.set(None);
                        state.result.set(Some(result.clone()));
                    }
                    state.job_ended(job, JobEnd::Done(result));
                }
            }
            FromWorker::Cache { models } => state.cached.set(models),
            FromWorker::JobCancelled { job } => {
                if state.job.get_untracked() == Some(job) {
                    state.job.set(None);
                    state.progress.set(None);
                    keep_partial_answer(state);
                    state.job_ended(job, JobEnd::Cancelled);
                }
            }
            FromWorker::Error { job, message } => {
                state.progress.set(None);
                match job {
                    Some(j) if state.job.get_untracked() == Some(j) => {
                        state.job.set(None);
                        keep_partial_answer(state);
                        state.job_ended(j, JobEnd::Failed(message.clone()));
                    }
                    Some(_) => return, // a job the page already gave up on
                    None => {
                        if let ModelStatus::Loading { id } = state.model.get_untracked() {
                            state.model.set(ModelStatus::Failed { id, message: message.clone() });
                        }
                        // The replacement worker could not reload the model: say both.
                        if let Some(reason) = self.restarting.try_update_value(|r| r.take()).flatten() {
                            let crashed = recovery::crash_notice(&reason, false);
                            return state.error.set(Some(format!("{crashed} Reloading the model failed: {message}")));
                        }
                    }
                }
                state.error.set(Some(message));
            }
            FromWorker::Crashed { job, message } => {
                let reason = match job {
                    Some(job) => format!("job {job}: {message}"),
                    None => message,
                };
                self.restart(state, reason);
            }
            FromWorker::Notice { message } => state.notice.set(Some(message)),
        }
    }
}

/// A job that stopped before its end (cancelled, failed, its worker crashed) leaves what it had
/// shown on the page, marked as stopped rather than still running.
fn keep_partial_answer(state: AppState) {
    state.result.update(|r| {
        if let Some(r) = r.as_mut().filter(|r| r.status == JobStatus::Running) {
            r.status = JobStatus::Cancelled;
        }
    });
}
