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
//! Resuming: `conversion.fingerprint` records the plan's fingerprint (source headers, quantization). A
//! later load with the same fingerprint keeps the finished shards and streams only from the first
//! byte still needed; a cut connection inside a session continues at the exact byte with a Range
//! request. A changed source (another commit of the repository) starts over.

use visionllm_weights::classify::Plan;
use visionllm_weights::conversion_plan::{ConversionPlan, Options};
use visionllm_weights::shards::MAX_SHARD_BYTES;
use visionllm_weights::source_header::{self, SourceFile};
use visionllm_weights::stream_convert::StreamConverter;
use visionllm_weights::{Manifest, Stored};

use super::fetch::{fetch_from, fetch_text, FetchError};
use super::shard_cache::ShardCache;
use super::shard_download::{ensure_space, url};

const STATE_FILE: &str = "conversion.fingerprint";
const MANIFEST_FILE: &str = "manifest.json";
/// Connection cuts tolerated in one load (each attempt continues at the exact byte).
const ATTEMPTS: usize = 6;

/// The manifest of the converted model in `cache`, converting what is missing first.
/// `on_bytes(done, total)` reports source bytes streamed.
pub async fn ensure_converted(cache: &ShardCache, base: &str, weights: &[String], quant: Stored, model_id: &str, on_bytes: &mut dyn FnMut(u64, u64)) -> Result<Manifest, String> {
    if let Some(text) = cache.read_text(MANIFEST_FILE).await? {
        if let Ok(m) = Manifest::from_json(&text) {
            let mut complete = true;
            for s in &m.shards {
                complete &= cache.verified_sha(&s.file).await?.as_deref() == Some(s.sha256.as_str());
            }
            if complete {
                return Ok(m);
            }
        }
        // A shard went missing (or was damaged and removed): make it again.
        cache.remove(&[MANIFEST_FILE.to_string()]).await?;
    }
    let mut sources = Vec::new();
    for file in source_files(base, weights).await? {
        match read_header(&url(base, &file), &file).await {
            // Big checkpoints are published as shards: the index names them.
            Err(e) if file == "model.safetensors" && e.contains("HTTP 404") => {
                for file in source_files(base, &["model.safetensors.index.json".to_string()]).await? {
                    sources.push(read_header(&url(base, &file), &file).await?);
                }
            }
            header => sources.push(header?),
        }
    }
    let options = Options { plan: Plan::for_quant(quant), max_shard_bytes: MAX_SHARD_BYTES };
    let plan = ConversionPlan::new(sources, options).map_err(|e| format!("this checkpoint cannot be converted: {e}"))?;

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
    let need: u64 = plan.shards.iter().zip(&finished).filter(|(_, f)| !**f).map(|(s, _)| s.bytes).sum();
    ensure_space(need, model_id).await?;

    let mut conv = StreamConverter::new(plan, &finished);
    let total = conv.bytes_to_read();
    let mut done = 0u64;
    let mut cuts = 0;
    while let Some(fetch) = conv.next_fetch() {
        let name = conv.plan().files[fetch.file].name.clone();
        let link = url(base, &name);
        let (start, mut body) = match fetch_from(&link, fetch.from, Some(fetch.to)).await {
            Ok(ok) => ok,
            Err(FetchError::Network(e)) if cuts < ATTEMPTS => {
                cuts += 1;
                web_sys::console::warn_1(&format!("{e}; retrying from byte {}", fetch.from).into());
                continue;
            }
            Err(e) => return Err(kept(e.message(), &shas)),
        };
        // A server that ignores Range sends the file from its first byte.
        let mut skip = fetch.from - start;
        let mut at = fetch.from;
        let mut cut = false;
        loop {
            let chunk = match body.next().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) if cuts < ATTEMPTS => {
                    cuts += 1;
                    cut = true;
                    web_sys::console::warn_1(&format!("{e}; retrying from byte {at}").into());
                    break;
                }
                Err(e) => return Err(kept(e, &shas)),
            };
            let from = (skip.min(chunk.len() as u64)) as usize;
            skip -= from as u64;
            let piece = &chunk[from..(from + (fetch.to - at) as usize).min(chunk.len())];
            at += piece.len() as u64;
            for shard in conv.push(piece)? {
                let file = &conv.plan().shards[shard.index].file;
                cache.save_shard(file, &shard.bytes, &shard.sha256).await?;
                shas[shard.index] = shard.sha256;
            }
            done += piece.len() as u64;
            on_bytes(done, total);
            if at >= fetch.to {
                body.cancel();
                break;
            }
        }
        if at < fetch.to && !cut {
            // The body ended without error, short: the file is shorter than its header says.
            return Err(kept(format!("{name} ends at byte {at}, before byte {}: the file on the server is shorter than its header says (damaged upload?)", fetch.to), &shas));
        }
    }
    let (plan, _) = conv.finish()?;
    let manifest = plan.manifest(shas, Some("tokenizer.json".into()));
    manifest.check().map_err(|e| format!("the conversion produced an inconsistent manifest (a bug): {e}"))?;
    cache.write_text(MANIFEST_FILE, &manifest.to_json()).await?;
    Ok(manifest)
}

fn kept(error: String, shas: &[String]) -> String {
    let n = shas.iter().filter(|s| !s.is_empty()).count();
    format!("{error} ({n} of {} converted shards are kept; loading again continues from there)", shas.len())
}

/// The safetensors files of the checkpoint: as listed, with an index file expanded.
async fn source_files(base: &str, weights: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for w in weights {
        if w.ends_with(".index.json") {
            let text = fetch_text(&url(base, w)).await?;
            out.extend(source_header::index_files(&text).map_err(|e| format!("{w}: {e}"))?);
        } else {
            out.push(w.clone());
        }
    }
    Ok(out)
}

/// The first `n` bytes of `link` (a Range request; a server that ignores it is cut off after them).
async fn prefix(link: &str, n: u64) -> Result<Vec<u8>, String> {
    let (_, mut body) = fetch_from(link, 0, Some(n)).await.map_err(FetchError::message)?;
    let mut out = Vec::new();
    while (out.len() as u64) < n {
        match body.next().await? {
            Some(chunk) => out.extend_from_slice(&chunk),
            None => break,
        }
    }
    body.cancel();
    out.truncate(n as usize);
    Ok(out)
}

async fn read_header(link: &str, name: &str) -> Result<SourceFile, String> {
    let first = prefix(link, 8).await?;
    let len = source_header::header_len(&first).map_err(|e| format!("{name}: {e}"))?;
    source_header::parse(name, &prefix(link, len).await?)
}
