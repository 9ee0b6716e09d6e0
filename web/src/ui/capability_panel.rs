//! What the model runs on (a WebGPU device or the CPU backend), why, what the device offers, and
//! the user's choice of backend (remembered per browser); and the page shown instead of the app
//! when the inference worker cannot start at all.

use leptos::prelude::*;

use super::state::{AppState, DeviceStatus};
use super::worker_client::WorkerClient;
use crate::messages::{BackendChoice, CapabilityReport, Compute};

fn summary(c: &CapabilityReport) -> String {
    match c.compute {
        Compute::Cpu => c.adapter.clone(),
        Compute::WebGpu => format!("GPU: {}{}", c.adapter, if c.fallback { " (software fallback: slow)" } else { "" }),
    }
}

fn details(c: CapabilityReport) -> AnyView {
    let why = view! { <tr><th>"why"</th><td data-testid="backend-why">{c.why.clone()}</td></tr> };
    match c.compute {
        Compute::Cpu => view! {
            <table>
                <tr><th>"runs on"</th><td data-testid="backend">"CPU backend (WebAssembly SIMD)"</td></tr>
                {why}
                <tr><th>"threads"</th><td>{format!("{} (this build is single-threaded: threads need WebAssembly atomics, see ARCHITECTURE.md)", c.threads)}</td></tr>
                <tr><th>"WebGPU adapter"</th><td>{c.unused_adapter.clone().map(|a| format!("{a} (not used)")).unwrap_or_else(|| "none".into())}</td></tr>
                <tr><th>"memory"</th><td>"weights stay Q8/Q4 in WebAssembly memory (at most 4 GiB)"</td></tr>
            </table>
        }
        .into_any(),
        Compute::WebGpu => view! {
            <table>
                <tr><th>"runs on"</th><td data-testid="backend">"GPU (WebGPU)"</td></tr>
                {why}
                <tr><th>"adapter"</th><td>{c.adapter.clone()}</td></tr>
                <tr><th>"backend"</th><td>{format!("{} ({})", c.backend, c.device_type)}</td></tr>
                <tr><th>"driver"</th><td>{c.driver.clone()}</td></tr>
                <tr><th>"fallback adapter"</th><td>{if c.fallback { "yes: a CPU emulation, expect seconds per step" } else { "no" }}</td></tr>
                <tr><th>"shader-f16"</th><td>{match (c.f16, c.f16_offered) { (true, _) => "in use", (false, true) => "offered, forced off", _ => "not offered: f32 path" }}</td></tr>
                <tr><th>"subgroups"</th><td>{if c.subgroups { "in use" } else { "not used" }}</td></tr>
                <tr><th>"max buffer"</th><td>{format!("{} MiB", c.max_buffer_mib)}</td></tr>
                <tr><th>"max storage binding"</th><td>{format!("{} MiB", c.max_binding_mib)}</td></tr>
                <tr><th>"workgroup memory"</th><td>{format!("{} KiB", c.max_workgroup_storage_kib)}</td></tr>
            </table>
        }
        .into_any(),
    }
}

#[component]
pub fn CapabilityPanel(state: AppState, worker: WorkerClient) -> impl IntoView {
    let choice = move || match state.device.get() {
        DeviceStatus::Ready(c) => c.choice,
        _ => super::state::stored_backend(),
    };
    let on_change = move |ev: leptos::ev::Event| {
        if let Some(c) = BackendChoice::parse(&event_target_value(&ev)) {
            worker.switch_backend(state, c);
        }
    };
    view! {
        <details class="panel caps" data-testid="capabilities">
            <summary>{move || match state.device.get() {
                DeviceStatus::Starting => "Device: starting…".to_string(),
                DeviceStatus::Ready(c) => summary(&c),
                DeviceStatus::Unavailable(_) => "Device: unavailable".to_string(),
            }}</summary>
            <label class="backend-choice">"Run the model on "
                <select data-testid="backend-choice" on:change=on_change prop:value=move || choice().as_str()
                    disabled=move || state.job.get().is_some() || matches!(state.device.get(), DeviceStatus::Starting)>
                    {BackendChoice::ALL.into_iter().map(|c| view! { <option value=c.as_str()>{c.label()}</option> }).collect_view()}
                </select>
            </label>
            {move || match state.device.get() {
                DeviceStatus::Ready(c) => details(c),
                DeviceStatus::Unavailable(reason) => view! { <p>{reason}</p> }.into_any(),
                DeviceStatus::Starting => view! { <p>"Opening the device…"</p> }.into_any(),
            }}
        </details>
    }
}

/// Shown instead of the app when the inference worker cannot start (no module workers). A
/// browser without WebGPU runs the CPU backend instead; one without WebAssembly SIMD cannot load
/// the app's wasm at all, and `index.html` says so before it tries.
#[component]
pub fn NoEngine(reason: String) -> impl IntoView {
    view! {
        <main class="no-webgpu" data-testid="no-engine">
            <h1>"The model cannot start in this browser"</h1>
            <p>"The model runs in a background worker, and this browser did not start it: " <code>{reason}</code></p>
            <ul>
                <li>"Use a current Chrome, Edge, Firefox or Safari (2023 or later): they run the model on the GPU (WebGPU) or on the CPU (WebAssembly SIMD)."</li>
                <li>"Open the page over https or from localhost."</li>
            </ul>
            <p>"Nothing was uploaded: the image never leaves your computer."</p>
        </main>
    }
}
