//! The files of a drop or a pick, folders included: a dropped folder is walked through the entries
//! API (`webkitGetAsEntry`, the only way a page can read a dropped folder), a folder picked with
//! `webkitdirectory` arrives as a file list with relative paths. Each file keeps its path in the
//! folder as its name, as `visionllm label` names images by their path under the input folder.

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DataTransfer, File, FileList, FileSystemDirectoryEntry, FileSystemDirectoryReader, FileSystemEntry, FileSystemFileEntry};

use crate::batch::MAX_ITEMS;

/// Folders nested deeper than this are not walked (a link loop, or a drop of a whole disk).
const MAX_DEPTH: usize = 32;

/// `(name, file)` for each file of a file list; the name is the relative path when there is one.
pub fn from_list(list: &FileList) -> Vec<(String, File)> {
    (0..list.length()).filter_map(|i| list.get(i)).take(MAX_ITEMS).map(|f| (path_of(&f), f)).collect()
}

fn path_of(file: &File) -> String {
    let relative = js_sys::Reflect::get(file, &"webkitRelativePath".into()).ok().and_then(|p| p.as_string()).filter(|p| !p.is_empty());
    relative.unwrap_or_else(|| file.name())
}

/// What a drop holds, read during the drop event (a `DataTransfer` is emptied once the event's
/// handler returns): its entries (files and folders), or else its plain files.
pub enum Dropped {
    Entries(Vec<FileSystemEntry>),
    Files(Vec<(String, File)>),
}

pub fn dropped(data: &DataTransfer) -> Dropped {
    let items = data.items();
    let entries: Vec<FileSystemEntry> = (0..items.length()).filter_map(|i| items.get(i)).filter_map(|item| item.webkit_get_as_entry().ok().flatten()).collect();
    if entries.is_empty() {
        Dropped::Files(data.files().map(|l| from_list(&l)).unwrap_or_default())
    } else {
        Dropped::Entries(entries)
    }
}

/// Every file of a drop, walking dropped folders, sorted by path.
pub async fn files_of(dropped: Dropped) -> Vec<(String, File)> {
    let entries = match dropped {
        Dropped::Files(files) => return files,
        Dropped::Entries(entries) => entries,
    };
    let mut out = Vec::new();
    let mut stack: Vec<(FileSystemEntry, usize)> = entries.into_iter().map(|e| (e, 0)).collect();
    while let Some((entry, depth)) = stack.pop() {
        if out.len() >= MAX_ITEMS {
            break;
        }
        if entry.is_file() {
            if let Ok(file) = file_of(entry.unchecked_ref()).await {
                out.push((entry.full_path().trim_start_matches('/').to_string(), file));
            }
        } else if entry.is_directory() && depth < MAX_DEPTH {
            let reader = entry.unchecked_ref::<FileSystemDirectoryEntry>().create_reader();
            // readEntries answers in pieces (100 at a time in Chromium) until an empty one.
            while let Ok(batch) = read_entries(&reader).await {
                if batch.is_empty() {
                    break;
                }
                stack.extend(batch.into_iter().map(|e| (e, depth + 1)));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A callback-style call as a promise: `call(resolve, reject)`.
async fn callback_promise(call: impl FnOnce(&Function, &Function)) -> Result<JsValue, JsValue> {
    let mut call = Some(call);
    let promise = Promise::new(&mut |resolve, reject| {
        if let Some(call) = call.take() {
            call(&resolve, &reject);
        }
    });
    JsFuture::from(promise).await
}

async fn file_of(entry: &FileSystemFileEntry) -> Result<File, JsValue> {
    callback_promise(|ok, err| entry.file_with_callback_and_callback(ok, err)).await.map(JsCast::unchecked_into)
}

async fn read_entries(reader: &FileSystemDirectoryReader) -> Result<Vec<FileSystemEntry>, JsValue> {
    let list = callback_promise(|ok, err| {
        let _ = reader.read_entries_with_callback_and_callback(ok, err);
    })
    .await?;
    Ok(list.unchecked_into::<Array>().iter().map(JsCast::unchecked_into).collect())
}
