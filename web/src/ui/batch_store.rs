//! The batch's records in the origin-private file system, from the page: `visionllm-batch/meta.json`
//! (the instruction and the items, to show the batch again after a reload) and one file per
//! finished item (`batch::record_file`). Each file is written through a writable stream, which the
//! browser commits whole when it closes (a crash mid-write leaves the old file or none), so a
//! record either is complete or does not exist: nothing finished is lost, nothing half-written
//! is read. Where OPFS is missing the batch still runs and says that it is not kept.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetFileOptions, FileSystemRemoveOptions, FileSystemWritableFileStream};

use crate::batch::{BatchMeta, StoredRecord};
use crate::opfs::{self, is_not_found, lookup};
use crate::worker::js_error as js;

const DIR: &str = "visionllm-batch";
const META: &str = "meta.json";

async fn dir(create: bool) -> Result<Option<FileSystemDirectoryHandle>, String> {
    let Some(root) = opfs::root().await else {
        return Err("this browser has no private file system (OPFS) for this site: the batch's results are not kept across reloads".into());
    };
    opfs::subdir(&root, DIR, create).await
}

async fn write(name: &str, text: &str) -> Result<(), String> {
    let dir = dir(true).await?.ok_or("the batch folder could not be made")?;
    let opts = FileSystemGetFileOptions::new();
    opts.set_create(true);
    let file: FileSystemFileHandle = lookup(dir.get_file_handle_with_options(name, &opts), name).await?.ok_or("no file")?.unchecked_into();
    let what = || format!("saving {name} in browser storage");
    let stream: FileSystemWritableFileStream =
        JsFuture::from(file.create_writable()).await.map_err(|e| js(&what(), e))?.unchecked_into();
    let written = match stream.write_with_str(text) {
        Ok(promise) => JsFuture::from(promise).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        // Discard the swap file: the old record (if any) stays as it was.
        let _ = JsFuture::from(stream.abort()).await;
        return Err(js(&what(), e));
    }
    JsFuture::from(stream.close()).await.map_err(|e| js(&what(), e)).map(|_| ())
}

async fn read(name: &str) -> Result<Option<String>, String> {
    let Some(dir) = dir(false).await? else { return Ok(None) };
    let Some(file) = lookup(dir.get_file_handle(name), name).await? else { return Ok(None) };
    let file: FileSystemFileHandle = file.unchecked_into();
    let blob: web_sys::Blob = JsFuture::from(file.get_file()).await.map_err(|e| js(&format!("reading {name}"), e))?.unchecked_into();
    let text = JsFuture::from(blob.text()).await.map_err(|e| js(&format!("reading {name}"), e))?;
    Ok(text.as_string())
}

pub async fn save_meta(meta: &BatchMeta) -> Result<(), String> {
    write(META, &meta.to_text()).await
}

/// The stored batch, if there is one; an unreadable one is reported, not shown.
pub async fn load_meta() -> Result<Option<BatchMeta>, String> {
    match read(META).await? {
        Some(text) => BatchMeta::from_text(&text).map(Some),
        None => Ok(None),
    }
}

pub async fn save_record(file: &str, record: &StoredRecord) -> Result<(), String> {
    write(file, &record.to_text()).await
}

/// The record in `file`; `Ok(None)` when the item has none yet. A damaged record is an error the
/// caller shows, and the item is labelled again.
pub async fn load_record(file: &str) -> Result<Option<StoredRecord>, String> {
    match read(file).await? {
        Some(text) => StoredRecord::from_text(&text).map(Some).map_err(|e| format!("{file}: {e}")),
        None => Ok(None),
    }
}

pub async fn remove(file: &str) -> Result<(), String> {
    let Some(dir) = dir(false).await? else { return Ok(()) };
    match JsFuture::from(dir.remove_entry(file)).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(js(&format!("removing {file}"), e)),
    }
}

/// Forget the stored batch and all its records.
pub async fn clear() -> Result<(), String> {
    let Some(root) = opfs::root().await else { return Ok(()) };
    let opts = FileSystemRemoveOptions::new();
    opts.set_recursive(true);
    match JsFuture::from(root.remove_entry_with_options(DIR, &opts)).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(js("removing the stored batch", e)),
    }
}
