//! One stored file of a model, behind one interface whatever holds it: an OPFS file open through
//! its synchronous access handle (read and write, one handle per file at a time), a shard being
//! downloaded in memory (the Cache API stores whole entries only), or a Cache API entry's blob
//! (read-only, read synchronously with `FileReaderSync`).

use std::cell::RefCell;

use web_sys::{Blob, FileSystemReadWriteOptions, FileSystemSyncAccessHandle};

use super::cache_api::read_blob;
use super::js_error as js;
use super::shard_cache::storage_error;

pub enum ShardFile {
    Opfs(FileSystemSyncAccessHandle),
    Memory(RefCell<Vec<u8>>),
    Blob(Blob),
}

const READ_ONLY: &str = "a shard in the Cache API is written whole, never in place (a bug)";

impl ShardFile {
    pub fn len(&self) -> Result<u64, String> {
        match self {
            ShardFile::Opfs(h) => h.get_size().map(|s| s as u64).map_err(|e| js("size of a cached shard", e)),
            ShardFile::Memory(v) => Ok(v.borrow().len() as u64),
            ShardFile::Blob(b) => Ok(b.size() as u64),
        }
    }

    pub fn truncate(&self, len: u64) -> Result<(), String> {
        match self {
            ShardFile::Opfs(h) => h.truncate_with_f64(len as f64).map_err(|e| js("truncating a cached shard", e)),
            ShardFile::Memory(v) => {
                // Longer than memory can hold means nothing to cut.
                v.borrow_mut().truncate(usize::try_from(len).unwrap_or(usize::MAX));
                Ok(())
            }
            ShardFile::Blob(_) => Err(READ_ONLY.into()),
        }
    }

    /// Write `bytes` at `at`; a short write (quota) is an error, never silently dropped.
    pub fn write_at(&self, at: u64, bytes: &[u8]) -> Result<(), String> {
        match self {
            ShardFile::Opfs(h) => {
                let opts = FileSystemReadWriteOptions::new();
                opts.set_at(at as f64);
                let written = h.write_with_u8_array_and_options(bytes, &opts).map_err(storage_error)?;
                if written < bytes.len() as f64 {
                    return Err(format!("browser storage accepted {written} of {} bytes: it is full", bytes.len()));
                }
                Ok(())
            }
            ShardFile::Memory(v) => {
                let mut v = v.borrow_mut();
                // Offsets are u64 (files pass 4 GiB); one held in wasm memory must fit usize.
                let at = usize::try_from(at).map_err(|_| format!("byte {at} lies beyond what memory can hold"))?;
                let end = at.checked_add(bytes.len()).ok_or("a shard in memory would pass the address space")?;
                if v.len() < end {
                    let more = end - v.len();
                    v.try_reserve(more).map_err(|_| format!("cannot hold {end} bytes of a shard in memory"))?;
                    v.resize(end, 0);
                }
                v.get_mut(at..end).ok_or("a shard in memory is shorter than just made (a bug)")?.copy_from_slice(bytes);
                Ok(())
            }
            ShardFile::Blob(_) => Err(READ_ONLY.into()),
        }
    }

    /// Bytes `start..end` (fewer when the file is shorter). The buffer is sized by what the file
    /// holds, never by the range asked for alone.
    pub fn read_range(&self, start: u64, end: u64) -> Result<Vec<u8>, String> {
        match self {
            ShardFile::Opfs(h) => {
                let end = end.min(self.len()?);
                if start >= end {
                    return Ok(Vec::new());
                }
                let len = usize::try_from(end - start).map_err(|_| format!("{} bytes of a cached shard do not fit in memory", end - start))?;
                let mut out = Vec::new();
                out.try_reserve_exact(len).map_err(|_| format!("cannot allocate {len} bytes to read a cached shard"))?;
                out.resize(len, 0);
                let opts = FileSystemReadWriteOptions::new();
                opts.set_at(start as f64);
                let n = h.read_with_u8_array_and_options(&mut out, &opts).map_err(|e| js("reading a cached shard", e))?;
                // A count past the buffer cannot happen; clamp rather than trust it.
                out.truncate(usize::try_from(n.max(0.0) as u64).unwrap_or(usize::MAX).min(len));
                Ok(out)
            }
            ShardFile::Memory(v) => {
                let v = v.borrow();
                let clamp = |x: u64| usize::try_from(x).unwrap_or(usize::MAX).min(v.len());
                Ok(v.get(clamp(start)..clamp(end)).map(<[u8]>::to_vec).unwrap_or_default())
            }
            ShardFile::Blob(b) => read_blob(b, start, end),
        }
    }

    /// Feed the first `len` bytes to `hasher`, 4 MiB at a time (never the whole shard in memory).
    pub fn hash_prefix(&self, len: u64, hasher: &mut sha2::Sha256) -> Result<(), String> {
        use sha2::Digest;
        const CHUNK: u64 = 4 << 20;
        let mut at = 0;
        while at < len {
            let chunk = self.read_range(at, at.saturating_add(CHUNK).min(len))?;
            if chunk.is_empty() {
                return Err("a cached shard is shorter than its recorded length".into());
            }
            hasher.update(&chunk);
            at += chunk.len() as u64;
        }
        Ok(())
    }

    /// The sha256 (hex) of the first `len` bytes, read back from storage.
    pub fn sha256(&self, len: u64) -> Result<String, String> {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        self.hash_prefix(len, &mut hasher)?;
        Ok(hex(hasher))
    }

    pub fn flush(&self) -> Result<(), String> {
        match self {
            ShardFile::Opfs(h) => h.flush().map_err(storage_error),
            _ => Ok(()),
        }
    }
}

/// A finished sha256 as lowercase hex, as manifests write it.
pub fn hex(hasher: sha2::Sha256) -> String {
    use sha2::Digest;
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Drop for ShardFile {
    fn drop(&mut self) {
        if let ShardFile::Opfs(h) = self {
            h.close();
        }
    }
}
