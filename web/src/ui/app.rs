//! The root component: starts the worker and the catalog, loads the default model as soon as
//! both the device (a GPU or the CPU: the worker decides) and the catalog are ready, and lays out
//! the panels.

use leptos::prelude::*;

use super::batch_panel::BatchPanel;
use super::batch_runner::Batch;
use super::camera::{Camera, CameraView};
use super::capability_panel::{CapabilityPanel, NoEngine};
use super::image_view::ImageView;
use super::input_panel::{listen_for_paste, InputPanel};
use super::instruction_box::InstructionBox;
use super::model_panel::{fetch_catalog, load_selected, model_name, ModelPanel, ProgressBar};
use super::results_panel::ResultsPanel;
use super::state::{AppState, DeviceStatus, ModelStatus};
use super::worker_client::WorkerClient;

pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// A one-line message shown until dismissed: errors (`role="alert"`) and notices (`role="status"`).
#[component]
fn MessageBar(message: RwSignal<Option<String>>, class: &'static str, role: &'static str, testid: &'static str) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <div class=class role=role data-testid=testid>
                <span>{move || message.get()}</span>
                <button class="link" on:click=move |_| message.set(None)>"dismiss"</button>
            </div>
        </Show>
    }
}

#[component]
fn App() -> impl IntoView {
    let state = AppState::new();
    let worker = WorkerClient::spawn(state);
    fetch_catalog(state);
    listen_for_paste(state);
    let batch = Batch::new();
    batch.restore(state);
    let camera = Camera::new();

    // The app opens ready to work: the default (embedded) model loads once, when both are ready.
    Effect::new(move |_| {
        let device_ready = matches!(state.device.get(), DeviceStatus::Ready(_));
        if device_ready && state.catalog.with(|c| c.is_some()) && state.model.get_untracked() == ModelStatus::None {
            load_selected(state, worker);
        }
    });

    view! {
        {move || match state.device.get() {
            DeviceStatus::Unavailable(reason) => view! { <NoEngine reason=reason /> }.into_any(),
            _ => view! {
                <header>
                    <h1>"VisionLLM Web"</h1>
                    <p class="tagline">"Florence-2 in your browser, on your GPU or CPU. Nothing is uploaded."</p>
                    <p class="status" data-testid="model-status" data-ready=move || state.model_ready().to_string()>
                        {move || match state.model.get() {
                            ModelStatus::Loaded { id, .. } => format!("Ready: {}", model_name(state, &id)),
                            ModelStatus::Loading { id } => format!("Loading {id}…"),
                            ModelStatus::Failed { message, .. } => format!("Model failed: {message}"),
                            ModelStatus::None => "Starting…".into(),
                        }}
                    </p>
                </header>
                <MessageBar message=state.error class="error" role="alert" testid="error" />
                <MessageBar message=state.notice class="notice" role="status" testid="notice" />
                <main>
                    <section class="work">
                        <InputPanel state=state batch=batch camera=camera worker=worker />
                        <InstructionBox state=state worker=worker />
                        <ProgressBar state=state />
                        <BatchPanel state=state worker=worker batch=batch />
                        <Show when=move || camera.on.get() fallback=move || view! { <ImageView state=state /> }>
                            <CameraView state=state camera=camera />
                        </Show>
                    </section>
                    <aside>
                        <ResultsPanel state=state worker=worker />
                        <ModelPanel state=state worker=worker />
                        <CapabilityPanel state=state worker=worker />
                    </aside>
                </main>
            }.into_any(),
        }}
    }
    .into_any()
}
