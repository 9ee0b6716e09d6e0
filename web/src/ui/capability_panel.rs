//! What the GPU offers (adapter, fallback or not, f16, limits), and the page shown instead of
//! the app when there is no WebGPU.

use leptos::prelude::*;

use super::state::{AppState, GpuStatus};

/// `navigator.gpu` exists (checked on the page without touching the device).
pub fn browser_has_webgpu() -> bool {
    web_sys::window()
        .map(|w| js_sys::Reflect::get(&w.navigator(), &"gpu".into()).map(|g| !g.is_undefined()).unwrap_or(false))
        .unwrap_or(false)
}

#[component]
pub fn CapabilityPanel(state: AppState) -> impl IntoView {
    view! {
        <details class="panel caps" data-testid="capabilities">
            <summary>"GPU: " {move || match state.gpu.get() {
                GpuStatus::Starting => "starting…".to_string(),
                GpuStatus::Ready(c) => format!("{}{}", c.adapter, if c.fallback { " (software fallback: slow)" } else { "" }),
                GpuStatus::Unavailable(_) => "unavailable".to_string(),
            }}</summary>
            {move || match state.gpu.get() {
                GpuStatus::Ready(c) => view! {
                    <table>
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
                }.into_any(),
                GpuStatus::Unavailable(reason) => view! { <p>{reason}</p> }.into_any(),
                GpuStatus::Starting => view! { <p>"Opening the GPU device…"</p> }.into_any(),
            }}
        </details>
    }
}

/// Shown instead of the app when the browser has no WebGPU or no adapter.
#[component]
pub fn NoWebGpu(reason: String) -> impl IntoView {
    view! {
        <main class="no-webgpu" data-testid="no-webgpu">
            <h1>"This app needs WebGPU"</h1>
            <p>"The model runs on your GPU through WebGPU, and this browser did not provide it: " <code>{reason}</code></p>
            <ul>
                <li>"Use a current Chrome, Edge or Opera (version 113 or later) on Windows, macOS, ChromeOS or Android; Firefox 141+ on Windows; Safari 26+."</li>
                <li>"On Linux Chrome, enable " <code>"chrome://flags/#enable-unsafe-webgpu"</code> " and " <code>"#enable-vulkan"</code> "."</li>
                <li>"Open the page over https or from localhost: WebGPU is only offered to secure pages."</li>
                <li>"If your GPU is blocklisted, updating the graphics driver often helps."</li>
            </ul>
            <p>"Nothing was uploaded: the image never leaves your computer."</p>
        </main>
    }
}
