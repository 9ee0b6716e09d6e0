//! Browser callbacks as futures: a timer, and the next of two events on an element (a video's
//! `seeked` or its `error`), so the batch and the camera read as plain sequential code.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AddEventListenerOptions, EventTarget};

/// Resolve after `ms` milliseconds.
pub async fn sleep_ms(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Wait for `ok` on `target`; `Err` when `fail` fires first or nothing happens within `timeout_ms`.
pub async fn next_event(target: &EventTarget, ok: &str, fail: &str, timeout_ms: i32) -> Result<(), String> {
    let options = AddEventListenerOptions::new();
    options.set_once(true);
    let (ok_name, fail_name) = (ok.to_string(), fail.to_string());
    let promise = Promise::new(&mut |resolve, reject| {
        let _ = target.add_event_listener_with_callback_and_add_event_listener_options(&ok_name, &resolve, &options);
        let _ = target.add_event_listener_with_callback_and_add_event_listener_options(&fail_name, &reject, &options);
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_1(&reject, timeout_ms, &JsValue::from_str("timeout"));
        }
    });
    match JsFuture::from(promise).await {
        Ok(_) => Ok(()),
        Err(e) if e.as_string().as_deref() == Some("timeout") => Err(format!("no {ok} event within {} s", timeout_ms / 1000)),
        Err(_) => Err(format!("{fail} instead of {ok}")),
    }
}
