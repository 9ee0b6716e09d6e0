//! The source of a conversion in the browser: which files a repository holds, their safetensors
//! headers, and what the host says identifies them (commit, ETag, size), so that
//! - the converted shards are stored under the host and the revision (`identity::source_model_id`);
//! - every later request can be checked against the file the plan was made from;
//! - a file whose ETag is its sha256 (Hugging Face's large files) is hashed as it streams past
//!   (`FileHash`) and must match before a manifest is written.

use sha2::{Digest, Sha256};
use visionllm_weights::limits::FileKind;
use visionllm_weights::source_header::{self, SourceFile};
use wasm_bindgen::JsValue;

use super::fetch::{fetch_from, fetch_text_validated, file_of, BodyStream, FetchError};
use super::identity::Validators;
use super::shard_download::url;
use super::shard_file::hex;

/// One source file: its header and what the host said about it.
pub struct Source {
    pub header: SourceFile,
    pub validators: Validators,
    /// The file's size, when the host said (Content-Range total).
    pub size: Option<u64>,
}

/// The host (with port) that `base` points at, resolved against the worker's own address.
pub fn host_of(base: &str) -> String {
    let here = js_sys::Reflect::get(&js_sys::global(), &"location".into())
        .and_then(|l| js_sys::Reflect::get(&l, &"href".into()))
        .ok()
        .and_then(|h| h.as_string())
        .unwrap_or_default();
    web_sys::Url::new_with_base(base, &here).map(|u| u.host()).unwrap_or_else(|_: JsValue| "unknown-host".into())
}

/// The repository's files as the host serves them now: `weights` with an index expanded (and
/// `model.safetensors` falling back to its index on a 404), each file's header and validators.
/// Every answer must name the same commit as `commit` when the host sends one.
pub async fn read_sources(base: &str, weights: &[String], commit: Option<&str>) -> Result<Vec<Source>, String> {
    let mut sources = Vec::new();
    for file in source_files(base, weights, commit).await? {
        match read_header(base, &file, commit).await {
            // Big checkpoints are published as shards: the index names them.
            Err(e) if file == "model.safetensors" && e.contains("HTTP 404") => {
                for file in source_files(base, &["model.safetensors.index.json".to_string()], commit).await? {
                    sources.push(read_header(base, &file, commit).await?);
                }
            }
            header => sources.push(header?),
        }
    }
    Ok(sources)
}

/// The revision of a repository that sent no commit: its files' ETags (else Last-Modified), or
/// "unversioned" when the host says nothing (the header fingerprint is then all that tells
/// versions apart).
pub fn revision_of(sources: &[Source]) -> String {
    if let [only] = sources {
        if let Some(sha) = only.validators.sha256() {
            return sha;
        }
    }
    let parts: Vec<String> = sources.iter().filter_map(|s| s.validators.file_revision().map(|v| format!("{}={v}", s.header.name))).collect();
    if parts.is_empty() { "unversioned".into() } else { parts.join(";") }
}

/// Refuse an answer from another commit than the one the load started with.
pub fn check_commit(name: &str, seen: &Validators, commit: Option<&str>) -> Result<(), String> {
    match (commit, seen.commit.as_deref()) {
        (Some(want), Some(got)) if want != got => Err(format!(
            "{name} comes from commit {got}, but the load started at commit {want}: the repository changed while loading; load it again"
        )),
        _ => Ok(()),
    }
}

/// Refuse a response for `source` that carries another file than the one the plan was made from.
pub fn check_same(source: &Source, body: &BodyStream, commit: Option<&str>) -> Result<(), String> {
    let name = &source.header.name;
    check_commit(name, &body.validators, commit)?;
    if !source.validators.same_file(&body.validators) {
        return Err(format!(
            "{name} changed on the host while it was being converted ({:?}, now {:?}); load it again to convert the new version",
            source.validators.file_revision(),
            body.validators.file_revision()
        ));
    }
    match (source.size, body.total) {
        (Some(a), Some(b)) if a != b => Err(format!("{name} was {a} bytes and is now {b}: it changed on the host; load it again")),
        _ => Ok(()),
    }
}

/// The safetensors files of the checkpoint: as listed, with an index file expanded.
async fn source_files(base: &str, weights: &[String], commit: Option<&str>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for w in weights {
        if w.ends_with(".index.json") {
            let (text, seen) = fetch_text_validated(&url(base, w)?, FileKind::Index).await?;
            check_commit(w, &seen, commit)?;
            out.extend(source_header::index_files(&text).map_err(|e| format!("{w}: {e}"))?);
        } else {
            out.push(w.clone());
        }
    }
    Ok(out)
}

/// The first `n` bytes of `link` (a Range request; a server that ignores it is cut off after them).
async fn prefix(link: &str, n: u64) -> Result<(Vec<u8>, Validators, Option<u64>), String> {
    let (_, mut body) = fetch_from(link, 0, Some(n), None).await.map_err(FetchError::message)?;
    let want = usize::try_from(n).map_err(|_| format!("{}: {n} bytes do not fit in memory", file_of(link)))?;
    let mut out = Vec::new();
    while out.len() < want {
        match body.next().await? {
            Some(chunk) => out.extend_from_slice(&chunk),
            None => break,
        }
    }
    let (validators, size) = (body.validators.clone(), body.total);
    body.cancel();
    out.truncate(want);
    Ok((out, validators, size))
}

