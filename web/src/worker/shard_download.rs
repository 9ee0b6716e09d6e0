//! Getting the shards of a converted model: from the OPFS cache when complete and intact, else
//! downloaded (resuming a partial shard with a Range request), written to the cache as they
//! arrive and hashed on the way, and only then marked complete. Retries a cut connection a few
//! times, resuming each time; what was written stays for the next visit. Shards are streamed to
//! storage and hashed in chunks, so a shard never sits whole in wasm memory; the model then reads
//! its tensors from storage one by one (`OpfsReader`).
//!
//! A shard is used only after the same checks the native loader runs: size, sha256, and its own
//! safetensors header against the manifest (`verify::check_shard_header`). Only a hash (or size)
//! mismatch removes stored bytes; an error reading storage or the network keeps them.

use sha2::{Digest, Sha256};
use visionllm_weights::limits::check_file_name;
use visionllm_weights::manifest::ShardInfo;
use visionllm_weights::source_header::header_len;
use visionllm_weights::verify::check_shard_header;
use visionllm_weights::{Manifest, ShardReader};

use super::fetch::{fetch_from, FetchError};
use super::shard_cache::{free_bytes, ShardCache, ShardFile};
use super::shard_file::hex;
use crate::catalog::human_bytes;

/// Connection cuts tolerated per shard (each attempt resumes where the last one stopped).
const ATTEMPTS: usize = 4;

/// The URL of `file` in the directory `base`. `file` comes from a manifest, an index or the
/// catalog: only a plain name may extend the base (no `../`, no other host).
pub fn url(base: &str, file: &str) -> Result<String, String> {
    check_file_name(file)?;
    Ok(if base.is_empty() || base.ends_with('/') { format!("{base}{file}") } else { format!("{base}/{file}") })
}

/// The shard's validator file: the ETag (or Last-Modified) of the response its first bytes came
/// from, so a later visit resumes with `If-Range` and never appends a changed file's tail.
fn validator_file(shard: &str) -> String {
    format!("{shard}.validator")
}

/// Bytes a cached shard still needs (its size when nothing usable is stored).
async fn missing(cache: &ShardCache, shard: &ShardInfo) -> Result<u64, String> {
    if cache.verified_sha(&shard.file).await?.as_deref() == Some(shard.sha256.as_str()) {
        return Ok(0);
    }
    let have = cache.open_shard(&shard.file).await?.len()?;
    Ok(shard.bytes.checked_sub(have).unwrap_or(shard.bytes))
}

/// Refuse to start a download that cannot fit, saying how much is missing.
pub async fn check_space(cache: &ShardCache, manifest: &Manifest, model_id: &str) -> Result<(), String> {
    let mut need = 0u64;
    for shard in &manifest.shards {
        need = need.saturating_add(missing(cache, shard).await?);
    }
    ensure_space(need, model_id).await
}

/// Refuse to store `need` more bytes when the browser says they will not fit.
pub async fn ensure_space(need: u64, model_id: &str) -> Result<(), String> {
    if let Some(free) = free_bytes().await {
        if need > free {
            return Err(format!(
                "Not enough browser storage for {model_id}: it needs {} more, but only {} is free ({} short). Delete cached models in the model panel or free disk space, then load it again.",
                human_bytes(need),
                human_bytes(free),
                human_bytes(need - free)
            ));
        }
    }
    Ok(())
}

/// Shard `index` of `manifest` when it is marked complete, still hashes to the manifest's sha256
/// (stored bytes are re-hashed, so damage in storage is never loaded) and its header agrees with
/// the manifest. A hash or size mismatch removes it (`Ok(None)`: download or make it again); a
/// read error or a header that disagrees with this manifest is an error and keeps the bytes.
pub async fn open_verified(cache: &ShardCache, manifest: &Manifest, index: usize) -> Result<Option<ShardFile>, String> {
    let shard = manifest.shards.get(index).ok_or_else(|| format!("the manifest has no shard {index}"))?;
    if cache.verified_sha(&shard.file).await?.as_deref() != Some(shard.sha256.as_str()) {
        return Ok(None);
    }
    let file = cache.open_shard(&shard.file).await?;
    let read_error = |e: String| format!("{}: could not read it back from browser storage ({e}); it was kept, load again to retry", shard.file);
    if file.len()? == shard.bytes && file.sha256(shard.bytes).map_err(read_error)? == shard.sha256 {
        check_header(&file, manifest, index)?;
        return Ok(Some(file));
    }
    // Damaged in storage (or a different file under the same name): forget it.
    drop(file);
    cache.remove_shard(&shard.file).await?;
    Ok(None)
}

/// `verify::check_shard_header` on the stored file's first bytes (the header the converter wrote).
fn check_header(file: &ShardFile, manifest: &Manifest, index: usize) -> Result<(), String> {
    let name = manifest.shards.get(index).map_or("a shard", |s| s.file.as_str());
    let bad = |e: String| format!("{name}: {e}");
    let len = header_len(&file.read_range(0, 8)?).map_err(bad)?;
    check_shard_header(manifest, index, &file.read_range(0, len)?).map_err(bad)
}

