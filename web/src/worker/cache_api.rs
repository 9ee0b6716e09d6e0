//! The Cache API as model storage, where OPFS is missing (or `?storage=cache` asks for it, which is
//! how the e2e test reaches this path in a browser that has OPFS).
//!
//! One cache, `visionllm-models`; a model's files are entries keyed `/visionllm-models/<dir>/<file>`
//! (never fetched: the keys only name things). An entry is written whole, so a shard enters the
//! cache only once it is complete (a download cut inside a shard resumes with Range within the
//! same load, from memory, but not across visits). Reads go through `FileReaderSync` on a slice of
//! the entry's blob, synchronously (workers only), so loading reads one tensor at a time, as from OPFS.

use js_sys::{Array, ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Cache, FileReaderSync, Request, Response};

use visionllm_weights::limits::check_file_name;

use super::{js_error as js, scope};

const CACHE: &str = "visionllm-models";
const PREFIX: &str = "/visionllm-models/";

async fn open_cache() -> Option<Cache> {
    let storage = scope().caches().ok()?;
    JsFuture::from(storage.open(CACHE)).await.ok().map(|c| c.unchecked_into())
}

/// A model directory's name must be plain too (`identity::dir_name` makes one from any id).
fn check_dir(dir: &str) -> Result<(), String> {
    check_file_name(dir).map_err(|e| format!("a model directory: {e}"))
}

/// The key of file `name` of model directory `dir`. Keys are URLs, so `../` in a name would
/// resolve into another model's entries: only plain names make keys.
pub fn entry_key(dir: &str, name: &str) -> Result<String, String> {
    check_dir(dir)?;
    check_file_name(name)?;
    Ok(format!("{PREFIX}{dir}/{name}"))
}

/// One model's entries.
pub struct CacheDir {
    cache: Cache,
    dir: String,
}

impl CacheDir {
    /// `dir` must be a plain name (`identity::dir_name` makes one from any model id).
    pub async fn open(dir: &str) -> Result<Option<CacheDir>, String> {
        check_dir(dir)?;
        Ok(open_cache().await.map(|cache| CacheDir { cache, dir: dir.to_string() }))
    }

    fn key(&self, name: &str) -> Result<String, String> {
        entry_key(&self.dir, name)
    }

    async fn response(&self, name: &str) -> Result<Option<Response>, String> {
        let found = JsFuture::from(self.cache.match_with_str(&self.key(name)?)).await.map_err(|e| js(&format!("reading {name} from the cache"), e))?;
        Ok(if found.is_undefined() { None } else { Some(found.unchecked_into()) })
    }

    pub async fn read_text(&self, name: &str) -> Result<Option<String>, String> {
        let Some(response) = self.response(name).await? else { return Ok(None) };
        let text = JsFuture::from(response.text().map_err(|e| js("cache entry", e))?).await.map_err(|e| js(&format!("reading {name}"), e))?;
        Ok(text.as_string())
    }

    /// The entry as a blob (the browser keeps its bytes on disk until they are read).
    pub async fn blob(&self, name: &str) -> Result<Option<Blob>, String> {
        let Some(response) = self.response(name).await? else { return Ok(None) };
        let blob = JsFuture::from(response.blob().map_err(|e| js("cache entry", e))?).await.map_err(|e| js(&format!("reading {name}"), e))?;
        Ok(Some(blob.unchecked_into()))
    }

    /// Store `bytes` under `name`, replacing what was there.
    pub async fn put(&self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let body = Uint8Array::from(bytes);
        let response = Response::new_with_opt_buffer_source(Some(&body)).map_err(|e| js("making a cache entry", e))?;
        JsFuture::from(self.cache.put_with_str(&self.key(name)?, &response)).await.map_err(super::shard_cache::storage_error)?;
        Ok(())
    }

    pub async fn remove(&self, names: &[String]) -> Result<(), String> {
        for name in names {
            JsFuture::from(self.cache.delete_with_str(&self.key(name)?)).await.map_err(|e| js(&format!("removing {name} from the cache"), e))?;
        }
        Ok(())
    }

    pub async fn file_names(&self) -> Result<Vec<String>, String> {
        let prefix = format!("{}/", self.dir);
        Ok(entries().await?.into_iter().filter_map(|(path, _)| path.strip_prefix(&prefix).map(str::to_string)).collect())
    }
}

/// Every entry of the cache: ("<dir>/<file>", request).
async fn entries() -> Result<Vec<(String, Request)>, String> {
    let Some(cache) = open_cache().await else { return Ok(Vec::new()) };
    let keys: Array = JsFuture::from(cache.keys()).await.map_err(|e| js("listing the cache", e))?.unchecked_into();
    let mut out = Vec::new();
    for key in keys.iter() {
        let request: Request = key.unchecked_into();
        let url = web_sys::Url::new(&request.url()).map_err(|e| js("cache key", e))?;
        let path = js_sys::decode_uri_component(&url.pathname()).map(String::from).unwrap_or_default();
        if let Some(rest) = path.strip_prefix(PREFIX) {
            out.push((rest.to_string(), request));
        }
    }
    Ok(out)
}

/// Models in the cache: (dir, bytes).
pub async fn list() -> Result<Vec<(String, u64)>, String> {
    let Some(cache) = open_cache().await else { return Ok(Vec::new()) };
    let mut out: Vec<(String, u64)> = Vec::new();
    for (path, request) in entries().await? {
        let Some((dir, _)) = path.split_once('/') else { continue };
        let found = JsFuture::from(cache.match_with_request(&request)).await.map_err(|e| js("listing the cache", e))?;
        let size = match found.dyn_into::<Response>() {
            Ok(r) => JsFuture::from(r.blob().map_err(|e| js("cache entry", e))?).await.map(|b| b.unchecked_into::<Blob>().size() as u64).unwrap_or(0),
            Err(_) => 0,
        };
        match out.iter_mut().find(|(d, _)| d == dir) {
            Some((_, bytes)) => *bytes += size,
            None => out.push((dir.to_string(), size)),
        }
    }
    Ok(out)
}

pub async fn delete(dir: &str) -> Result<(), String> {
    check_dir(dir)?;
    let Some(cache) = open_cache().await else { return Ok(()) };
    let prefix = format!("{dir}/");
    for (path, request) in entries().await? {
        if path.starts_with(&prefix) {
            JsFuture::from(cache.delete_with_request(&request)).await.map_err(|e| js(&format!("deleting {path} from the cache"), e))?;
        }
    }
    Ok(())
}

/// Bytes `start..end` of a blob, read synchronously (fewer when the blob is shorter).
pub fn read_blob(blob: &Blob, start: u64, end: u64) -> Result<Vec<u8>, String> {
    let end = end.min(blob.size() as u64);
    if start >= end {
        return Ok(Vec::new());
    }
    let slice = blob.slice_with_f64_and_f64(start as f64, end as f64).map_err(|e| js("slicing a cached shard", e))?;
    let reader = FileReaderSync::new().map_err(|e| js("FileReaderSync", e))?;
    let buffer: ArrayBuffer = reader.read_as_array_buffer(&slice).map_err(|e| js("reading a cached shard", e))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn keys_are_made_of_plain_names_only() {
        assert_eq!(entry_key("demo", "model.safetensors").as_deref(), Ok("/visionllm-models/demo/model.safetensors"));
        for (dir, name) in [("demo", "../other/model.safetensors"), ("demo", ".."), ("..", "x"), ("demo", "a/b"), ("demo", "https://x/y"), ("demo", "%2e%2e")] {
            assert!(entry_key(dir, name).is_err(), "{dir}/{name}");
        }
    }
}
