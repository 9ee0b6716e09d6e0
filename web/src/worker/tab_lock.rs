//! One model directory, one writer across this site's tabs: the Web Locks API
//! (`navigator.locks.request`), reached through `Reflect` because web-sys's binding is unstable.
//!
//! Why: OPFS allows one sync access handle per file, so a second tab loading the same model at
//! the same time would fail with a raw `NoModificationAllowedError`, and two tabs converting into
//! one Cache API directory would overwrite each other's entries. With the lock, the second tab
//! waits and then finds the shards the first one verified. A browser without Web Locks goes on
//! without it (the storage errors then carry a plain "in use in another tab" message).

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{js_error as js, scope};
use crate::messages::FromWorker;

/// Held until dropped (the callback's promise resolves then and the browser frees the lock; a
/// closed tab or a terminated worker frees it too).
pub struct TabLock {
    release: Option<Function>,
}

impl Drop for TabLock {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }
}

pub enum Lock {
    Held(TabLock),
    /// Another tab holds it (only when asked not to wait).
    Busy,
    /// No Web Locks here.
    Unsupported,
}

/// How long a load waits for another tab's load of the same model before saying so.
const WAIT_MS: u32 = 10 * 60 * 1000;

/// The lock that guards the directory of model `id` (an id or a stored directory name: both map
/// to the same directory, so to the same lock).
pub fn name_for(id: &str) -> String {
    format!("visionllm-model:{}", super::identity::dir_name(id))
}

/// Take the lock `name`: waiting for another tab to let go when `wait`, else `Busy` at once.
pub async fn acquire(name: &str, wait: bool) -> Result<Lock, String> {
    let navigator = scope().navigator();
    let locks = Reflect::get(&navigator, &"locks".into()).unwrap_or(JsValue::UNDEFINED);
    if locks.is_undefined() || locks.is_null() {
        return Ok(Lock::Unsupported);
    }
    let request: Function = Reflect::get(&locks, &"request".into()).ok().and_then(|f| f.dyn_into().ok()).ok_or("navigator.locks.request is not a function")?;

    // The promise the callback returns: the lock is held until `release` resolves it.
    let mut release = None;
    let held = Promise::new(&mut |resolve, _| release = Some(resolve));
    let release = release.ok_or("a promise did not hand out its resolver (a bug)")?;

    let (tx, rx) = oneshot::channel::<Result<bool, String>>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let send = {
        let tx = tx.clone();
        move |v: Result<bool, String>| {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(v);
            }
        }
    };
    let granted_send = send.clone();
    let callback = Closure::once_into_js(move |lock: JsValue| -> JsValue {
        // `null` means "not available" (ifAvailable); resolving at once lets the request end.
        let granted = !lock.is_null() && !lock.is_undefined();
        granted_send(Ok(granted));
        if granted { held.into() } else { JsValue::UNDEFINED }
    });

    let options = Object::new();
    let set = |k: &str, v: JsValue| Reflect::set(&options, &k.into(), &v).map_err(|e| js("lock options", e));
    if wait {
        // A tab stuck in its load must not hold others forever: give up after WAIT_MS.
        if let Some(signal) = timeout_signal(WAIT_MS) {
            set("signal", signal)?;
        }
    } else {
        set("ifAvailable", JsValue::TRUE)?;
    }
    let promise: Promise = request
        .call3(&locks, &name.into(), &options, &callback)
        .map_err(|e| js("navigator.locks.request", e))?
        .dyn_into()
        .map_err(|_| "navigator.locks.request did not return a promise")?;
    // A rejection (the timeout, or a browser refusing locks here) arrives only through the promise.
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = JsFuture::from(promise).await {
            send(Err(js("waiting for another tab", e)));
        }
    });
    match rx.await {
        Ok(Ok(true)) => Ok(Lock::Held(TabLock { release: Some(release) })),
        Ok(Ok(false)) => Ok(Lock::Busy),
        Ok(Err(e)) if e.contains("Timeout") || e.contains("timed out") || e.contains("abort") => {
            Err("this model is still being loaded in another tab of this site after 10 minutes: close that tab or wait for it, then load again".into())
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err("the lock request ended without an answer".into()),
    }
}

/// `AbortSignal.timeout(ms)`, where the browser has it.
fn timeout_signal(ms: u32) -> Option<JsValue> {
    let class = Reflect::get(&js_sys::global(), &"AbortSignal".into()).ok()?;
    let timeout: Function = Reflect::get(&class, &"timeout".into()).ok()?.dyn_into().ok()?;
    timeout.call1(&class, &ms.into()).ok()
}

/// The message for a storage error that means another tab has the file open.
pub fn in_use_message(what: &str) -> String {
    format!("{what} is in use in another tab of this site: close that tab or wait until it has finished loading, then load again")
}

/// Hold the lock of model `dir`'s directory for a load, waiting for another tab's load of the
/// same directory to finish first (the page is told why it waits); `None` where the browser has
/// no Web Locks.
pub async fn hold(dir: &str) -> Result<Option<TabLock>, String> {
    let name = name_for(dir);
    match acquire(&name, false).await? {
        Lock::Held(lock) => return Ok(Some(lock)),
        Lock::Unsupported => return Ok(None),
        Lock::Busy => super::post(
            &FromWorker::Notice {
                message: "This model is being loaded in another tab of this site: waiting for that tab to finish, then it loads from browser storage.".into(),
            },
            None,
        ),
    }
    Ok(match acquire(&name, true).await? {
        Lock::Held(lock) => Some(lock),
        Lock::Busy | Lock::Unsupported => None,
    })
}
