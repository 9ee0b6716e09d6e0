//! The model manager: the catalog with sizes before download, where remote models come from,
//! load progress (bytes, percent, speed, ETA), storage used.

use leptos::prelude::*;

use super::state::{AppState, ModelStatus};
use super::worker_client::WorkerClient;
use crate::catalog::{eta_seconds, human_bytes, human_duration, percent, repository_files, speed, Catalog};
use crate::messages::{ModelFiles, Progress, Stage, ToWorker};

const HOST_KEY: &str = "visionllm.model-host";

/// The catalog from `models/catalog.json`; the host from `?models=`, then localStorage.
pub fn fetch_catalog(state: AppState) {
    leptos::task::spawn_local(async move {
        let text = async {
            let blob = super::image_input::fetch_blob("models/catalog.json").await?;
            let text = wasm_bindgen_futures::JsFuture::from(blob.text()).await.map_err(|_| "unreadable catalog")?;
            text.as_string().ok_or_else(|| "unreadable catalog".to_string())
        };
        match text.await.and_then(|t| serde_json::from_str::<Catalog>(&t).map_err(|e| format!("models/catalog.json: {e}"))) {
            Ok(catalog) => {
                let stored = web_sys::window().and_then(|w| w.local_storage().ok().flatten()).and_then(|s| s.get_item(HOST_KEY).ok().flatten());
                let query = web_sys::window()
                    .and_then(|w| w.location().search().ok())
                    .and_then(|q| q.trim_start_matches('?').split('&').find_map(|kv| kv.strip_prefix("models=").map(str::to_string)))
                    .and_then(|v| js_sys::decode_uri_component(&v).ok().and_then(|s| s.as_string()));
                state.host.set(query.or(stored).unwrap_or_else(|| catalog.default_host.clone()));
                state.selected_model.set(catalog.default_model.clone());
                state.catalog.set(Some(catalog));
            }
            Err(e) => state.error.set(Some(e)),
        }
    });
}

/// Ask the worker to load the selected model (relative URLs are resolved against the page).
pub fn load_selected(state: AppState, worker: WorkerClient) {
    let Some(model) = state.catalog.with_untracked(|c| c.as_ref().and_then(|c| c.models.iter().find(|m| m.id == state.selected_model.get_untracked()).cloned())) else {
        return;
    };
    load_files(state, worker, model.model_files(&state.host.get_untracked()));
}

/// Ask the worker to load `files`.
fn load_files(state: AppState, worker: WorkerClient, mut files: ModelFiles) {
    if let Some(base) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.base_uri().ok().flatten()) {
        if let Ok(url) = web_sys::Url::new_with_base(&files.base_url, &base) {
            files.base_url = url.href();
        }
    }
    state.model.set(ModelStatus::Loading { id: files.id.clone() });
    request_persistence();
    worker.send(&ToWorker::LoadModel { model: files }, None);
}

/// Ask the browser to keep this site's storage under pressure (page only: workers cannot ask).
/// The answer is informational; a refusal only means the cache may be evicted.
fn request_persistence() {
    let Some(window) = web_sys::window() else { return };
    if let Ok(promise) = window.navigator().storage().persist() {
        leptos::task::spawn_local(async move {
            let granted = wasm_bindgen_futures::JsFuture::from(promise).await.ok().and_then(|v| v.as_bool()).unwrap_or(false);
            web_sys::console::log_1(&format!("persistent storage: {}", if granted { "granted" } else { "not granted" }).into());
        });
    }
}

/// The catalog's display name for `id` (the id itself when unknown).
pub fn model_name(state: AppState, id: &str) -> String {
    state.catalog.with(|c| c.as_ref().and_then(|c| c.models.iter().find(|m| m.id == id).map(|m| m.name.clone()))).unwrap_or_else(|| id.to_string())
}

/// One line for a progress event: "12.3 MB of 230 MB (5%), 4.1 MB/s, 52 s left".
pub fn describe_progress(p: &Progress) -> String {
    match p.stage {
        Stage::Download | Stage::Convert | Stage::Load => {
            let mut s = format!("{}: {}", p.stage.label(), human_bytes(p.done));
            if let Some(t) = p.total {
                s += &format!(" of {}", human_bytes(t));
            }
            if let Some(pc) = percent(p.done, p.total) {
                s += &format!(" ({pc:.0}%)");
            }
            if p.stage != Stage::Load {
                if let Some(v) = speed(p.done, p.elapsed_ms) {
                    s += &format!(", {}/s", human_bytes(v as u64));
                }
                if let Some(eta) = eta_seconds(p.done, p.total, p.elapsed_ms) {
                    s += &format!(", {} left", human_duration(eta));
                }
            }
            s
        }
        Stage::Decode => format!("{}: {} tokens", p.stage.label(), p.done),
        Stage::Masks => format!("{}: box {} of {}", p.stage.label(), p.done + 1, p.total.unwrap_or(0)),
        _ => format!("{}…", p.stage.label()),
    }
}

