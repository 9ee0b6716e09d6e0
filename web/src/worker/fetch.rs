//! `fetch` in the worker with byte-level progress: the body is read chunk by chunk so the page can
//! show bytes, percent, speed and ETA for large weight files.
//!
//! Everything a host sends is bounded before it is trusted: a body read whole is checked against
//! its kind's cap (`visionllm_weights::limits`) from `Content-Length` before anything is
//! allocated, and again as it arrives (a missing or lying length gains nothing); a partial answer
//! (206) is used only when its `Content-Range` starts where we asked, otherwise the file is
//! fetched again from its first byte; a resumed request carries `If-Range`, so a file that changed
//! on the host comes back whole instead of as a tail of different bytes.

use gloo_net::http::Request;
use js_sys::{Reflect, Uint8Array};
use visionllm_weights::limits::{check_size, FileKind, MAX_SHARD_FILE_BYTES};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::ReadableStreamDefaultReader;

use super::identity::{parse_content_range, Validators};
use super::js_error as js_err;

/// Checkpoints read whole into memory (the transformers layout without `quantize`: tests and
/// fixtures), and converted shards where the browser has no storage: far below wasm32's 4 GiB.
pub const MAX_IN_MEMORY_BYTES: u64 = 1 << 30;

/// How large a body read whole may be.
#[derive(Clone, Copy, Debug)]
pub enum Limit {
    /// A small file of a known kind (config, tokenizer, manifest, index).
    Kind(FileKind),
    /// A shard whose exact size a manifest lists.
    Shard(u64),
    /// A checkpoint file loaded into memory as is.
    Weights,
}

impl Limit {
    /// Refuse `name` at `bytes` (declared or counted so far).
    pub fn check(self, name: &str, bytes: u64) -> Result<(), String> {
        match self {
            Limit::Kind(kind) => check_size(kind, name, bytes),
            Limit::Shard(listed) if bytes > listed || bytes > MAX_SHARD_FILE_BYTES => Err(format!(
                "{name}: the server sends {bytes} bytes, more than the {} the manifest lists: the manifest and the shard disagree",
                listed.min(MAX_SHARD_FILE_BYTES)
            )),
            Limit::Weights if bytes > MAX_IN_MEMORY_BYTES => Err(format!(
                "{name} is {bytes} bytes: too large to load into memory as is; use a converted model (manifest) or quantize it while downloading"
            )),
            _ => Ok(()),
        }
    }
}

/// The last path segment of `url`, for messages.
pub fn file_of(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').find(|s| !s.is_empty()).unwrap_or(path)
}

/// The whole body of `url`, refused past `limit`, and what the response said about the file.
/// `on_chunk(n)` is called with each chunk's length.
pub async fn fetch_bytes(url: &str, limit: Limit, on_chunk: &mut dyn FnMut(u64)) -> Result<(Vec<u8>, Validators), String> {
    let name = file_of(url);
    let (_, mut body) = fetch_from(url, 0, None, None).await.map_err(FetchError::message)?;
    let mut out = Vec::new();
    if let Some(length) = body.length {
        if let Err(e) = limit.check(name, length) {
            body.cancel(); // not a byte of it is wanted
            return Err(e);
        }
        // Within the cap now; `try_reserve` still turns an allocation the tab cannot make into a message.
        let length = usize::try_from(length).map_err(|_| format!("{name}: {length} bytes do not fit in memory"))?;
        out.try_reserve_exact(length).map_err(|_| format!("{name}: cannot allocate {length} bytes for it"))?;
    }
    while let Some(chunk) = body.next().await? {
        let total = (out.len() as u64).saturating_add(chunk.len() as u64);
        if let Err(e) = limit.check(name, total) {
            body.cancel();
            return Err(e);
        }
        on_chunk(chunk.len() as u64);
        out.extend_from_slice(&chunk);
    }
    Ok((out, body.validators))
}

/// A small text file (config, tokenizer, manifest) without progress.
pub async fn fetch_text(url: &str, kind: FileKind) -> Result<String, String> {
    Ok(fetch_text_validated(url, kind).await?.0)
}

