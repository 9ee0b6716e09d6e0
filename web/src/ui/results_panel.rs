//! Beside the image: what ran and why, text answers (captions, OCR), the item list (hover links
//! to the canvas), per-class toggles, timings, and the exports.

use leptos::prelude::*;

use super::categories_picker::CategoriesPicker;
use super::download::{download_canvas_png, download_text};
use super::image_input::new_canvas;
use super::image_view::{current_display, render};
use super::model_panel::load_selected;
use super::state::{AppState, ModelStatus};
use super::worker_client::WorkerClient;
use crate::catalog::human_bytes;
use crate::export::{coco_document, transformers_document};
use crate::messages::{JobResult, JobStatus};
use crate::palette::{colour_for, css};
use visionllm_tasks::Shape;

fn export_json(state: AppState, coco: bool) {
    let name = state.image.get_untracked().map(|i| i.name).unwrap_or_else(|| "image".into());
    let doc = state.result.with_untracked(|r| {
        r.as_ref().map(|r| if coco { coco_document(r, &name, state.export_categories()) } else { Ok(serde_json::to_string_pretty(&transformers_document(r)).unwrap_or_default()) })
    });
    match doc {
        Some(Ok(text)) => download_text(if coco { "results.coco.json" } else { "results.json" }, &text, "application/json"),
        Some(Err(e)) => state.error.set(Some(e)),
        None => {}
    }
}

/// The annotated image at full size (the screen canvas may be scaled down).
fn export_png(state: AppState) {
    let Some(info) = state.image.get_untracked() else { return };
    match new_canvas(info.width, info.height) {
        Ok(canvas) => {
            untrack(|| render(state, &canvas, false));
            download_canvas_png(&canvas, "annotated.png");
        }
        Err(e) => state.error.set(Some(e)),
    }
}

fn status_name(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Running => "running",
        JobStatus::Done => "done",
        JobStatus::Cancelled => "cancelled",
    }
}

/// What the user is looking at: a growing answer, the final one, or what was shown when it stopped.
fn status_line(r: &JobResult) -> String {
    let mode = r.decoding.label();
    match r.status {
        JobStatus::Running => format!("Writing the answer ({mode}): {} tokens, {:.1} tokens/s…", r.timings.decode_tokens, r.timings.tokens_per_s()),
        JobStatus::Done => format!("Answer ({mode})"),
        JobStatus::Cancelled => format!("Stopped: the answer as far as it got ({mode}, {} tokens)", r.timings.decode_tokens),
    }
}

fn timings_line(r: &JobResult) -> String {
    let t = &r.timings;
    format!(
        "preprocess {:.0} ms · vision {:.0} ms · encoder {:.0} ms · decode {} tokens in {:.0} ms ({:.1} tokens/s)",
        t.preprocess_ms, t.vision_ms, t.encoder_ms, t.decode_tokens, t.decode_ms, t.tokens_per_s()
    )
}

/// Beside the answers of a model that knows little (the shapes demo: its catalog entry says what it
/// knows and which model to offer): what it knows, and that model one click away.
#[component]
fn ModelHint(state: AppState, worker: WorkerClient) -> impl IntoView {
    let hint = move || {
        let ModelStatus::Loaded { id, .. } = state.model.get() else { return None };
        state.catalog.with(|c| {
            let c = c.as_ref()?;
            let loaded = c.models.iter().find(|m| m.id == id)?;
            let knows = loaded.knows.clone()?;
            let offer = loaded.upgrade.as_ref().and_then(|u| c.models.iter().find(|m| &m.id == u && m.available)).cloned();
            Some((knows, offer))
        })
    };
    move || {
        hint().map(|(knows, offer)| {
            view! {
                <p class="model-hint" data-testid="model-hint">
                    {format!("This demo model knows only {knows}; on anything else its answers mean nothing. ")}
                    {offer.map(|m| {
                        let size = m.stored_bytes.or(m.size_bytes).map(|b| format!(", {} in this browser", human_bytes(b))).unwrap_or_default();
                        let label = format!("Use {}{size}", m.name);
                        let id = m.id.clone();
                        view! {
                            <button class="link" data-testid="upgrade-model" disabled=move || state.job.get().is_some()
                                on:click=move |_| { state.selected_model.set(id.clone()); load_selected(state, worker); }>{label}</button>
                        }
                    })}
                </p>
            }
        })
    }
}