#[component]
pub fn ProgressBar(state: AppState) -> impl IntoView {
    view! {
        <Show when=move || state.progress.get().is_some() || state.job.get().is_some()>
            <div class="progress" data-testid="progress">
                {move || {
                    let p = state.progress.get();
                    let value = p.as_ref().and_then(|p| percent(p.done, p.total));
                    let text = p.as_ref().map(describe_progress).unwrap_or_else(|| "Starting…".into());
                    view! {
                        // No value: an indeterminate bar (the stage has no measurable steps).
                        {match value {
                            Some(v) => view! { <progress max="100" prop:value=v></progress> }.into_any(),
                            None => view! { <progress></progress> }.into_any(),
                        }}
                        <span>{text}</span>
                    }
                }}
            </div>
        </Show>
    }
}

#[component]
pub fn ModelPanel(state: AppState, worker: WorkerClient) -> impl IntoView {
    let storage = RwSignal::new(None::<(f64, f64)>);
    leptos::task::spawn_local(async move {
        let Some(window) = web_sys::window() else { return };
        let Ok(promise) = window.navigator().storage().estimate() else { return };
        if let Ok(est) = wasm_bindgen_futures::JsFuture::from(promise).await {
            let get = |k: &str| js_sys::Reflect::get(&est, &k.into()).ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
            storage.set(Some((get("usage"), get("quota"))));
        }
    });
    let loading = move || matches!(state.model.get(), ModelStatus::Loading { .. });
    let repo = RwSignal::new(String::new());
    let repo_quant = RwSignal::new("q4".to_string());
    view! {
        <details class="panel model-panel">
            <summary>"Model: " {move || match state.model.get() {
                ModelStatus::None => "none".to_string(),
                ModelStatus::Loading { id } => format!("loading {id}…"),
                ModelStatus::Loaded { id, bytes, load_ms } => format!("{} ({}, ready in {:.1} s)", model_name(state, &id), human_bytes(bytes), load_ms / 1000.0),
                ModelStatus::Failed { id, .. } => format!("{id} failed to load"),
            }}</summary>
            <ul class="models">
                {move || state.catalog.get().map(|c| c.models.into_iter().map(|m| {
                    let id = m.id.clone();
                    let id2 = m.id.clone();
                    // A repository quantized while it downloads: its size is known once the source's header arrives.
                    let unknown = if m.files.quantize.is_some() { "download size shown when it starts" } else { "size to be filled by the converter" };
                    let size = m.size_bytes.map(human_bytes).unwrap_or_else(|| unknown.into());
                    view! {
                        <li class:unavailable=!m.available>
                            <label>
                                <input type="radio" name="model" disabled=!m.available
                                    prop:checked=move || state.selected_model.get() == id
                                    on:change=move |_| state.selected_model.set(id2.clone()) />
                                <strong>{m.name.clone()}</strong>
                                <span class="size">{format!(" · {} · {}{}", m.precision, size, if m.embedded { " · works offline" } else { "" })}</span>
                            </label>
                            <p class="note">{m.note.clone()}</p>
                        </li>
                    }
                }).collect_view())}
            </ul>
            <label class="host">"Remote models from "
                <input type="url" prop:value=move || state.host.get() on:change=move |e| {
                    let v = event_target_value(&e);
                    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) { let _ = s.set_item(HOST_KEY, &v); }
                    state.host.set(v);
                } />
            </label>
            <button disabled=move || loading() || state.job.get().is_some() on:click=move |_| load_selected(state, worker)>"Load selected model"</button>
            <form class="repository" on:submit=move |e| {
                e.prevent_default();
                match repository_files(&repo.get_untracked(), &repo_quant.get_untracked(), &state.host.get_untracked()) {
                    Ok(files) => load_files(state, worker, files),
                    Err(message) => state.error.set(Some(message)),
                }
            }>
                <label>"Or a repository of the transformers layout: "
                    <input type="text" data-testid="repository" placeholder="florence-community/Florence-2-large"
                        prop:value=move || repo.get() on:input=move |e| repo.set(event_target_value(&e)) />
                </label>
                <select data-testid="repository-quant" on:change=move |e| repo_quant.set(event_target_value(&e))>
                    <option value="q4" selected>"Q4"</option>
                    <option value="q8">"Q8"</option>
                    <option value="f16">"F16"</option>
                </select>
                <button type="submit" disabled=move || loading() || state.job.get().is_some()>"Quantize while downloading"</button>
            </form>
            <p class="storage">{move || storage.get().map(|(u, q)| format!(
                "Site storage: {} used of {} available. Converted models are kept in browser storage (verified shards; an interrupted download resumes).",
                human_bytes(u as u64), human_bytes(q as u64)))}</p>
            <ul class="cached" data-testid="cached-models">
                {move || state.cached.get().into_iter().map(|m| {
                    let id = m.id.clone();
                    view! {
                        <li data-model=m.id.clone()>
                            {format!("{} · {} stored ", model_name(state, &m.id), human_bytes(m.bytes))}
                            <button disabled=move || loading() || state.job.get().is_some()
                                on:click=move |_| worker.send(&ToWorker::DeleteCache { id: id.clone() }, None)>"Delete"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </details>
    }
}
