//! Converted shards cached in the origin-private file system (OPFS), resumable and verified.
//!
//! Layout: `visionllm-models/<model id>/<shard file>` holds the bytes (possibly partial) and
//! `<shard file>.sha256` is written only after the whole shard hashed to the manifest's value: a
//! shard is complete exactly when its marker exists, so a cut download, a crash or a full disk can
//! never leave a half-written shard that looks complete. An interrupted shard resumes from its
//! length with an HTTP `Range` request (a server that answers 200 instead makes us start over).
//! Complete shards are re-hashed when read, so bytes damaged in storage are never loaded.
//!
//! Writes go through `FileSystemSyncAccessHandle` (dedicated workers only, which is where this
//! runs). Where OPFS is missing, the same interface stores whole files in the Cache API
//! (`cache_api`): same markers, same verification, no resume across visits inside a shard.

use js_sys::{AsyncIterator, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetFileOptions,
    FileSystemRemoveOptions, StorageEstimate,
};

use std::cell::Cell;

use visionllm_weights::limits::check_file_name;

use super::cache_api::{self, CacheDir};
pub use super::identity::dir_name;
pub use super::shard_file::ShardFile;
use super::tab_lock::{self, Lock};
use super::{js_error as js, scope};
use crate::opfs::{error_name, is_not_found, lookup, root as opfs_root, subdir};

const ROOT: &str = "visionllm-models";

/// A storage error as a message: another tab holding the file open (OPFS allows one sync access
/// handle per file) says so in words rather than as a raw DOMException.
fn access_error(what: &str, e: JsValue) -> String {
    match error_name(&e).as_deref() {
        Some("NoModificationAllowedError") => tab_lock::in_use_message(what),
        _ => js(what, e),
    }
}

/// Bytes free for this origin (quota - usage), when the browser says.
pub async fn free_bytes() -> Option<u64> {
    let promise = scope().navigator().storage().estimate().ok()?;
    let est: StorageEstimate = JsFuture::from(promise).await.ok()?.unchecked_into();
    Some((est.get_quota()? - est.get_usage().unwrap_or(0.0)).max(0.0) as u64)
}

pub struct ShardCache {
    backend: Backend,
    /// The directory's name (`dir_name` of the model id).
    dir: String,
}

enum Backend {
    Opfs(FileSystemDirectoryHandle),
    CacheApi(CacheDir),
}

thread_local! {
    /// `?storage=cache`: use the Cache API even where OPFS exists (tests the fallback).
    static PREFER_CACHE_API: Cell<bool> = const { Cell::new(false) };
}

pub fn prefer_cache_api(yes: bool) {
    PREFER_CACHE_API.with(|p| p.set(yes));
}

