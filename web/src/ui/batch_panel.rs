//! The batch view: progress (done / total, images per minute, time left), Label / Cancel, the
//! exports, and a strip of thumbnails with each item's status; a click shows the item's result.

use leptos::prelude::*;

use super::batch_runner::Batch;
use super::categories_picker::CategoriesPicker;
use super::download::download_text;
use super::state::AppState;
use super::worker_client::WorkerClient;
use crate::batch::{coco, jsonl, progress_line, ItemStatus, MAX_RATE, MIN_RATE};

fn export(state: AppState, batch: Batch, as_coco: bool) {
    let records = batch.records_in_order();
    if records.is_empty() {
        return state.error.set(Some("Nothing is labelled yet.".into()));
    }
    if as_coco {
        match coco(&records.iter().collect::<Vec<_>>(), state.export_categories()) {
            Ok(text) => download_text("batch.coco.json", &text, "application/json"),
            Err(e) => state.error.set(Some(e)),
        }
    } else {
        download_text("batch.jsonl", &jsonl(&records), "application/x-ndjson");
    }
}

/// The end of a path, for the thumbnail's caption.
fn short(name: &str) -> String {
    let tail = name.rsplit('/').next().unwrap_or(name);
    if tail.chars().count() > 18 {
        tail.chars().take(17).chain(['…']).collect()
    } else {
        tail.to_string()
    }
}

#[component]
pub fn BatchPanel(state: AppState, worker: WorkerClient, batch: Batch) -> impl IntoView {
    let counts = move || batch.counts();
    view! {
        <Show when=move || !batch.items.with(Vec::is_empty)>
            <section class="batch panel" data-testid="batch" data-running=move || batch.running.get().to_string()>
                <div class="row">
                    <strong>"Batch"</strong>
                    <span class="batch-instruction">{move || {
                        let i = batch.instruction.get();
                        if i.is_empty() { String::new() } else { format!("“{i}”") }
                    }}</span>
                    <span data-testid="batch-progress" data-done=move || counts().0 data-total=move || counts().2>
                        {move || { let (f, failed, total) = counts(); progress_line(f, failed, total, batch.rate.get()) }}
                    </span>
                </div>
                <progress max=move || counts().2.max(1) value=move || counts().0></progress>
                <Show when=move || batch.note.get().is_some()>
                    <p class="batch-note" data-testid="batch-note">{move || batch.note.get()}</p>
                </Show>
                <div class="row">
                    <Show
                        when=move || batch.running.get()
                        fallback=move || view! {
                            <button class="primary" data-testid="batch-start" disabled=move || !state.model_ready() || state.job.get().is_some() || counts().0 == counts().2
                                on:click=move |_| batch.start(state, worker)>
                                {move || format!("Label {} left", counts().2 - counts().0)}
                            </button>
                        }
                    >
                        <button data-testid="batch-cancel" disabled=move || batch.stopping.get() on:click=move |_| batch.stopping.set(true)>
                            {move || if batch.stopping.get() { "Stopping after this image…" } else { "Cancel after this image" }}
                        </button>
                    </Show>
                    <Show when=move || state.pinned_view.get()>
                        <button on:click=move |_| state.pinned_view.set(false)>"Follow the batch"</button>
                    </Show>
                    <button data-testid="batch-jsonl" on:click=move |_| export(state, batch, false)>"JSON Lines"</button>
                    <button data-testid="batch-coco" on:click=move |_| export(state, batch, true)>"COCO dataset"</button>
                    <CategoriesPicker state=state />
                    <button data-testid="batch-clear" disabled=move || batch.running.get() on:click=move |_| batch.clear(state)>"Clear"</button>
                    <label class="video-rate" title="How many frames per second of a dropped video are labelled">
                        "Video frames/s "
                        <input type="number" min=MIN_RATE.to_string() max=MAX_RATE.to_string() step="0.5" data-testid="video-rate"
                            prop:value=move || batch.video_rate.get().to_string()
                            on:change=move |e| {
                                if let Ok(r) = event_target_value(&e).parse::<f64>() {
                                    if (MIN_RATE..=MAX_RATE).contains(&r) { batch.video_rate.set(r); }
                                }
                            } />
                    </label>
                </div>
                <ol class="thumbs" data-testid="batch-items">
                    <For
                        each=move || batch.items.get()
                        key=|item| (item.source.key.clone(), item.status.name(), item.thumb.is_some())
                        let:item
                    >
                        {
                            let key = item.source.key.clone();
                            let k2 = key.clone();
                            let title = match &item.status {
                                ItemStatus::Failed(e) => format!("{}: {e}", item.source.name),
                                s => format!("{}: {}", item.source.name, s.name()),
                            };
                            view! {
                                <li class=format!("thumb {}", item.status.name()) class:viewing=move || batch.viewing.get().as_deref() == Some(k2.as_str())
                                    data-status=item.status.name() data-name=item.source.name.clone() title=title>
                                    <button on:click=move |_| batch.view(state, key.clone())>
                                        {match item.thumb.clone() {
                                            Some(src) => view! { <img src=src.to_string() alt="" /> }.into_any(),
                                            None => view! { <span class="no-thumb"></span> }.into_any(),
                                        }}
                                        <span class="thumb-name">{short(&item.source.name)}</span>
                                    </button>
                                </li>
                            }
                        }
                    </For>
                </ol>
            </section>
        </Show>
    }
}
