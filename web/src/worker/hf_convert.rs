//! A checkpoint of the transformers layout (a Hugging Face repository: `model.safetensors`, or
//! the files of `model.safetensors.index.json`) quantized while it downloads, so no conversion
//! step is needed and the checkpoint never sits whole in memory.
//!
//! The safetensors headers are fetched first (two small Range requests per file); they give the
//! whole conversion plan: every output shard, its size and where each tensor goes. The tensor
//! bytes are then streamed through `StreamConverter`; each output shard is stored in the model's
//! cache directory as soon as its last tensor has passed, read back, and marked complete only if
//! storage returns the bytes that were hashed. The manifest is written last.
//!
//! Identity: the directory is named after the model id, the host and the source's revision (the
//! `X-Repo-Commit` of config.json, else the files' ETags), so a new commit is converted afresh
//! and never mixed with shards of the old one (which are removed once the new one is complete).
//! Every response must come from the file the plan was made from (validators, size, commit), and
//! a file whose ETag is a sha256 is hashed whole as it passes before the manifest is written.
//!
//! Resuming: `conversion.fingerprint` records the plan's fingerprint (source headers, quantization). A
//! later load with the same fingerprint keeps the finished shards and streams only from the first
//! byte still needed; a cut connection inside a session continues at the exact byte with a Range
//! request (with `If-Range`). A changed plan starts over.

use visionllm_weights::conversion_plan::{ConversionPlan, Options};
use visionllm_weights::shards::MAX_SHARD_BYTES;
use visionllm_weights::stream_convert::StreamConverter;
use visionllm_weights::{Manifest, Stored};

use super::fetch::{fetch_from, FetchError};
use super::hf_source::{check_same, host_of, read_sources, revision_of, FileHash, Source};
use super::identity::{other_revisions, source_model_id};
use super::shard_cache::{self, ShardCache};
use super::shard_download::{ensure_space, url};
use super::tab_lock::{self, TabLock};

const STATE_FILE: &str = "conversion.fingerprint";
const MANIFEST_FILE: &str = "manifest.json";
/// Source files whose whole-file sha256 matched their ETag in an earlier visit: "name sha" lines.
const HASHED_FILE: &str = "sources.sha256";
/// Connection cuts tolerated in one load (each attempt continues at the exact byte).
const ATTEMPTS: usize = 6;

/// A converted model in browser storage, with the lock that keeps other tabs out while it loads.
pub struct Converted {
    pub cache: ShardCache,
    pub manifest: Manifest,
    pub lock: Option<TabLock>,
}

/// The manifest of the converted model, converting what is missing first. `commit` is the
/// repository revision config.json was served from, when the host says. `on_bytes(done, total)`
/// reports source bytes streamed.
pub async fn ensure_converted(base: &str, weights: &[String], quant: Stored, model_id: &str, commit: Option<&str>, on_bytes: &mut dyn FnMut(u64, u64)) -> Result<Converted, String> {
    let host = host_of(base);
    // With a commit, the directory is known before any weight is requested: a complete one loads
    // without touching the source.
    let early = match commit {
        Some(c) => {
            let opened = open_locked(&source_model_id(model_id, &host, c)).await?;
            match complete_manifest(&opened.0).await? {
                Some(manifest) => return Ok(Converted { cache: opened.0, manifest, lock: opened.1 }),
                None => Some(opened),
            }
        }
        None => None,
    };
    let sources = read_sources(base, weights, commit).await?;
    let (cache, lock) = match early {
        Some(opened) => opened,
        None => {
            let opened = open_locked(&source_model_id(model_id, &host, &revision_of(&sources))).await?;
            if let Some(manifest) = complete_manifest(&opened.0).await? {
                return Ok(Converted { cache: opened.0, manifest, lock: opened.1 });
            }
            opened
        }
    };
    let manifest = convert(&cache, base, sources, quant, model_id, commit, on_bytes).await?;
    remove_other_revisions(model_id, &host, &cache).await;
    Ok(Converted { cache, manifest, lock })
}

async fn open_locked(id: &str) -> Result<(ShardCache, Option<TabLock>), String> {
    let lock = tab_lock::hold(id).await?;
    let cache = ShardCache::open(id).await?.ok_or("quantizing while downloading needs browser storage (OPFS or the Cache API), and this browser offers neither")?;
    web_sys::console::log_1(&format!("{id}: converted shards stored in {}", cache.kind()).into());
    Ok((cache, lock))
}

