//! The JS side of the message envelope (`{v, json, bytes?}`, see `messages.rs`): building it for
//! `postMessage` with the pixel buffer in the transfer list, and taking it apart on arrival.

use js_sys::{Array, ArrayBuffer, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::messages::{decode, encode, EnvelopeError, PROTOCOL_VERSION};
use serde::{Deserialize, Serialize};

/// An envelope ready for `postMessage(value, transfer)`.
pub struct Outgoing {
    pub value: JsValue,
    pub transfer: Array,
}

pub fn wrap<T: Serialize>(message: &T, bytes: Option<ArrayBuffer>) -> Outgoing {
    let obj = Object::new();
    let set = |k: &str, v: &JsValue| {
        Reflect::set(&obj, &JsValue::from_str(k), v).expect("plain object");
    };
    set("v", &JsValue::from(PROTOCOL_VERSION));
    set("json", &JsValue::from_str(&encode(message)));
    let transfer = Array::new();
    if let Some(buffer) = bytes {
        set("bytes", &buffer);
        transfer.push(&buffer);
    }
    Outgoing { value: obj.into(), transfer }
}

/// The message and its byte payload, if any.
pub fn unwrap<T: for<'de> Deserialize<'de>>(data: &JsValue) -> Result<(T, Option<ArrayBuffer>), EnvelopeError> {
    let get = |k: &str| Reflect::get(data, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    let version = get("v").as_f64().map(|v| v as u32).unwrap_or(0);
    let json = get("json").as_string().ok_or_else(|| EnvelopeError::Json("no json field".into()))?;
    let message = decode(version, &json)?;
    let bytes = get("bytes").dyn_into::<ArrayBuffer>().ok();
    Ok((message, bytes))
}
