//! Getting an image in: drag and drop, the file picker, paste (anywhere on the page), and the
//! example images shipped in `examples/`. All roads lead to [`load_blob`].

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::{Blob, ClipboardEvent, DragEvent, HtmlInputElement};

use super::batch_runner::Batch;
use super::camera::Camera;
use super::worker_client::WorkerClient;
use super::folder_drop::{dropped, files_of, from_list};
use super::image_input::{decode, fetch_blob};
use super::state::{AppState, ImageInfo};

/// A photograph (for real Florence-2 models) and a generated scene (`visionllm scene --seed
/// 1000006185`, an evaluation seed) that the embedded demo model understands.
pub const EXAMPLES: [(&str, &str); 2] = [("examples/photo.png", "Photo"), ("examples/scene-1000006185.png", "Shapes")];

/// Decode and show `blob`; on failure show the message and keep the current image.
pub fn load_blob(state: AppState, blob: Blob, name: String) {
    leptos::task::spawn_local(async move {
        match decode(&blob, &name).await {
            Ok(img) => {
                let serial = state.image.get_untracked().map_or(1, |i| i.serial + 1);
                state.source.set_value(Some(img.canvas));
                state.result.set(None);
                state.region.set(None);
                state.hovered.set(None);
                state.hidden_classes.set(Vec::new());
                state.error.set(None);
                state.image.set(Some(ImageInfo { name, width: img.width, height: img.height, serial }));
            }
            Err(message) => state.error.set(Some(message)),
        }
    });
}

fn first_file(files: Option<web_sys::FileList>) -> Option<web_sys::File> {
    files.and_then(|f| f.get(0))
}

/// One image opens in the view; several files, a folder or a video go to the batch.
fn take_files(state: AppState, batch: Batch, files: Vec<(String, web_sys::File)>) {
    match files.as_slice() {
        [] => {}
        [(name, file)] if !file.type_().starts_with("video/") => load_blob(state, file.clone().into(), name.clone()),
        _ => batch.add(state, files),
    }
}

/// Paste an image from the clipboard anywhere on the page (text pastes into inputs are left alone).
pub fn listen_for_paste(state: AppState) {
    let on_paste = Closure::<dyn FnMut(ClipboardEvent)>::new(move |e: ClipboardEvent| {
        let Some(data) = e.clipboard_data() else { return };
        if let Some(file) = first_file(data.files()) {
            e.prevent_default();
            let name = if file.name().is_empty() { "pasted image".to_string() } else { file.name() };
            load_blob(state, file.into(), name);
        }
    });
    if let Some(w) = web_sys::window() {
        let _ = w.add_event_listener_with_callback("paste", on_paste.as_ref().unchecked_ref());
    }
    on_paste.forget();
}

#[component]
pub fn InputPanel(state: AppState, batch: Batch, camera: Camera, worker: WorkerClient) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let file_input = NodeRef::<leptos::html::Input>::new();
    let folder_input = NodeRef::<leptos::html::Input>::new();
    // `webkitdirectory` (pick a folder) is no attribute the view macro knows.
    Effect::new(move |_| {
        if let Some(input) = folder_input.get() {
            input.set_webkitdirectory(true);
        }
    });
    let on_drop = move |e: DragEvent| {
        e.prevent_default();
        dragging.set(false);
        let Some(data) = e.data_transfer() else { return };
        let what = dropped(&data);
        leptos::task::spawn_local(async move { take_files(state, batch, files_of(what).await) });
    };
    let on_pick = move |e: web_sys::Event| {
        let input: HtmlInputElement = event_target(&e);
        let files = input.files().map(|l| from_list(&l)).unwrap_or_default();
        take_files(state, batch, files);
        // Picking the same file again should load it again.
        input.set_value("");
    };
    let open_example = move |url: &'static str, name: &'static str| {
        leptos::task::spawn_local(async move {
            match fetch_blob(url).await {
                Ok(blob) => load_blob(state, blob, name.to_string()),
                Err(e) => state.error.set(Some(e)),
            }
        });
    };
    view! {
        <div
            class="drop-zone"
            class:dragging=move || dragging.get()
            data-testid="drop-zone"
            on:dragover=move |e: DragEvent| { e.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
        >
            <p>"Drop an image here, paste one (Ctrl+V), or "
                <button class="link" on:click=move |_| { if let Some(i) = file_input.get() { i.click(); } }>"choose files"</button>
                "; drop many images, a folder or a video to label them all ("
                <button class="link" on:click=move |_| { if let Some(i) = folder_input.get() { i.click(); } }>"choose a folder"</button>
                ")."
            </p>
            <input type="file" accept="image/*,video/*" multiple hidden node_ref=file_input data-testid="file-input" on:change=on_pick />
            <input type="file" multiple hidden node_ref=folder_input data-testid="folder-input" on:change=on_pick />
            <p class="examples">
                <Show when=move || !camera.on.get() fallback=move || view! {
                    <button class="chip" data-testid="camera-off" on:click=move |_| camera.stop()>"Stop camera"</button>
                }>
                    <button class="chip" data-testid="camera-start" title="Run the instruction on the live camera, on the newest frame whenever the engine is free"
                        on:click=move |_| camera.start(state, worker)>"Use the camera"</button>
                </Show>
                " Examples: "
                {EXAMPLES.into_iter().map(|(url, name)| view! {
                    <button class="chip" on:click=move |_| open_example(url, name)>{name}</button>
                }).collect_view()}
            </p>
        </div>
    }
}