/// The stored manifest when every shard it lists is marked complete; a stale one is removed.
async fn complete_manifest(cache: &ShardCache) -> Result<Option<Manifest>, String> {
    let Some(text) = cache.read_text(MANIFEST_FILE).await? else { return Ok(None) };
    if let Ok(m) = Manifest::from_json(&text) {
        let mut complete = true;
        for s in &m.shards {
            complete &= cache.verified_sha(&s.file).await?.as_deref() == Some(s.sha256.as_str());
        }
        if complete {
            return Ok(Some(m));
        }
    }
    // A shard went missing (or was damaged and removed): make it again.
    cache.remove(&[MANIFEST_FILE.to_string()]).await?;
    Ok(None)
}

/// Older revisions of this model from this host are superseded once the new one is complete.
/// Best effort: one in use in another tab stays, and a failure here does not fail the load.
async fn remove_other_revisions(model_id: &str, host: &str, current: &ShardCache) {
    let Ok(stored) = shard_cache::list().await else { return };
    let current = current.dir();
    for old in other_revisions(stored.iter().map(|(d, _)| d.as_str()), model_id, host, current) {
        if let Err(e) = shard_cache::delete(&old).await {
            web_sys::console::warn_1(&format!("keeping {old}: {e}").into());
        }
    }
}