pub(crate) fn storage_error(e: JsValue) -> String {
    let name = Reflect::get(&e, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default();
    if name == "QuotaExceededError" {
        "browser storage is full (quota exceeded): delete cached models or free disk space, then retry".into()
    } else {
        js("writing to browser storage", e)
    }
}

impl ShardCache {
    /// Names of the files in the model's directory.
    pub async fn file_names(&self) -> Result<Vec<String>, String> {
        match &self.backend {
            Backend::Opfs(dir) => Ok(entries(dir).await?.into_iter().map(|(name, _)| name).collect()),
            Backend::CacheApi(dir) => dir.file_names().await,
        }
    }

    /// The model's directory, created on demand: in OPFS, else in the Cache API; `None` where
    /// the browser has neither.
    pub async fn open(model_id: &str) -> Result<Option<ShardCache>, String> {
        let name = dir_name(model_id);
        if !PREFER_CACHE_API.with(Cell::get) {
            if let Some(root) = opfs_root().await {
                if let Some(models) = subdir(&root, ROOT, true).await? {
                    if let Some(dir) = subdir(&models, &name, true).await? {
                        return Ok(Some(ShardCache { backend: Backend::Opfs(dir), dir: name }));
                    }
                }
            }
        }
        Ok(CacheDir::open(&name).await?.map(|dir| ShardCache { backend: Backend::CacheApi(dir), dir: name }))
    }

    /// A directory `list` reported, by that name, without creating anything: OPFS first, then
    /// the Cache API (whose entries exist only when stored).
    pub async fn open_listed(dir: &str) -> Result<Option<ShardCache>, String> {
        if let Some(root) = opfs_root().await {
            if let Some(models) = subdir(&root, ROOT, false).await? {
                if let Some(handle) = subdir(&models, dir, false).await? {
                    return Ok(Some(ShardCache { backend: Backend::Opfs(handle), dir: dir.to_string() }));
                }
            }
        }
        Ok(CacheDir::open(dir).await?.map(|d| ShardCache { backend: Backend::CacheApi(d), dir: dir.to_string() }))
    }

    /// The directory's name, as `list` reports it.
    pub fn dir(&self) -> &str {
        &self.dir
    }

    /// Which storage this is, for messages and logs.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Opfs(_) => "OPFS",
            Backend::CacheApi(_) => "Cache API",
        }
    }

    async fn file(&self, name: &str, create: bool) -> Result<Option<FileSystemFileHandle>, String> {
        // Names come from manifests: only plain ones name a file of this directory.
        check_file_name(name)?;
        let Backend::Opfs(dir) = &self.backend else { return Ok(None) };
        let opts = FileSystemGetFileOptions::new();
        opts.set_create(create);
        Ok(lookup(dir.get_file_handle_with_options(name, &opts), name).await?.map(JsCast::unchecked_into))
    }

    /// The shard's data file, created if missing (Cache API: the stored entry, read-only, or an
    /// empty one in memory that `commit` stores).
    pub async fn open_shard(&self, name: &str) -> Result<ShardFile, String> {
        if let Backend::CacheApi(dir) = &self.backend {
            // An entry without its marker (a crash between the two writes) is not trusted.
            let marked = self.verified_sha(name).await?.is_some();
            return Ok(match dir.blob(name).await? {
                Some(blob) if marked => ShardFile::Blob(blob),
                _ => ShardFile::Memory(Default::default()),
            });
        }
        let handle = self.file(name, true).await?.ok_or("browser storage refused to create a file")?;
        let sync = JsFuture::from(handle.create_sync_access_handle()).await.map_err(|e| access_error(&format!("{name} in browser storage"), e))?;
        Ok(ShardFile::Opfs(sync.unchecked_into()))
    }

    /// Make a downloaded shard's bytes durable (Cache API: store the whole entry now) and return
    /// the file to read it from.
    pub async fn commit(&self, name: &str, file: ShardFile) -> Result<ShardFile, String> {
        if let (Backend::CacheApi(dir), ShardFile::Memory(bytes)) = (&self.backend, &file) {
            let bytes = bytes.take();
            dir.put(name, &bytes).await?;
            return Ok(ShardFile::Blob(dir.blob(name).await?.ok_or("the cache lost an entry just written")?));
        }
        Ok(file)
    }

    /// A small text file of the model's directory (a marker, a manifest), if it exists.
    pub async fn read_text(&self, name: &str) -> Result<Option<String>, String> {
        if let Backend::CacheApi(dir) = &self.backend {
            return dir.read_text(name).await;
        }
        let Some(handle) = self.file(name, false).await? else { return Ok(None) };
        let file: web_sys::File = JsFuture::from(handle.get_file()).await.map_err(|e| access_error(&format!("{name} in browser storage"), e))?.unchecked_into();
        let text = JsFuture::from(file.text()).await.map_err(|e| js(&format!("reading {name}"), e))?;
        Ok(text.as_string())
    }

    /// Replace a small text file.
    pub async fn write_text(&self, name: &str, text: &str) -> Result<(), String> {
        if let Backend::CacheApi(dir) = &self.backend {
            return dir.put(name, text.as_bytes()).await;
        }
        let file = self.open_shard(name).await?;
        file.truncate(0)?;
        file.write_at(0, text.as_bytes())?;
        file.flush()
    }

    /// The sha256 recorded when the shard was verified complete, if it was.
    pub async fn verified_sha(&self, name: &str) -> Result<Option<String>, String> {
        self.read_text(&format!("{name}.sha256")).await
    }

    /// Mark a shard complete (after its bytes hashed to `sha`).
    pub async fn mark_verified(&self, name: &str, sha: &str) -> Result<(), String> {
        self.write_text(&format!("{name}.sha256"), sha).await
    }

    /// Store a whole shard made here (a conversion), read it back from storage, and mark it
    /// complete only if what storage holds hashes to `sha`.
    pub async fn save_shard(&self, name: &str, bytes: &[u8], sha: &str) -> Result<(), String> {
        self.remove_shard(name).await?;
        let file = self.open_shard(name).await?;
        file.write_at(0, bytes)?;
        file.flush()?;
        let file = self.commit(name, file).await?;
        let stored = file.sha256(bytes.len() as u64)?;
        if stored != sha {
            return Err(format!("browser storage returned different bytes for {name} than were written (sha256 {stored}, expected {sha})"));
        }
        drop(file);
        self.mark_verified(name, sha).await
    }

    /// Forget a shard (its marker first, so a crash in between leaves an unmarked, partial file).
    pub async fn remove_shard(&self, name: &str) -> Result<(), String> {
        self.remove(&[format!("{name}.sha256"), name.to_string()]).await
    }

    /// Remove files of the model's directory (missing ones are fine).
    pub async fn remove(&self, names: &[String]) -> Result<(), String> {
        let dir = match &self.backend {
            Backend::Opfs(dir) => dir,
            Backend::CacheApi(dir) => return dir.remove(names).await,
        };
        for entry in names {
            check_file_name(entry)?;
            if let Err(e) = JsFuture::from(dir.remove_entry(entry)).await {
                if !is_not_found(&e) {
                    return Err(access_error(&format!("removing {entry} from browser storage"), e));
                }
            }
        }
        Ok(())
    }
}

