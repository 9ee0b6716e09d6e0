//! Which backend the worker runs the model on, and why (pure logic: the worker gathers the facts,
//! the page remembers the user's choice, the tests check the table).
//!
//! The rule for a software adapter is measured, not guessed: SwiftShader runs our WGSL through a
//! CPU emulation of a GPU (every invocation one SIMD lane, no cache blocking across them), and the
//! CPU backend runs the same model with cache-blocked wasm SIMD kernels on the same cores. The
//! README's browser table has the figures (the demo model and Florence-2-base, both backends in one
//! Chromium run; natively lavapipe against the CPU backend is 12.7x against 0.76x of PyTorch), so
//! `Auto` takes the CPU whenever the only adapter is a software one, as `visionllm --backend auto`
//! does natively.

use serde::{Deserialize, Serialize};

/// What the user chose (the capability panel; remembered per browser under [`STORAGE_KEY`]), or
/// the page address's `?backend=` (the tests and benchmarks), which wins over the stored choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// A hardware GPU through WebGPU when there is one, else the CPU.
    #[default]
    Auto,
    /// WebGPU even on a software adapter (the CPU when there is no adapter at all).
    Gpu,
    /// The CPU backend (WebAssembly SIMD), WebGPU not opened.
    Cpu,
}

/// Where the choice is remembered (localStorage).
pub const STORAGE_KEY: &str = "visionllm.backend";

impl BackendChoice {
    pub const ALL: [BackendChoice; 3] = [BackendChoice::Auto, BackendChoice::Gpu, BackendChoice::Cpu];

    pub fn as_str(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Gpu => "gpu",
            BackendChoice::Cpu => "cpu",
        }
    }

    pub fn parse(s: &str) -> Option<BackendChoice> {
        BackendChoice::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The words the capability panel's menu shows.
    pub fn label(self) -> &'static str {
        match self {
            BackendChoice::Auto => "Automatic (GPU if it is a real one, else CPU)",
            BackendChoice::Gpu => "GPU (WebGPU)",
            BackendChoice::Cpu => "CPU (WebAssembly SIMD)",
        }
    }

    /// `backend=cpu|gpu|auto` in a page query (`?a&backend=cpu`), when present and known.
    pub fn from_query(query: &str) -> Option<BackendChoice> {
        query.trim_start_matches('?').split('&').find_map(|kv| kv.strip_prefix("backend=")).and_then(BackendChoice::parse)
    }
}

/// What the model runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compute {
    #[default]
    WebGpu,
    Cpu,
}

/// What the worker found when it looked for WebGPU.
#[derive(Clone, Debug, PartialEq)]
pub enum GpuFound {
    /// Not looked for: the CPU was chosen.
    NotAsked,
    /// `navigator.gpu` is missing (Firefox on Linux, older Safari, an insecure page).
    NoApi,
    /// WebGPU exists but gave no adapter or device.
    Failed(String),
    /// An adapter and a device; `software`: SwiftShader, lavapipe, WARP.
    Adapter { name: String, software: bool },
}

/// The backend for `choice` given what was found, and the sentence the capability panel shows.
pub fn decide(choice: BackendChoice, found: &GpuFound) -> (Compute, String) {
    // Browsers may hide the adapter's name.
    let named = |name: &str| if name.trim().is_empty() { String::new() } else { format!(", {},", name.trim()) };
    // wgpu's "no adapter" message lists every backend it was not compiled with: its first clause says it.
    let short = |e: &str| {
        let first = e.split(" (").next().unwrap_or(e).trim();
        if first.chars().count() > 120 { format!("{}…", first.chars().take(120).collect::<String>()) } else { first.to_string() }
    };
    match (choice, found) {
        (BackendChoice::Cpu, _) => (Compute::Cpu, "you chose the CPU".into()),
        (_, GpuFound::NotAsked) => (Compute::Cpu, "WebGPU was not opened".into()),
        (_, GpuFound::NoApi) => (Compute::Cpu, "this browser has no WebGPU".into()),
        (_, GpuFound::Failed(e)) => (Compute::Cpu, format!("WebGPU gave no device ({})", short(e))),
        (BackendChoice::Gpu, GpuFound::Adapter { name, software: true }) => {
            (Compute::WebGpu, format!("you chose the GPU (the adapter{} is a software emulation: slower than the CPU backend)", named(name)))
        }
        (BackendChoice::Gpu, GpuFound::Adapter { .. }) => (Compute::WebGpu, "you chose the GPU".into()),
        (BackendChoice::Auto, GpuFound::Adapter { name, software: true }) => {
            (Compute::Cpu, format!("the only WebGPU adapter{} is a software emulation; the CPU backend runs the same model faster on these cores", named(name)))
        }
        (BackendChoice::Auto, GpuFound::Adapter { .. }) => (Compute::WebGpu, "a hardware GPU".into()),
    }
}
