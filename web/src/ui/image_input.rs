//! Turning a file (dropped, picked, pasted, or an example) into a decoded image on a canvas.
//! The browser decodes it (`createImageBitmap` with `imageOrientation: "from-image"`, which
//! applies the EXIF orientation), so JPEG/PNG/WebP/GIF/BMP all work and a photo taken sideways
//! shows upright. Every failure becomes a message; nothing else changes.
//!
//! Before decoding, the width and height the file's header declares are checked: a 40 KB PNG
//! can declare 60000x60000 pixels (14 GB decoded), and the browser would try.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use visionllm_tasks::image_header::{declared_size, PREFIX_BYTES};
use web_sys::{Blob, CanvasRenderingContext2d, HtmlCanvasElement, ImageBitmap, ImageBitmapOptions, ImageOrientation};

use crate::image_limits::{check_dimensions, check_file, Rejection};

pub struct DecodedImage {
    pub canvas: HtmlCanvasElement,
    pub width: u32,
    pub height: u32,
}

pub fn new_canvas(width: u32, height: u32) -> Result<HtmlCanvasElement, String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let canvas: HtmlCanvasElement = document.create_element("canvas").map_err(|_| "cannot create a canvas")?.unchecked_into();
    canvas.set_width(width);
    canvas.set_height(height);
    Ok(canvas)
}

pub fn context_2d(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into().ok())
}

/// Decode `blob` named `name`; the error is the message to show.
pub async fn decode(blob: &Blob, name: &str) -> Result<DecodedImage, String> {
    check_file(blob.size() as u64, &blob.type_()).map_err(|r| r.message(name))?;
    let prefix = read_prefix(blob).await.map_err(|_| Rejection::Undecodable.message(name))?;
    let (declared_w, declared_h) = declared_size(&prefix).map_err(|reason| Rejection::BadHeader { reason }.message(name))?;
    check_dimensions(declared_w, declared_h).map_err(|r| r.message(name))?;
    let window = web_sys::window().ok_or("no window")?;
    let options = ImageBitmapOptions::new();
    options.set_image_orientation(ImageOrientation::FromImage);
    let promise = window
        .create_image_bitmap_with_blob_and_image_bitmap_options(blob, &options)
        .map_err(|_| Rejection::Undecodable.message(name))?;
    let bitmap: ImageBitmap = JsFuture::from(promise).await.map_err(|_| Rejection::Undecodable.message(name))?.unchecked_into();
    let (width, height) = (bitmap.width(), bitmap.height());
    if let Err(r) = check_dimensions(width, height) {
        bitmap.close();
        return Err(r.message(name));
    }
    let canvas = new_canvas(width, height)?;
    let ctx = context_2d(&canvas).ok_or("no 2D canvas context")?;
    ctx.draw_image_with_image_bitmap(&bitmap, 0.0, 0.0).map_err(|_| Rejection::Undecodable.message(name))?;
    bitmap.close();
    Ok(DecodedImage { canvas, width, height })
}

/// The first `PREFIX_BYTES` of `blob` (fewer when it is shorter): enough for any header we read.
async fn read_prefix(blob: &Blob) -> Result<Vec<u8>, JsValue> {
    let n = blob.size().min(PREFIX_BYTES as f64);
    let slice = blob.slice_with_f64_and_f64(0.0, n)?;
    let buffer = JsFuture::from(slice.array_buffer()).await?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Fetch an example image shipped with the site (relative URL).
pub async fn fetch_blob(url: &str) -> Result<Blob, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response =
        JsFuture::from(window.fetch_with_str(url)).await.map_err(|_| format!("cannot fetch {url}"))?.unchecked_into();
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let blob = JsFuture::from(response.blob().map_err(|_| "no body")?).await.map_err(|_| "cannot read the body")?;
    Ok(blob.unchecked_into())
}

/// The RGBA pixels of the full-size image as a buffer to transfer to the worker (no copy
/// through wasm memory: `ImageData.data.buffer` is handed over as is).
pub fn rgba_buffer(canvas: &HtmlCanvasElement) -> Result<js_sys::ArrayBuffer, String> {
    let ctx = context_2d(canvas).ok_or("no 2D canvas context")?;
    let data = ctx.get_image_data(0.0, 0.0, canvas.width() as f64, canvas.height() as f64).map_err(|_| "cannot read the pixels")?;
    let array = js_sys::Reflect::get(&data, &JsValue::from_str("data")).map_err(|_| "no pixel data")?;
    let buffer = js_sys::Reflect::get(&array, &JsValue::from_str("buffer")).map_err(|_| "no pixel buffer")?;
    Ok(buffer.unchecked_into())
}
