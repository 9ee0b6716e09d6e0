//! Getting the shards of a converted model: from the OPFS cache when complete and intact, else
//! downloaded (resuming a partial shard with a Range request), written to the cache as they
//! arrive and hashed on the way, and only then marked complete. Retries a cut connection a few
//! times, resuming each time; what was written stays for the next visit. Shards are streamed to
//! storage and hashed in chunks, so a shard never sits whole in wasm memory; the model then reads
//! its tensors from storage one by one (`OpfsReader`).

use sha2::{Digest, Sha256};
use visionllm_weights::manifest::ShardInfo;
use visionllm_weights::{Manifest, ShardReader};

use super::fetch::{fetch_from, FetchError};
use super::shard_cache::{free_bytes, ShardCache, ShardFile};
use super::shard_file::hex;
use crate::catalog::human_bytes;

/// Connection cuts tolerated per shard (each attempt resumes where the last one stopped).
const ATTEMPTS: usize = 4;

pub fn url(base: &str, file: &str) -> String {
    if base.is_empty() || base.ends_with('/') {
        format!("{base}{file}")
    } else {
        format!("{base}/{file}")
    }
}

/// Bytes a cached shard still needs (its size when nothing usable is stored).
async fn missing(cache: &ShardCache, shard: &ShardInfo) -> Result<u64, String> {
    if cache.verified_sha(&shard.file).await?.as_deref() == Some(shard.sha256.as_str()) {
        return Ok(0);
    }
    let have = cache.open_shard(&shard.file).await?.len()?;
    Ok(if have <= shard.bytes { shard.bytes - have } else { shard.bytes })
}

/// Refuse to start a download that cannot fit, saying how much is missing.
pub async fn check_space(cache: &ShardCache, manifest: &Manifest, model_id: &str) -> Result<(), String> {
    let mut need = 0;
    for shard in &manifest.shards {
        need += missing(cache, shard).await?;
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

/// The shard's file when it is marked complete and still hashes to the manifest's sha256 (stored
/// bytes are re-hashed, so damage in storage is never loaded). A damaged one is removed.
pub async fn open_verified(cache: &ShardCache, shard: &ShardInfo) -> Result<Option<ShardFile>, String> {
    if cache.verified_sha(&shard.file).await?.as_deref() != Some(shard.sha256.as_str()) {
        return Ok(None);
    }
    let file = cache.open_shard(&shard.file).await?;
    if file.len()? == shard.bytes && file.sha256(shard.bytes).is_ok_and(|sha| sha == shard.sha256) {
        return Ok(Some(file));
    }
    // Damaged in storage (or a different file under the same name): forget it.
    drop(file);
    cache.remove_shard(&shard.file).await?;
    Ok(None)
}

/// Make the shard complete and verified in the cache, and hand back its open file for reading.
/// `on_bytes(n)` reports progress (cached bytes count at once).
pub async fn ensure(cache: &ShardCache, base: &str, shard: &ShardInfo, on_bytes: &mut dyn FnMut(u64)) -> Result<ShardFile, String> {
    if let Some(file) = open_verified(cache, shard).await? {
        on_bytes(shard.bytes);
        return Ok(file);
    }
    let file = cache.open_shard(&shard.file).await?;
    let mut last_error = String::new();
    for _ in 0..ATTEMPTS {
        match resume(&file, base, shard, on_bytes).await {
            Ok(sha) => {
                if sha != shard.sha256 {
                    file.truncate(0)?; // never keep bytes that failed verification
                    return Err(format!(
                        "{}: downloaded bytes do not match the manifest (sha256 {sha}, expected {}): the shard on the server is corrupt. Nothing was kept.",
                        shard.file, shard.sha256
                    ));
                }
                let file = cache.commit(&shard.file, file).await?;
                cache.mark_verified(&shard.file, &sha).await?;
                return Ok(file);
            }
            Err(Failure::Final(e)) => {
                file.truncate(0)?;
                return Err(e);
            }
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
async fn resume(file: &ShardFile, base: &str, shard: &ShardInfo, on_bytes: &mut dyn FnMut(u64)) -> Result<String, Failure> {
    let mut have = file.len().map_err(Failure::Final)?;
    if have == shard.bytes {
        // Complete but never marked (stopped between the last write and the marker).
        let sha = file.sha256(have).map_err(Failure::Final)?;
        if sha == shard.sha256 {
            return Ok(sha);
        }
    }
    if have >= shard.bytes {
        file.truncate(0).map_err(Failure::Final)?;
        have = 0;
    }
    let link = url(base, &shard.file);
    let (start, mut body) = fetch_from(&link, have, None).await.map_err(|e| match e {
        FetchError::Network(m) => Failure::Retry(m),
        FetchError::Refused(m) => Failure::Final(m),
    })?;
    let mut hasher = Sha256::new();
    if start > 0 {
        file.hash_prefix(start, &mut hasher).map_err(Failure::Final)?;
    } else {
        file.truncate(0).map_err(Failure::Final)?; // the server ignored the range: start over
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
        if at + chunk.len() as u64 > shard.bytes {
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