async fn convert(cache: &ShardCache, base: &str, sources: Vec<Source>, quant: Stored, model_id: &str, commit: Option<&str>, on_bytes: &mut dyn FnMut(u64, u64)) -> Result<Manifest, String> {
    let options = Options { max_shard_bytes: MAX_SHARD_BYTES, ..Options::quant(quant) };
    let headers = sources.iter().map(|s| s.header.clone()).collect();
    let plan = ConversionPlan::new(headers, options).map_err(|e| format!("this checkpoint cannot be converted: {e}"))?;

    // The fingerprint covers the source headers and the quantization: shards from another source
    // or setting must not be mixed in, so a different one starts this model over.
    if cache.read_text(STATE_FILE).await?.as_deref() != Some(plan.fingerprint.as_str()) {
        let stale: Vec<String> = cache.file_names().await?;
        cache.remove(&stale).await?;
        cache.write_text(STATE_FILE, &plan.fingerprint).await?;
    }
    let mut finished = Vec::new();
    let mut shas = Vec::new();
    for s in &plan.shards {
        let sha = cache.verified_sha(&s.file).await?;
        finished.push(sha.is_some());
        shas.push(sha.unwrap_or_default());
    }
    let need = plan.shards.iter().zip(&finished).filter(|(_, f)| !**f).fold(0u64, |n, (s, _)| n.saturating_add(s.bytes));
    ensure_space(need, model_id).await?;

    // Files with a content hash the host vouches for, not yet verified in an earlier visit.
    let hashed_before = cache.read_text(HASHED_FILE).await?.unwrap_or_default();
    let mut hashes: Vec<Option<FileHash>> = sources
        .iter()
        .map(|s| s.validators.sha256().filter(|sha| !hashed_before.lines().any(|l| l == format!("{} {sha}", s.header.name))).map(FileHash::new))
        .collect();

    let mut conv = StreamConverter::new(plan, &finished);
    let total = conv.bytes_to_read();
    let mut done = 0u64;
    let mut cuts = 0;
    while let Some(fetch) = conv.next_fetch() {
        let source = sources.get(fetch.file).ok_or("the plan names a source file that does not exist (a bug)")?;
        let name = source.header.name.clone();
        let link = url(base, &name)?;
        let hash = hashes.get_mut(fetch.file).and_then(Option::as_mut);
        // A hashed file is read from the hash's position to its end; the converter takes its part.
        let (from, to) = match hash {
            Some(h) => {
                if h.at > fetch.from {
                    h.restart();
                }
                (h.at, None)
            }
            None => (fetch.from, Some(fetch.to)),
        };
        let (start, mut body) = match fetch_from(&link, from, to, source.validators.if_range()).await {
            Ok(ok) => ok,
            Err(FetchError::Network(e)) if cuts < ATTEMPTS => {
                cuts += 1;
                web_sys::console::warn_1(&format!("{e}; retrying from byte {from}").into());
                continue;
            }
            Err(e) => return Err(kept(e.message(), &shas)),
        };
        check_same(source, &body, commit).map_err(|e| kept(e, &shas))?;
        let hash = hashes.get_mut(fetch.file).and_then(Option::as_mut);
        if let Some(h) = hash {
            if start < h.at {
                h.restart(); // the whole file came: hash it from its first byte
            }
        }
        // `pos`: the file offset of the next body byte; `at`: the next byte the converter needs.
        let mut pos = start;
        let mut at = fetch.from;
        let mut cut = false;
        let mut ended = false;
        loop {
            let chunk = match body.next().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => {
                    ended = true;
                    break;
                }
                Err(e) if cuts < ATTEMPTS => {
                    cuts += 1;
                    cut = true;
                    web_sys::console::warn_1(&format!("{e}; retrying from byte {at}").into());
                    break;
                }
                Err(e) => return Err(kept(e, &shas)),
            };
            let end = pos.saturating_add(chunk.len() as u64);
            let hash = hashes.get_mut(fetch.file).and_then(Option::as_mut);
            if let Some(h) = hash {
                h.feed(pos, &chunk);
            }
            if at < fetch.to && at >= pos && at < end {
                // Both differences are below chunk.len() here, so they fit usize.
                let lo = usize::try_from(at - pos).unwrap_or(chunk.len());
                let hi = usize::try_from(end.min(fetch.to) - pos).unwrap_or(chunk.len());
                let piece = chunk.get(lo..hi).ok_or("a piece outside its chunk (a bug)")?;
                at = at.saturating_add(piece.len() as u64);
                for shard in conv.push(piece)? {
                    let file = &conv.plan().shards.get(shard.index).ok_or("the converter finished a shard the plan lacks (a bug)")?.file;
                    cache.save_shard(file, &shard.bytes, &shard.sha256).await?;
                    if let Some(slot) = shas.get_mut(shard.index) {
                        *slot = shard.sha256;
                    }
                }
                done = done.saturating_add(piece.len() as u64);
                on_bytes(done, total);
            }
            pos = end;
            let hashing = hashes.get(fetch.file).is_some_and(Option::is_some);
            if at >= fetch.to && !hashing {
                body.cancel();
                break;
            }
        }
        if at < fetch.to && !cut {
            // The body ended without error, short: the file is shorter than its header says.
            return Err(kept(format!("{name} ends at byte {at}, before byte {}: the file on the server is shorter than its header says (damaged upload?)", fetch.to), &shas));
        }
        if let (true, Some(h)) = (ended, hashes.get_mut(fetch.file).and_then(Option::as_mut)) {
            // The body reached the end of what the host sent; short of the known size, the
            // pass below asks for the rest (and reports a file that has no more).
            h.done = source.size.is_none_or(|size| h.at >= size);
        }
    }
    // Files the converter did not need to the end (or at all, this visit) are hashed to the end.
    for (i, source) in sources.iter().enumerate() {
        let Some(Some(h)) = hashes.get_mut(i) else { continue };
        while !h.done {
            match hash_rest(base, source, h, commit).await {
                Ok(()) => {}
                Err(FetchError::Network(e)) if cuts < ATTEMPTS => {
                    cuts += 1;
                    web_sys::console::warn_1(&format!("{e}; retrying").into());
                }
                Err(e) => return Err(kept(e.message(), &shas)),
            }
        }
    }
    let mut record = hashed_before;
    for (source, hash) in sources.iter().zip(hashes) {
        if let Some(h) = hash {
            let expect = h.expect.clone();
            if let Err(e) = h.verify(&source.header.name) {
                // Shards were made from bytes that are not the host's file: none can be trusted.
                let all = cache.file_names().await?;
                cache.remove(&all).await?;
                return Err(e);
            }
            record.push_str(&format!("{} {expect}\n", source.header.name));
        }
    }
    cache.write_text(HASHED_FILE, &record).await?;
    let (plan, _) = conv.finish()?;
    let manifest = plan.manifest(shas, Some("tokenizer.json".into()));
    manifest.check().map_err(|e| format!("the conversion produced an inconsistent manifest (a bug): {e}"))?;
    cache.write_text(MANIFEST_FILE, &manifest.to_json()).await?;
    Ok(manifest)
}

/// Read `source` from the hash's position to its end, hashing only.
async fn hash_rest(base: &str, source: &Source, h: &mut FileHash, commit: Option<&str>) -> Result<(), FetchError> {
    let link = url(base, &source.header.name).map_err(FetchError::Refused)?;
    let (start, mut body) = fetch_from(&link, h.at, None, source.validators.if_range()).await?;
    check_same(source, &body, commit).map_err(FetchError::Refused)?;
    if start < h.at {
        h.restart();
    }
    let mut pos = start;
    while let Some(chunk) = body.next().await.map_err(FetchError::Network)? {
        h.feed(pos, &chunk);
        pos = pos.saturating_add(chunk.len() as u64);
    }
    if source.size.is_some_and(|size| h.at < size) {
        return Err(FetchError::Refused(format!("{} ends at byte {}, before its size {:?}", source.header.name, h.at, source.size)));
    }
    h.done = true;
    Ok(())
}

fn kept(error: String, shas: &[String]) -> String {
    let n = shas.iter().filter(|s| !s.is_empty()).count();
    format!("{error} ({n} of {} converted shards are kept; loading again continues from there)", shas.len())
}
