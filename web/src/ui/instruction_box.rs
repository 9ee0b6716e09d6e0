//! The instruction: free text (Enter runs), suggestion chips for the common tasks, the region
//! mode for "what is this?" questions, and Run / Cancel.

use leptos::prelude::*;
use web_sys::KeyboardEvent;

use super::image_input::rgba_buffer;
use super::state::AppState;
use super::worker_client::WorkerClient;
use crate::messages::ToWorker;

pub const SUGGESTIONS: [&str; 8] = [
    "find everything",
    "find the red circles",
    "segment the biggest square",
    "caption",
    "describe in detail",
    "read the text",
    "find the text and show where",
    "propose regions",
];

/// Send the current image and instruction to the worker as a new job.
pub fn run(state: AppState, worker: WorkerClient) {
    let instruction = state.instruction.get_untracked().trim().to_string();
    let Some(image) = state.image.get_untracked() else {
        return state.error.set(Some("Add an image first.".into()));
    };
    if instruction.is_empty() {
        return state.error.set(Some("Type an instruction or pick a suggestion.".into()));
    }
    if state.job.get_untracked().is_some() || !state.model_ready() {
        return;
    }
    let pixels = state.source.with_value(|s| s.as_ref().map(rgba_buffer));
    let pixels = match pixels {
        Some(Ok(p)) => p,
        Some(Err(e)) => return state.error.set(Some(e)),
        None => return,
    };
    let job = state.next_job.get_value();
    state.next_job.set_value(job + 1);
    state.error.set(None);
    state.job.set(Some(job));
    let region = state.region.get_untracked();
    worker.send(&ToWorker::Run { job, width: image.width, height: image.height, instruction, region }, Some(pixels));
}

#[component]
pub fn InstructionBox(state: AppState, worker: WorkerClient) -> impl IntoView {
    let busy = move || state.job.get().is_some();
    let can_run = move || !busy() && state.image.get().is_some() && state.model_ready();
    view! {
        <div class="instruction">
            <div class="row">
                <input
                    type="text"
                    data-testid="instruction"
                    placeholder="What should I do? e.g. find every car and person"
                    prop:value=move || state.instruction.get()
                    on:input=move |e| state.instruction.set(event_target_value(&e))
                    on:keydown=move |e: KeyboardEvent| if e.key() == "Enter" { run(state, worker); }
                />
                <Show
                    when=busy
                    fallback=move || view! {
                        <button class="primary" data-testid="run" disabled=move || !can_run() on:click=move |_| run(state, worker)>"Run"</button>
                    }
                >
                    <button data-testid="cancel" on:click=move |_| {
                        if let Some(job) = state.job.get_untracked() {
                            worker.send(&ToWorker::Cancel { job }, None);
                        }
                    }>"Cancel"</button>
                </Show>
            </div>
            <div class="chips">
                {SUGGESTIONS.into_iter().map(|s| view! {
                    <button class="chip" on:click=move |_| { state.instruction.set(s.to_string()); run(state, worker); }>{s}</button>
                }).collect_view()}
                <button
                    class="chip region"
                    class:active=move || state.region_mode.get()
                    title="Drag on the image to mark a region, then ask e.g. “what is this?”"
                    on:click=move |_| state.region_mode.update(|m| *m = !*m)
                >
                    {move || if state.region_mode.get() { "drawing a region…" } else { "draw a region" }}
                </button>
                <Show when=move || state.region.get().is_some()>
                    <button class="chip" on:click=move |_| state.region.set(None)>"clear region"</button>
                </Show>
            </div>
        </div>
    }
}
