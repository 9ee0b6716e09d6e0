//! Opening a converted directory natively: read the manifest, then map and verify every shard
//! (size, sha256, and its safetensors header against the manifest) before any tensor is handed
//! out, so a model is never built from damaged, incomplete or mislabelled bytes.

use std::collections::HashMap;
use std::path::Path;

use crate::checkpoint::{Entry, EntryDtype, Result, WeightsError};
use crate::limits::shown;
use crate::manifest::{Manifest, Stored};
#[cfg(not(target_arch = "wasm32"))]
use crate::manifest::MANIFEST_FILE;
use crate::shards::sha256_hex;
use crate::source_header;

/// Read and check `dir/manifest.json` (no shard is touched).
#[cfg(not(target_arch = "wasm32"))]
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let text = crate::limits::read_text(&path, crate::limits::FileKind::Manifest).map_err(|detail| WeightsError::Bad { path: path.clone(), detail })?;
    Manifest::from_json(&text).map_err(|detail| WeightsError::Bad { path, detail })
}

/// Check one shard's bytes against its manifest entry: size, then sha256, then its header
/// (`check_shard_header`). The native loader calls this on mapped files; the browser hashes while
/// streaming to storage and then calls `check_shard_header` on the stored file's first bytes, so
/// both run the same checks.
pub fn check_shard(manifest: &Manifest, index: usize, bytes: &[u8], path: &Path) -> Result<()> {
    let bad = |detail: String| WeightsError::Bad { path: path.to_path_buf(), detail };
    let info = manifest.shards.get(index).ok_or_else(|| bad(format!("there is no shard {index}")))?;
    if bytes.len() as u64 != info.bytes {
        return Err(bad(format!(
            "shard is {} bytes but the manifest says {}: the file is {} (re-download or re-convert it)",
            bytes.len(),
            info.bytes,
            if (bytes.len() as u64) < info.bytes { "truncated" } else { "not the one the manifest describes" }
        )));
    }
    let sha = sha256_hex(bytes);
    if sha != info.sha256 {
        return Err(bad(format!("sha256 is {sha} but the manifest says {}: the shard is corrupt (re-download or re-convert it)", info.sha256)));
    }
    check_shard_header(manifest, index, bytes).map_err(bad)
}

/// Whether the safetensors header at the start of shard `index` (`prefix`: at least
/// `source_header::header_len` bytes; more is fine) places every tensor the manifest lists in that shard
/// exactly where the manifest says, with the stored dtype. Run after the hash matched: the hash
/// proves the bytes are what the converter wrote; this catches a manifest whose tensor entries
/// were edited (or written by a buggy tool), which would otherwise read the wrong bytes.
pub fn check_shard_header(manifest: &Manifest, index: usize, prefix: &[u8]) -> std::result::Result<(), String> {
    let info = manifest.shards.get(index).ok_or_else(|| format!("there is no shard {index}"))?;
    let header = source_header::parse(&info.file, prefix)?;
    let held: HashMap<&str, &source_header::SourceTensor> = header.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    for t in manifest.tensors.iter().filter(|t| t.shard == index) {
        let name = shown(&t.name);
        let view = held.get(t.name.as_str()).ok_or_else(|| format!("the manifest lists {name} in this shard, but the shard does not hold it"))?;
        let (dtype, _) = t.dtype.safetensors_dtype();
        let length = view.end - view.start; // parse guarantees end >= start
        if view.dtype.name() != dtype || view.start != t.offset || length != t.length {
            return Err(format!(
                "the manifest says {name} is {dtype} at bytes {}..+{}, the shard holds {} at {}..+{length}: manifest and shard disagree",
                t.offset,
                t.length,
                view.dtype.name(),
                view.start,
            ));
        }
    }
    Ok(())
}

/// The index entries of a converted checkpoint (one per manifest tensor). Offsets are u64 in the
/// manifest and must fit `usize` on wasm32 too: converted, never truncated.
pub(crate) fn entries(manifest: &Manifest) -> std::result::Result<HashMap<String, Entry>, String> {
    manifest
        .tensors
        .iter()
        .map(|t| {
            let dtype = match t.dtype {
                Stored::F32 => EntryDtype::F32,
                Stored::F16 => EntryDtype::F16,
                q => EntryDtype::Quant(q.gpu_dtype()),
            };
            let range = t.offset.checked_add(t.length).and_then(|end| Some((usize::try_from(t.offset).ok()?, usize::try_from(end).ok()?)));
            let (start, end) = range.ok_or_else(|| format!("tensor {} lies beyond what this platform can address", shown(&t.name)))?;
            Ok((t.name.clone(), Entry { file: t.shard, start, end, dtype, shape: t.shape.clone() }))
        })
        .collect()
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::type_complexity)]
pub(crate) fn open_converted(dir: &Path) -> Result<(Manifest, Vec<(std::path::PathBuf, memmap2::Mmap)>, HashMap<String, Entry>)> {
    let manifest = read_manifest(dir)?;
    let mut files = Vec::new();
    for (i, shard) in manifest.shards.iter().enumerate() {
        let path = dir.join(&shard.file);
        let file = std::fs::File::open(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => WeightsError::Bad {
                path: path.clone(),
                detail: format!("shard {} of {} is missing (the manifest lists it; re-download or re-convert)", i + 1, manifest.shards.len()),
            },
            _ => WeightsError::Io { path: path.clone(), source },
        })?;
        // Safety: opened read-only; the bytes are hashed right after mapping and not expected to
        // change while mapped.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| WeightsError::Io { path: path.clone(), source })?;
        check_shard(&manifest, i, &map, &path)?;
        files.push((path, map));
    }
    let index = entries(&manifest).map_err(|detail| WeightsError::Bad { path: dir.join(MANIFEST_FILE), detail })?;
    Ok((manifest, files, index))
}
