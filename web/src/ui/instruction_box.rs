//! The instruction: free text (Enter runs), suggestion chips for the common tasks, the region
//! mode for "what is this?" questions, and Run / Cancel.

use leptos::prelude::*;
use visionllm_tasks::MAX_INSTRUCTION_CHARS;
use visionllm_tasks::BoundingBox;
use web_sys::{ClipboardEvent, HtmlCanvasElement, HtmlInputElement, InputEvent, KeyboardEvent};

use super::image_input::rgba_buffer;
use super::state::AppState;
use super::worker_client::WorkerClient;
use crate::instruction_limit::{clamp_units, cut_message, paste_into};
use crate::messages::{DecodingMode, ToWorker};

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
    if state.image.get_untracked().is_none() {
        return state.error.set(Some("Add an image first.".into()));
    }
    if instruction.is_empty() {
        return state.error.set(Some("Type an instruction or pick a suggestion.".into()));
    }
    if state.job.get_untracked().is_some() || !state.model_ready() {
        return;
    }
    state.pinned_view.set(false);
    let region = state.region.get_untracked();
    let decoding = state.decoding_mode();
    let sent = state.source.with_value(|s| s.as_ref().map(|canvas| start_job(state, worker, canvas, instruction, region, decoding)));
    if let Some(Err(e)) = sent {
        state.error.set(Some(e));
    }
}

/// Send `canvas`'s pixels and `instruction` to the worker as a new job (the page's one running
/// job): the job's id, or why the pixels could not be read. The batch and the camera start
/// their jobs here too.
pub fn start_job(state: AppState, worker: WorkerClient, canvas: &HtmlCanvasElement, instruction: String, region: Option<BoundingBox>, decoding: DecodingMode) -> Result<u64, String> {
    let pixels = rgba_buffer(canvas)?;
    let job = state.next_job.get_value();
    state.next_job.set_value(job + 1);
    state.error.set(None);
    state.job.set(Some(job));
    let (width, height) = (canvas.width(), canvas.height());
    worker.send(&ToWorker::Run { job, width, height, instruction, region, decoding }, Some(pixels));
    Ok(job)
}

#[component]
pub fn InstructionBox(state: AppState, worker: WorkerClient) -> impl IntoView {
    let busy = move || state.job.get().is_some();
    let can_run = move || !busy() && state.image.get().is_some() && state.model_ready();
    // Set when a typed or pasted text was cut to the limit; cleared by the next edit that fits.
    let cut = RwSignal::new(false);
    // A script, an IME or autofill can set more than `maxlength` allows: cut it here too.
    let on_input = move |e: web_sys::Event| {
        let input: HtmlInputElement = event_target(&e);
        let value = input.value();
        let (kept, was_cut) = clamp_units(&value, MAX_INSTRUCTION_CHARS);
        if was_cut {
            input.set_value(kept);
        }
        cut.set(was_cut);
        state.instruction.set(kept.to_string());
    };
    // The browser would cut a long paste or insertion at `maxlength` without a word; splice it
    // here instead, so the user learns the end was dropped.
    let insert = move |e: &web_sys::Event, text: String| {
        let input: HtmlInputElement = event_target(e);
        let value = input.value();
        let start = input.selection_start().ok().flatten().unwrap_or(0);
        let end = input.selection_end().ok().flatten().unwrap_or(start);
        let pasted = paste_into(&value, start, end, &text, MAX_INSTRUCTION_CHARS);
        e.prevent_default();
        input.set_value(&pasted.value);
        let _ = input.set_selection_range(pasted.caret, pasted.caret);
        cut.set(pasted.cut);
        state.instruction.set(pasted.value);
    };
    let on_paste = move |e: ClipboardEvent| {
        if let Some(text) = e.clipboard_data().and_then(|d| d.get_data("text").ok()).filter(|t| !t.is_empty()) {
            insert(&e, text);
        }
    };
    // Typed, dropped or committed (IME) text: only a text that would not fit is taken over.
    let on_before_input = move |e: InputEvent| {
        let Some(text) = e.data().filter(|t| !t.is_empty() && e.input_type().starts_with("insert")) else { return };
        let input: HtmlInputElement = event_target(&e);
        let kept = input.value().encode_utf16().count();
        let selected = match (input.selection_start(), input.selection_end()) {
            (Ok(Some(a)), Ok(Some(b))) => b.abs_diff(a) as usize,
            _ => 0,
        };
        if kept - selected.min(kept) + text.encode_utf16().count() > MAX_INSTRUCTION_CHARS {
            insert(&e, text);
        }
    };
    view! {
        <div class="instruction">
            <div class="row">
                <input
                    type="text"
                    data-testid="instruction"
                    placeholder="What should I do? e.g. find every car and person"
                    maxlength=MAX_INSTRUCTION_CHARS.to_string()
                    prop:value=move || state.instruction.get()
                    on:input=on_input
                    on:paste=on_paste
                    on:beforeinput=on_before_input
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
            <label class="decoding" title="Accurate searches 3 answers at once (Florence-2's published setting); fast keeps one and is about 3x quicker.">
                "Decoding "
                <select
                    data-testid="decoding"
                    prop:value=move || state.decoding_mode().name()
                    on:change=move |e| {
                        if let Some(mode) = DecodingMode::from_name(&event_target_value(&e)) {
                            state.choose_decoding(mode);
                        }
                    }
                >
                    {DecodingMode::ALL.into_iter().map(|m| view! {
                        <option value=m.name() selected=move || state.decoding_mode() == m>{m.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <Show when=move || cut.get()>
                <p class="limit" role="alert" data-testid="instruction-limit">{cut_message(MAX_INSTRUCTION_CHARS)}</p>
            </Show>
            <div class="chips">
                {SUGGESTIONS.into_iter().map(|s| view! {
                    <button class="chip" on:click=move |_| { cut.set(false); state.instruction.set(s.to_string()); run(state, worker); }>{s}</button>
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
