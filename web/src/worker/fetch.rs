//! `fetch` in the worker with byte-level progress: the body is read chunk by chunk so the page can
//! show bytes, percent, speed and ETA for large weight files.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, Response};

use super::scope;

fn js_err(what: &str, e: JsValue) -> String {
    let detail = e.as_string().or_else(|| js_sys::JSON::stringify(&e).ok().and_then(|s| s.as_string())).unwrap_or_default();
    format!("{what}: {detail}")
}

/// The whole body of `url`. `on_chunk(n)` is called with each chunk's length.
pub async fn fetch_bytes(url: &str, on_chunk: &mut dyn FnMut(u64)) -> Result<Vec<u8>, String> {
    let response: Response = JsFuture::from(scope().fetch_with_str(url))
        .await
        .map_err(|e| js_err(&format!("cannot fetch {url}"), e))?
        .unchecked_into();
    if !response.ok() {
        return Err(format!("{url}: HTTP {} {}", response.status(), response.status_text()));
    }
    let Some(body) = response.body() else { return Ok(Vec::new()) };
    let length = response.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    let mut out = Vec::with_capacity(length.unwrap_or(0));
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| js_err(&format!("reading {url}"), e))?;
        if Reflect::get(&chunk, &"done".into()).map(|d| d.is_truthy()).unwrap_or(true) {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into()).map_err(|e| js_err("chunk", e))?.unchecked_into();
        let start = out.len();
        out.resize(start + value.length() as usize, 0);
        value.copy_to(&mut out[start..]);
        on_chunk(value.length() as u64);
    }
    Ok(out)
}

/// A small text file (config, tokenizer) without progress.
pub async fn fetch_text(url: &str) -> Result<String, String> {
    let bytes = fetch_bytes(url, &mut |_| {}).await?;
    String::from_utf8(bytes).map_err(|_| format!("{url} is not UTF-8 text"))
}