async fn read_header(base: &str, name: &str, commit: Option<&str>) -> Result<Source, String> {
    let link = url(base, name)?;
    let (first, validators, size) = prefix(&link, 8).await?;
    check_commit(name, &validators, commit)?;
    // Refused by its declared length (the header cap), before a buffer is made for it.
    let len = source_header::header_len(&first).map_err(|e| format!("{name}: {e}"))?;
    let (bytes, again, size_again) = prefix(&link, len).await?;
    let source = Source { header: source_header::parse(name, &bytes)?, validators, size };
    // Both requests must have read the same file.
    if !source.validators.same_file(&again) || (source.size.is_some() && size_again.is_some() && source.size != size_again) {
        return Err(format!("{name} changed on the host while its header was read; load it again"));
    }
    check_commit(name, &again, commit)?;
    Ok(source)
}

/// The sha256 of a whole source file, computed as its bytes pass (in order, from byte 0).
pub struct FileHash {
    hasher: Sha256,
    /// Bytes hashed so far: the next byte the hash needs.
    pub at: u64,
    /// The body reached the file's end.
    pub done: bool,
    /// What the host's ETag says the file hashes to.
    pub expect: String,
}

impl FileHash {
    pub fn new(expect: String) -> FileHash {
        FileHash { hasher: Sha256::new(), at: 0, done: false, expect }
    }

    /// Start again from byte 0 (the bytes before the next request's start will not come).
    pub fn restart(&mut self) {
        self.hasher = Sha256::new();
        self.at = 0;
        self.done = false;
    }

    /// Feed `chunk`, which holds the file's bytes from `pos` on; only the part at `at` counts
    /// (bytes seen twice or before the hash position are ignored).
    pub fn feed(&mut self, pos: u64, chunk: &[u8]) {
        let end = pos.saturating_add(chunk.len() as u64);
        if pos <= self.at && self.at < end {
            // `self.at - pos` < chunk.len(), so it fits usize.
            let skip = usize::try_from(self.at - pos).unwrap_or(chunk.len());
            if let Some(rest) = chunk.get(skip..) {
                self.hasher.update(rest);
                self.at = end;
            }
        }
    }

    /// The finished hash against the host's, as a message when they differ.
    pub fn verify(self, name: &str) -> Result<(), String> {
        let got = hex(self.hasher);
        if got != self.expect {
            return Err(format!(
                "{name}: the downloaded bytes hash to sha256 {got}, but the host says {} (its ETag): the download was damaged or the file changed while loading. Nothing was kept; load it again",
                self.expect
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn sha(bytes: &[u8]) -> String {
        let mut h = Sha256::new();
        h.update(bytes);
        hex(h)
    }

    #[wasm_bindgen_test]
    fn a_file_hash_counts_each_byte_once_in_order() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut h = FileHash::new(sha(&data));
        h.feed(0, &data[..300]);
        // A resumed answer that repeats bytes already hashed, then goes on.
        h.feed(200, &data[200..700]);
        // A chunk from beyond the hash position (a gap) is not counted.
        h.feed(900, &data[900..]);
        assert_eq!(h.at, 700);
        h.feed(700, &data[700..]);
        assert_eq!(h.at, 1000);
        assert_eq!(h.verify("m.safetensors"), Ok(()));
    }

    #[wasm_bindgen_test]
    fn a_file_hash_that_differs_from_the_etag_is_refused() {
        let mut h = FileHash::new(sha(b"the host's file"));
        h.feed(0, b"other bytes");
        assert!(h.verify("m.safetensors").unwrap_err().contains("ETag"));
        let mut again = FileHash::new(sha(b"abc"));
        again.feed(0, b"xyz");
        again.restart();
        again.feed(0, b"abc");
        assert_eq!(again.verify("m"), Ok(()));
    }

    fn source(name: &str, etag: Option<&str>) -> Source {
        let json = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
        let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(json.as_bytes());
        bytes.extend_from_slice(&[0; 4]);
        let header = source_header::parse(name, &bytes).expect("a valid test header");
        Source { header, validators: Validators { etag: etag.map(str::to_string), ..Default::default() }, size: Some(bytes.len() as u64) }
    }

    #[wasm_bindgen_test]
    fn the_revision_follows_the_files_validators() {
        let sha = "ab".repeat(32);
        // One file whose ETag is its sha256: that is the revision.
        assert_eq!(revision_of(&[source("model.safetensors", Some(&format!("\"{sha}\"")))]), sha);
        let two = |e2: &str| revision_of(&[source("a.safetensors", Some("\"1\"")), source("b.safetensors", Some(e2))]);
        assert_ne!(two("\"2\""), two("\"3\""), "another ETag of any file is another revision");
        assert_eq!(revision_of(&[source("model.safetensors", None)]), "unversioned");
    }

    #[wasm_bindgen_test]
    fn answers_from_another_commit_are_refused() {
        let seen = Validators { commit: Some("b".into()), ..Default::default() };
        assert!(check_commit("config.json", &seen, Some("a")).unwrap_err().contains("changed"));
        assert_eq!(check_commit("config.json", &seen, Some("b")), Ok(()));
        assert_eq!(check_commit("config.json", &Validators::default(), Some("a")), Ok(()));
    }
}
