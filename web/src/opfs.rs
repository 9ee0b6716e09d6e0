//! The origin-private file system (OPFS) handles both sides use: the worker's shard cache
//! (`worker::shard_cache`) and the page's batch results (`ui::batch_store`). Lookups tell "no such
//! entry" (`None`) from a real failure (an error to show).

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{FileSystemDirectoryHandle, FileSystemGetDirectoryOptions, StorageManager};

use crate::worker::js_error as js;

/// The OPFS root of this origin, from the page or a worker (`navigator.storage` on either global);
/// `None` where the browser has none (an old browser, some private modes).
pub async fn root() -> Option<FileSystemDirectoryHandle> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let storage = Reflect::get(&navigator, &"storage".into()).ok().filter(|s| !s.is_undefined())?;
    let storage: StorageManager = storage.unchecked_into();
    JsFuture::from(storage.get_directory()).await.ok().map(|h| h.unchecked_into())
}

pub async fn subdir(parent: &FileSystemDirectoryHandle, name: &str, create: bool) -> Result<Option<FileSystemDirectoryHandle>, String> {
    let opts = FileSystemGetDirectoryOptions::new();
    opts.set_create(create);
    Ok(lookup(parent.get_directory_handle_with_options(name, &opts), name).await?.map(JsCast::unchecked_into))
}

/// A handle lookup: the handle, `None` when there is no such entry, an error otherwise.
pub async fn lookup(promise: js_sys::Promise, name: &str) -> Result<Option<JsValue>, String> {
    match JsFuture::from(promise).await {
        Ok(h) => Ok(Some(h)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(js(&format!("opening {name} in browser storage"), e)),
    }
}

pub fn is_not_found(e: &JsValue) -> bool {
    error_name(e).is_some_and(|n| n == "NotFoundError" || n == "TypeMismatchError")
}

pub fn error_name(e: &JsValue) -> Option<String> {
    Reflect::get(e, &"name".into()).ok().and_then(|n| n.as_string())
}