/// Make shard `index` of `manifest` complete and verified in the cache, and hand back its open
/// file for reading. `on_bytes(n)` reports progress (cached bytes count at once).
pub async fn ensure(cache: &ShardCache, base: &str, manifest: &Manifest, index: usize, on_bytes: &mut dyn FnMut(u64)) -> Result<ShardFile, String> {
    let shard = manifest.shards.get(index).ok_or_else(|| format!("the manifest has no shard {index}"))?;
    if let Some(file) = open_verified(cache, manifest, index).await? {
        on_bytes(shard.bytes);
        return Ok(file);
    }
    let file = cache.open_shard(&shard.file).await?;
    let mut last_error = String::new();
    for _ in 0..ATTEMPTS {
        match resume(cache, &file, base, shard, on_bytes).await {
            Ok(sha) => {
                if sha != shard.sha256 {
                    file.truncate(0)?; // never keep bytes that failed verification
                    cache.remove(&[validator_file(&shard.file)]).await?;
                    return Err(format!(
                        "{}: downloaded bytes do not match the manifest (sha256 {sha}, expected {}): the shard on the server is corrupt. Nothing was kept.",
                        shard.file, shard.sha256
                    ));
                }
                // The bytes are the ones hashed; is the manifest's table of them true? (Not
                // marked when it is not; the bytes stay, they are the server's real shard.)
                let file = cache.commit(&shard.file, file).await?;
                check_header(&file, manifest, index)?;
                cache.mark_verified(&shard.file, &sha).await?;
                cache.remove(&[validator_file(&shard.file)]).await?;
                return Ok(file);
            }
            // Bytes stored so far stay: they matched the server so far, and only a hash
            // mismatch is proof of damage.
            Err(Failure::Final(e)) => return Err(e),
            Err(Failure::Retry(e)) => last_error = e,
        }
    }
    Err(format!("{last_error} (gave up after {ATTEMPTS} attempts; the {} downloaded so far are kept and the next load resumes)", human_bytes(file.len().unwrap_or(0))))
}

enum Failure {
    /// Worth another attempt (the connection broke).
    Retry(String),
    /// Not (the server's file disagrees with the manifest).
    Final(String),
}

/// Continue the shard in `file` from its current length; the whole shard's sha256 at the end.
async fn resume(cache: &ShardCache, file: &ShardFile, base: &str, shard: &ShardInfo, on_bytes: &mut dyn FnMut(u64)) -> Result<String, Failure> {
    let mut have = file.len().map_err(Failure::Final)?;
    if have == shard.bytes {
        // Complete but never marked (stopped between the last write and the marker).
        let sha = file.sha256(have).map_err(Failure::Final)?;
        if sha == shard.sha256 {
            return Ok(sha);
        }
    }
    if have >= shard.bytes {
        // All of it (or more) is there and does not hash to the manifest's value: damage.
        file.truncate(0).map_err(Failure::Final)?;
        have = 0;
    }
    let link = url(base, &shard.file).map_err(Failure::Final)?;
    // The validator of the response the stored bytes came from (none: resume without If-Range,
    // the hash at the end still catches a mix).
    let seen = if have > 0 { cache.read_text(&validator_file(&shard.file)).await.map_err(Failure::Final)? } else { None };
    let (mut start, mut body) = fetch_from(&link, have, None, seen.as_deref()).await.map_err(|e| match e {
        FetchError::Network(m) => Failure::Retry(m),
        FetchError::Refused(m) => Failure::Final(m),
    })?;
    let now = body.validators.if_range().map(str::to_string);
    if start > 0 && seen.is_some() && now.is_some() && seen != now {
        // The host ignored If-Range (or a preflight dropped it) and the file changed: its tail
        // does not continue our bytes. Start over.
        body.cancel();
        (start, body) = fetch_from(&link, 0, None, None).await.map_err(|e| Failure::Retry(e.message()))?;
    }
    let mut hasher = Sha256::new();
    if start > 0 {
        file.hash_prefix(start, &mut hasher).map_err(Failure::Final)?;
    } else {
        file.truncate(0).map_err(Failure::Final)?; // the whole file comes: start over
        // Remember which file the first bytes came from, for the next resume.
        match body.validators.if_range() {
            Some(v) => cache.write_text(&validator_file(&shard.file), v).await,
            None => cache.remove(&[validator_file(&shard.file)]).await,
        }
        .map_err(Failure::Final)?;
    }
    let mut at = start;
    on_bytes(start);
    loop {
        let chunk = match body.next().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                let _ = file.flush();
                return Err(Failure::Retry(e));
            }
        };
        if at.saturating_add(chunk.len() as u64) > shard.bytes {
            return Err(Failure::Final(format!(
                "{}: the server sends more than the {} bytes the manifest lists: the manifest and the shard disagree",
                shard.file, shard.bytes
            )));
        }
        file.write_at(at, &chunk).map_err(Failure::Final)?;
        hasher.update(&chunk);
        at += chunk.len() as u64;
        on_bytes(chunk.len() as u64);
    }
    file.flush().map_err(Failure::Final)?;
    if at < shard.bytes {
        return Err(Failure::Final(format!(
            "{}: the server has only {at} of the {} bytes the manifest lists: the shard is truncated",
            shard.file, shard.bytes
        )));
    }
    Ok(hex(hasher))
}

/// Verified shards read from storage tensor by tensor while the model is built.
pub struct OpfsReader {
    pub files: Vec<ShardFile>,
}

impl ShardReader for OpfsReader {
    fn read(&self, shard: usize, start: u64, end: u64) -> Result<Vec<u8>, String> {
        self.files.get(shard).ok_or_else(|| format!("no shard {shard}"))?.read_range(start, end)
    }
}