/// Cached models: (id as stored, bytes on disk), from OPFS and the Cache API.
pub async fn list() -> Result<Vec<(String, u64)>, String> {
    let mut out = cache_api::list().await?;
    let Some(root) = opfs_root().await else { return Ok(out) };
    let Some(models) = subdir(&root, ROOT, false).await? else { return Ok(out) };
    for (name, handle) in entries(&models).await? {
        if let Ok(dir) = handle.dyn_into::<FileSystemDirectoryHandle>() {
            let mut bytes = 0u64;
            for (_, file) in entries(&dir).await? {
                if let Ok(file) = file.dyn_into::<FileSystemFileHandle>() {
                    if let Ok(f) = JsFuture::from(file.get_file()).await {
                        bytes += f.unchecked_into::<web_sys::File>().size() as u64;
                    }
                }
            }
            out.push((name, bytes));
        }
    }
    out.sort();
    Ok(out)
}

/// Delete a cached model's directory and everything in it (from both stores), unless another tab
/// is loading it right now.
pub async fn delete(model_id: &str) -> Result<(), String> {
    let _lock = match tab_lock::acquire(&tab_lock::name_for(model_id), false).await? {
        Lock::Busy => return Err(format!("{model_id} is being loaded in another tab of this site: delete it when that load has finished")),
        held => held,
    };
    cache_api::delete(&dir_name(model_id)).await?;
    let Some(root) = opfs_root().await else { return Ok(()) };
    let Some(models) = subdir(&root, ROOT, false).await? else { return Ok(()) };
    let opts = FileSystemRemoveOptions::new();
    opts.set_recursive(true);
    match JsFuture::from(models.remove_entry_with_options(&dir_name(model_id), &opts)).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(access_error(&format!("deleting {model_id} from browser storage"), e)),
    }
}

async fn entries(dir: &FileSystemDirectoryHandle) -> Result<Vec<(String, JsValue)>, String> {
    let iter: AsyncIterator = dir.entries();
    let mut out = Vec::new();
    loop {
        let next = JsFuture::from(iter.next().map_err(|e| js("listing browser storage", e))?).await.map_err(|e| js("listing browser storage", e))?;
        if Reflect::get(&next, &"done".into()).map(|d| d.is_truthy()).unwrap_or(true) {
            break;
        }
        let pair: js_sys::Array = Reflect::get(&next, &"value".into()).map_err(|e| js("listing", e))?.unchecked_into();
        out.push((pair.get(0).as_string().unwrap_or_default(), pair.get(1)));
    }
    Ok(out)
}
