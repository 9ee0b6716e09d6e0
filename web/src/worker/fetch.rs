//! `fetch` in the worker with byte-level progress: the body is read chunk by chunk so the page can
//! show bytes, percent, speed and ETA for large weight files.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, Response};

use super::{js_error as js_err, scope};

/// The whole body of `url`. `on_chunk(n)` is called with each chunk's length.
pub async fn fetch_bytes(url: &str, on_chunk: &mut dyn FnMut(u64)) -> Result<Vec<u8>, String> {
    let (_, mut body) = fetch_from(url, 0, None).await.map_err(FetchError::message)?;
    let mut out = Vec::with_capacity(body.length.unwrap_or(0) as usize);
    while let Some(chunk) = body.next().await? {
        on_chunk(chunk.len() as u64);
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A small text file (config, tokenizer) without progress.
pub async fn fetch_text(url: &str) -> Result<String, String> {
    let bytes = fetch_bytes(url, &mut |_| {}).await?;
    String::from_utf8(bytes).map_err(|_| format!("{url} is not UTF-8 text"))
}

/// A response body read chunk by chunk.
pub struct BodyStream {
    url: String,
    reader: ReadableStreamDefaultReader,
    /// Content-Length, when the server sent it.
    pub length: Option<u64>,
}

impl BodyStream {
    /// The next chunk, `None` at the end. A network cut surfaces here as an error.
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>, String> {
        let chunk = JsFuture::from(self.reader.read()).await.map_err(|e| js_err(&format!("download of {} interrupted", self.url), e))?;
        if Reflect::get(&chunk, &"done".into()).map(|d| d.is_truthy()).unwrap_or(true) {
            return Ok(None);
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into()).map_err(|e| js_err("chunk", e))?.unchecked_into();
        Ok(Some(value.to_vec()))
    }

    /// Stop the download (the rest of the body is not wanted).
    pub fn cancel(self) {
        let _ = self.reader.cancel();
    }
}

/// Why a request failed: the network (worth retrying) or the server's answer (not).
pub enum FetchError {
    Network(String),
    Refused(String),
}

impl FetchError {
    pub fn message(self) -> String {
        match self {
            FetchError::Network(m) | FetchError::Refused(m) => m,
        }
    }
}

/// GET `url` from byte `from` on, up to byte `to` (exclusive) when given: an HTTP Range request
/// when `from > 0` or `to` is set. Returns where the body starts: `from` when the server honoured
/// the range (206), 0 when it sent the whole file (200).
pub async fn fetch_from(url: &str, from: u64, to: Option<u64>) -> Result<(u64, BodyStream), FetchError> {
    let init = web_sys::RequestInit::new();
    if from > 0 || to.is_some() {
        let range = match to {
            Some(to) => format!("bytes={from}-{}", to.saturating_sub(1)),
            None => format!("bytes={from}-"),
        };
        let headers = web_sys::Headers::new().map_err(|e| FetchError::Refused(js_err("headers", e)))?;
        headers.set("Range", &range).map_err(|e| FetchError::Refused(js_err("headers", e)))?;
        init.set_headers(&headers);
    }
    let response: Response = JsFuture::from(scope().fetch_with_str_and_init(url, &init))
        .await
        .map_err(|e| FetchError::Network(js_err(&format!("cannot fetch {url}"), e)))?
        .unchecked_into();
    let start = match response.status() {
        206 => from,
        200 => 0,
        416 => return Err(FetchError::Refused(format!("{url}: the server has fewer bytes than already downloaded (HTTP 416): the file changed"))),
        s => return Err(FetchError::Refused(format!("{url}: HTTP {s} {}", response.status_text()))),
    };
    let length = response.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<u64>().ok());
    let body = response.body().ok_or_else(|| FetchError::Refused(format!("{url}: empty response")))?;
    Ok((start, BodyStream { url: url.to_string(), reader: body.get_reader().unchecked_into(), length }))
}
