//! Saving files from the page: a Blob, an object URL (gloo-file's `ObjectUrl`, revoked when
//! dropped), a click on a temporary link.

use gloo_file::{Blob, ObjectUrl};
use wasm_bindgen::prelude::*;
use web_sys::{HtmlAnchorElement, HtmlCanvasElement};

fn save_blob(blob: Blob, name: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let url = ObjectUrl::from(blob);
    if let Ok(a) = document.create_element("a") {
        let a: HtmlAnchorElement = a.unchecked_into();
        a.set_href(&url);
        a.set_download(name);
        a.click();
    }
    // `url` is revoked here: the click has started the download.
}

pub fn download_text(name: &str, text: &str, mime: &str) {
    save_blob(Blob::new_with_options(text, Some(mime)), name);
}

pub fn download_canvas_png(canvas: &HtmlCanvasElement, name: &'static str) {
    // `canvas.toBlob` has no gloo wrapper: its callback stays web-sys.
    let callback = Closure::once_into_js(move |blob: JsValue| {
        if let Ok(blob) = blob.dyn_into::<web_sys::Blob>() {
            save_blob(Blob::from(blob), name);
        }
    });
    let _ = canvas.to_blob(callback.unchecked_ref());
}