#[component]
pub fn ResultsPanel(state: AppState, worker: WorkerClient) -> impl IntoView {
    let shown = move || current_display(state);
    view! {
        <Show when=move || state.result.get().is_some()>
            <section
                class="results"
                data-testid="results"
                data-status=move || state.result.with(|r| r.as_ref().map(|r| status_name(r.status)))
            >
                {move || state.result.with(|r| r.as_ref().map(|r| view! {
                    <p class="explanation" class:fallback=r.fallback>{r.explanation.clone()}</p>
                    <p class="answer-status" data-testid="answer-status">{status_line(r)}</p>
                    <p class="timings" data-testid="timings">{timings_line(r)}</p>
                }))}
                {move || state.result.with(|r| r.as_ref().and_then(|r| crate::results::nothing_found(r, &shown().0)))
                    .map(|line| view! { <p class="nothing-found" data-testid="nothing-found">{line}</p> })}
                <ModelHint state=state worker=worker />
                {move || shown().0.texts.into_iter().map(|t| view! {
                    <div class="text-answer"><span class="task">{t.task}</span><p data-testid="text-answer">{t.text}</p></div>
                }).collect_view()}
                <div class="toggles">
                    {move || {
                        let (d, classes) = shown();
                        classes.clone().into_iter().map(|class| {
                            let count = d.items.iter().filter(|i| i.class == class).count();
                            let colour = css(colour_for(&classes, &class), 1.0);
                            let c = class.clone();
                            let on = move || !state.hidden_classes.get().contains(&c);
                            let c2 = class.clone();
                            view! {
                                <label class="toggle">
                                    <input type="checkbox" prop:checked=on on:change=move |_| state.hidden_classes.update(|h| {
                                        if let Some(p) = h.iter().position(|x| *x == c2) { h.remove(p); } else { h.push(c2.clone()); }
                                    }) />
                                    <span class="swatch" style:background=colour></span>
                                    {format!("{} ({count})", if class.is_empty() { "(no label)" } else { &class })}
                                </label>
                            }
                        }).collect_view()
                    }}
                </div>
                <ol class="items" data-testid="items">
                    {move || {
                        let (d, classes) = shown();
                        d.items.into_iter().map(|item| {
                            let id = item.id;
                            let colour = css(colour_for(&classes, &item.class), 1.0);
                            let b = match &item.shape {
                                Shape::Point(p) => format!("({:.0}, {:.0})", p.x, p.y),
                                _ => item.bounds().map(|b| format!("[{:.0}, {:.0}, {:.0}, {:.0}]", b.x1, b.y1, b.x2, b.y2)).unwrap_or_default(),
                            };
                            view! {
                                <li
                                    class:hovered=move || state.hovered.get() == Some(id)
                                    on:mouseenter=move |_| state.hovered.set(Some(id))
                                    on:mouseleave=move |_| state.hovered.set(None)
                                >
                                    <span class="swatch" style:background=colour></span>
                                    <span class="label">{if item.label.is_empty() { "(no label)".to_string() } else { item.label.clone() }}</span>
                                    <span class="coords">{b}</span>
                                </li>
                            }
                        }).collect_view()
                    }}
                </ol>
                <div class="exports">
                    <button on:click=move |_| export_json(state, false)>"JSON (transformers)"</button>
                    <button on:click=move |_| export_json(state, true)>"JSON (COCO)"</button>
                    <button on:click=move |_| export_png(state)>"Annotated PNG"</button>
                    <CategoriesPicker state=state />
                </div>
                <details>
                    <summary>"Raw result"</summary>
                    <pre data-testid="result-json">{move || state.result.with(|r| r.as_ref().map(|r| serde_json::to_string(&transformers_document(r)).unwrap_or_default()))}</pre>
                </details>
            </section>
        </Show>
    }
}
