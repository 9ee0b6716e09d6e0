//! Where the GPU's time goes: counters of submits and dispatches (always on, for "dispatches per
//! token"), and a kernel-by-kernel profile natively. Profiling submits every dispatch on its own
//! and waits for it, so it measures each kernel's time plus its share of launch overhead, which is
//! exactly what a model of many small dispatches needs to see; it makes the run slower, so it is
//! off unless asked for (`VISIONLLM_PROFILE=1`, or `Gpu::set_profiling`). Browsers cannot wait on
//! the queue synchronously, so there it stays off.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// One kernel's share of a profile.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelTime {
    /// `kernel:entry:variant`.
    pub name: String,
    pub dispatches: u64,
    pub ms: f64,
}

#[derive(Default)]
pub struct Profiler {
    submits: AtomicU64,
    dispatches: AtomicU64,
    enabled: AtomicBool,
    kernels: Mutex<HashMap<String, (u64, f64)>>,
}

impl Profiler {
    pub(crate) fn from_env() -> Profiler {
        let p = Profiler::default();
        #[cfg(not(target_arch = "wasm32"))]
        p.enabled.store(std::env::var("VISIONLLM_PROFILE").is_ok_and(|v| v == "1"), Ordering::Relaxed);
        p
    }

    pub(crate) fn count_submit(&self) {
        self.submits.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_dispatch(&self) {
        self.dispatches.fetch_add(1, Ordering::Relaxed);
    }

    /// (queue submits, compute dispatches) since the device was made.
    pub fn counts(&self) -> (u64, u64) {
        (self.submits.load(Ordering::Relaxed), self.dispatches.load(Ordering::Relaxed))
    }

    /// Whether dispatches are timed one by one (native only).
    pub fn enabled(&self) -> bool {
        cfg!(not(target_arch = "wasm32")) && self.enabled.load(Ordering::Relaxed)
    }

    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    pub(crate) fn record(&self, name: &str, ms: f64) {
        let mut k = self.kernels.lock().unwrap();
        let e = k.entry(name.to_string()).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += ms;
    }

    /// The profile so far, most time first, and a fresh one started.
    pub fn take(&self) -> Vec<KernelTime> {
        let mut out: Vec<KernelTime> =
            self.kernels.lock().unwrap().drain().map(|(name, (dispatches, ms))| KernelTime { name, dispatches, ms }).collect();
        out.sort_by(|a, b| b.ms.total_cmp(&a.ms));
        out
    }
}
