//! "Categories…": load a dataset's categories (a COCO file's `categories`, or a list of `{id,
//! name}`), so the COCO exports give labels the dataset's ids, as `--categories` does for the CLI.

use leptos::prelude::*;
use visionllm_tasks::export::Categories;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;

use super::state::AppState;

/// Largest categories file read (a COCO annotations file with its images and annotations can be
/// large; only its `categories` are kept).
const MAX_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

async fn read(file: web_sys::File) -> Result<(String, Categories), String> {
    let name = file.name();
    if file.size() > MAX_BYTES {
        return Err(format!("{name}: {:.0} MB is more than a categories file should be (at most 64 MB)", file.size() / 1e6));
    }
    let text = JsFuture::from(file.text()).await.map_err(|_| format!("{name}: cannot be read"))?;
    let text = text.as_string().ok_or_else(|| format!("{name}: not text"))?;
    let categories = Categories::from_json(&text).map_err(|e| format!("{name}: {e}"))?;
    Ok((name, categories))
}

#[component]
pub fn CategoriesPicker(state: AppState) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    let on_pick = move |e: web_sys::Event| {
        let element: HtmlInputElement = event_target(&e);
        let Some(file) = element.files().and_then(|f| f.get(0)) else { return };
        element.set_value("");
        leptos::task::spawn_local(async move {
            match read(file).await {
                Ok(loaded) => state.categories.set(Some(loaded)),
                Err(e) => state.error.set(Some(e)),
            }
        });
    };
    view! {
        <span class="categories">
            <input type="file" accept=".json,application/json" hidden node_ref=input data-testid="categories-input" on:change=on_pick />
            {move || match state.categories.get() {
                Some((name, c)) => view! {
                    <span data-testid="categories" title="Labels in this list get its ids in the COCO exports">
                        {format!("categories: {name} ({})", c.entries.len())}
                        " " <button class="link" on:click=move |_| state.categories.set(None)>"×"</button>
                    </span>
                }.into_any(),
                None => view! {
                    <button class="link" title="Load a dataset's categories (COCO JSON), so labels get its ids in the COCO exports"
                        on:click=move |_| { if let Some(i) = input.get() { i.click(); } }>"categories…"</button>
                }.into_any(),
            }}
        </span>
    }
}
