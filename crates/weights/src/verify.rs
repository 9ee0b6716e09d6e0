//! Opening a converted directory natively: read the manifest, then map and verify every shard
//! (size, sha256, and its safetensors header against the manifest) before any tensor is handed
//! out, so a model is never built from damaged, incomplete or mislabelled bytes.

use std::collections::HashMap;
use std::path::Path;

use safetensors::SafeTensors;

use crate::checkpoint::{Entry, EntryDtype, Result, WeightsError};
use crate::manifest::{Manifest, Stored, MANIFEST_FILE};
use crate::shards::sha256_hex;

/// Read and check `dir/manifest.json` (no shard is touched).
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| WeightsError::Io { path: path.clone(), source })?;
    Manifest::from_json(&text).map_err(|detail| WeightsError::Bad { path, detail })
}

/// Check one shard's bytes against its manifest entry: size, then sha256, then that its
/// safetensors header places every listed tensor exactly where the manifest says. Shared by the
/// native loader and anything that receives shard bytes some other way.
pub fn check_shard(manifest: &Manifest, index: usize, bytes: &[u8], path: &Path) -> Result<()> {
    let info = &manifest.shards[index];
    let bad = |detail: String| WeightsError::Bad { path: path.to_path_buf(), detail };
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
    // The hash matches, so these bytes are what the converter wrote; the header cross-check
    // catches a manifest whose tensor entries were edited (or written by a buggy tool).
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not a valid safetensors file: {e}")))?;
    for t in manifest.tensors.iter().filter(|t| t.shard == index) {
        let view = st.tensor(&t.name).map_err(|_| bad(format!("the manifest lists {} in this shard, but the shard does not hold it", t.name)))?;
        let start = view.data().as_ptr() as usize - bytes.as_ptr() as usize;
        let (dtype, _) = t.dtype.safetensors_dtype();
        if format!("{:?}", view.dtype()) != dtype || start as u64 != t.offset || view.data().len() as u64 != t.length {
            return Err(bad(format!(
                "the manifest says {} is {} at bytes {}..+{}, the shard holds {:?} at {}..+{}: manifest and shard disagree",
                t.name,
                dtype,
                t.offset,
                t.length,
                view.dtype(),
                start,
                view.data().len()
            )));
        }
    }
    Ok(())
}

/// The index entries of a converted checkpoint (one per manifest tensor).
pub(crate) fn entries(manifest: &Manifest) -> HashMap<String, Entry> {
    manifest
        .tensors
        .iter()
        .map(|t| {
            let dtype = match t.dtype {
                Stored::F32 => EntryDtype::F32,
                Stored::F16 => EntryDtype::F16,
                q => EntryDtype::Quant(q.gpu_dtype()),
            };
            (t.name.clone(), Entry { file: t.shard, start: t.offset as usize, end: (t.offset + t.length) as usize, dtype, shape: t.shape.clone() })
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
    let index = entries(&manifest);
    Ok((manifest, files, index))
}