/// A small text file and what its response said (the repository's commit, for one).
pub async fn fetch_text_validated(url: &str, kind: FileKind) -> Result<(String, Validators), String> {
    let (bytes, validators) = fetch_bytes(url, Limit::Kind(kind), &mut |_| {}).await?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", file_of(url)))?;
    Ok((text, validators))
}

/// A response body read chunk by chunk.
pub struct BodyStream {
    url: String,
    reader: ReadableStreamDefaultReader,
    /// Content-Length, when the server sent it.
    pub length: Option<u64>,
    /// The whole file's size, when known: the `Content-Range` total of a 206, the
    /// `Content-Length` of a 200.
    pub total: Option<u64>,
    pub validators: Validators,
}

impl BodyStream {
    /// The next chunk, `None` at the end. A network cut surfaces here as an error.
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>, String> {
        let chunk = JsFuture::from(self.reader.read()).await.map_err(|e| js_err(&format!("download of {} interrupted", self.url), e))?;
        if Reflect::get(&chunk, &"done".into()).map(|d| d.is_truthy()).unwrap_or(true) {
            return Ok(None);
        }
        let value = Reflect::get(&chunk, &"value".into()).map_err(|e| js_err("chunk", e))?;
        let value: Uint8Array = value.dyn_into().map_err(|_| format!("download of {}: the browser returned a chunk that is not bytes", self.url))?;
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
/// when `from > 0` or `to` is set, with `If-Range: if_range` when given (the validator of the
/// file the earlier bytes came from). Returns where the body starts: `from` when the server
/// honoured the range (206 whose `Content-Range` starts there), 0 when it sent the whole file
/// (200: no range support, or the file changed), or after a 206 that starts anywhere else, which
/// is dropped and the file requested again whole.
pub async fn fetch_from(url: &str, from: u64, to: Option<u64>, if_range: Option<&str>) -> Result<(u64, BodyStream), FetchError> {
    let ranged = from > 0 || to.is_some();
    let (status, body) = match request(url, ranged.then_some((from, to)), if_range).await {
        // A cross-origin host whose CORS rules do not allow `If-Range` fails the preflight, which
        // looks like a network error: ask once more without it (callers compare the validators
        // of the answer with the ones they had, so a changed file is still caught).
        Err(FetchError::Network(_)) if ranged && if_range.is_some() => request(url, Some((from, to)), None).await?,
        answer => answer?,
    };
    if status == 206 {
        if let Some((start, end, _)) = body.range {
            // A server may send less than asked (never more than the range it names).
            if start == from && to.is_none_or(|to| end <= to) {
                return Ok((from, body.stream));
            }
        }
        web_sys::console::warn_1(&format!("{url}: the partial answer does not start at byte {from} ({:?}); fetching the file again from its start", body.range).into());
        body.stream.cancel();
        let (status, body) = request(url, None, None).await?;
        if status != 200 {
            return Err(FetchError::Refused(format!("{url}: HTTP {status} for the whole file")));
        }
        return Ok((0, body.stream));
    }
    Ok((0, body.stream))
}

struct Answer {
    stream: BodyStream,
    /// The parsed `Content-Range` of a 206, `None` when missing or malformed.
    range: Option<(u64, u64, Option<u64>)>,
}

async fn request(url: &str, range: Option<(u64, Option<u64>)>, if_range: Option<&str>) -> Result<(u16, Answer), FetchError> {
    let mut builder = Request::get(url);
    if let Some((from, to)) = range {
        let range = match to {
            Some(to) => format!("bytes={from}-{}", to.saturating_sub(1)),
            None => format!("bytes={from}-"),
        };
        builder = builder.header("Range", &range);
        // The validator comes from storage: one that is no header value (damaged) is left out
        // rather than handed to gloo-net, whose `header` throws a JS exception out of the wasm
        // (`unwrap_throw`) where web-sys returned an error. Without it the caller sees another
        // validator in the answer and starts over.
        if let Some(v) = if_range.filter(|v| is_header_value(v)) {
            builder = builder.header("If-Range", v);
        }
    }
    // A request that cannot even be made (a malformed URL) is not worth retrying; a rejected
    // `fetch` (offline, DNS, CORS, a cut) is.
    let request = builder.build().map_err(|e| FetchError::Refused(format!("cannot fetch {url}: {}", gloo_message(e))))?;
    let response = request.send().await.map_err(|e| FetchError::Network(format!("cannot fetch {url}: {}", gloo_message(e))))?;
    let status = response.status();
    match status {
        200 | 206 => {}
        416 => return Err(FetchError::Refused(format!("{url}: the server has fewer bytes than already downloaded (HTTP 416): the file changed"))),
        s => return Err(FetchError::Refused(format!("{url}: HTTP {s} {}", response.status_text()))),
    }
    let headers = response.headers();
    let header = |name: &str| headers.get(name);
    let length = header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let range = if status == 206 { header("content-range").and_then(|v| parse_content_range(&v)) } else { None };
    let total = if status == 206 { range.and_then(|(_, _, t)| t) } else { length };
    let validators = Validators { etag: header("etag"), last_modified: header("last-modified"), commit: header("x-repo-commit") };
    // gloo-net hands the body over as the browser's stream: it is read chunk by chunk below.
    let body = response.body().ok_or_else(|| FetchError::Refused(format!("{url}: empty response")))?;
    let reader = body.get_reader().dyn_into().map_err(|_| FetchError::Refused(format!("{url}: the body cannot be read as a stream")))?;
    Ok((status, Answer { stream: BodyStream { url: url.to_string(), reader, length, total, validators }, range }))
}

/// A value `Headers.set` takes without throwing: no NUL, CR or LF, every character a byte
/// (U+0000..=U+00FF), as every header value a browser hands out is. Empty is no validator.
fn is_header_value(v: &str) -> bool {
    !v.is_empty() && v.chars().all(|c| c <= '\u{ff}' && !matches!(c, '\0' | '\n' | '\r'))
}

/// The browser's message of a gloo-net error ("Failed to fetch"), as `js_error` gives it.
fn gloo_message(e: gloo_net::Error) -> String {
    match e {
        gloo_net::Error::JsError(e) => e.message,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn limits_refuse_declared_or_counted_sizes_past_the_cap() {
        // A Content-Length of 3 GB for config.json is refused before anything is allocated.
        assert!(Limit::Kind(FileKind::Config).check("config.json", 3_000_000_000).unwrap_err().contains("config.json"));
        assert_eq!(Limit::Kind(FileKind::Config).check("config.json", 2_600), Ok(()));
        assert!(Limit::Kind(FileKind::Tokenizer).check("tokenizer.json", u64::MAX).is_err());
        assert_eq!(Limit::Shard(100).check("s", 100), Ok(()));
        assert!(Limit::Shard(100).check("s", 101).unwrap_err().contains("manifest"));
        // A manifest cannot widen the cap past the largest shard there is.
        assert!(Limit::Shard(u64::MAX).check("s", MAX_SHARD_FILE_BYTES + 1).is_err());
        assert_eq!(Limit::Weights.check("m", MAX_IN_MEMORY_BYTES), Ok(()));
        assert!(Limit::Weights.check("m", MAX_IN_MEMORY_BYTES + 1).is_err());
    }

    #[wasm_bindgen_test]
    fn only_values_headers_accept_go_into_if_range() {
        assert!(is_header_value("\"5d41402abc4b2a76b9719d911017c592\""));
        assert!(is_header_value("W/\"0815\""));
        assert!(is_header_value("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert!(is_header_value("\"caf\u{e9}\"")); // obs-text: a byte, as browsers hand it out
        for damaged in ["", "a\nb", "a\rb", "a\0b", "\"\u{20ac}\"", "\u{1f600}"] {
            assert!(!is_header_value(damaged), "{damaged:?}");
        }
    }

    #[wasm_bindgen_test]
    fn file_names_for_messages() {
        assert_eq!(file_of("https://h/o/n/resolve/main/config.json?x=1"), "config.json");
        assert_eq!(file_of("models/demo/"), "demo");
        assert_eq!(file_of(""), "");
    }
}
