//! Surviving faults in the inference worker, as pure logic the tests can reach: how often the
//! page may replace a crashed worker, the one-line messages the user sees, and whether the page
//! asked for the fault-injection hooks.
//!
//! In wasm32 a Rust panic aborts the whole instance (there is no unwinding to catch), so the
//! worker's panic hook tells the page (`FromWorker::Crashed`) and the page starts a new worker,
//! reloads the model from browser storage and keeps the image and the last result.

/// At most this many restarts ...
pub const MAX_RESTARTS: usize = 3;
/// ... within this window; a worker that keeps crashing is a bug a restart will not fix.
pub const RESTART_WINDOW_MS: f64 = 60_000.0;

/// The restarts of the last [`RESTART_WINDOW_MS`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RestartBudget {
    times_ms: Vec<f64>,
}

impl RestartBudget {
    /// Record a restart at `now_ms` if the budget allows one; `false` means stop restarting.
    pub fn allow(&mut self, now_ms: f64) -> bool {
        self.times_ms.retain(|t| now_ms - t < RESTART_WINDOW_MS);
        if self.times_ms.len() >= MAX_RESTARTS {
            return false;
        }
        self.times_ms.push(now_ms);
        true
    }
}

/// One-line messages: the GPU crate's helper, so driver errors and panics read the same way.
pub use visionllm_gpu::error::one_line;

/// Shown after a crashed worker was replaced; `reloaded` is whether a model was reloaded.
pub fn crash_notice(reason: &str, reloaded: bool) -> String {
    let reason = one_line(reason, 200);
    if reloaded {
        format!("The engine stopped unexpectedly ({reason}) and was restarted; the model was reloaded from browser storage.")
    } else {
        format!("The engine stopped unexpectedly ({reason}) and was restarted.")
    }
}

/// Shown when the worker stopped more than [`MAX_RESTARTS`] times within the window.
pub fn crash_limit_message(reason: &str) -> String {
    format!(
        "The engine stopped unexpectedly again ({}), {MAX_RESTARTS} times within a minute, so it was not restarted. Reload the page; if it keeps happening, try another model or browser.",
        one_line(reason, 200)
    )
}

/// Shown after the worker re-created a lost GPU device and reloaded the model.
pub fn device_notice(reason: &str) -> String {
    format!(
        "The GPU device was lost ({}) and was re-created; the model was reloaded from browser storage.",
        one_line(reason, 200)
    )
}

/// Whether the page query (`?a&test-hooks&b=c`, as `Init`'s `overrides`) turns on the
/// fault-injection hooks. Off by default, so no ordinary page can crash its own worker.
pub fn test_hooks_enabled(query: &str) -> bool {
    query.trim_start_matches('?').split('&').any(|kv| kv == "test-hooks" || kv.starts_with("test-hooks="))
}
