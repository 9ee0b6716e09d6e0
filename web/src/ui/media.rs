//! Frames and thumbnails for the batch and the camera: a video file's frame at a given time (a
//! hidden `<video>` seeked there, drawn to a canvas), a live video's current frame, and a
//! thumbnail as a small JPEG data URL.

use wasm_bindgen::JsCast;
use web_sys::{File, HtmlCanvasElement, HtmlVideoElement};

use super::browser_async::next_event;
use super::image_input::{context_2d, new_canvas};
use crate::batch::THUMB_SIDE;
use crate::image_limits::check_dimensions;

/// A video file opened for seeking; the object URL is revoked when it is dropped.
pub struct OpenVideo {
    pub video: HtmlVideoElement,
    _url: gloo_file::ObjectUrl,
}

impl OpenVideo {
    pub async fn open(file: &File) -> Result<OpenVideo, String> {
        let name = file.name();
        let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
        let video: HtmlVideoElement = document.create_element("video").map_err(|_| "cannot create a video element")?.unchecked_into();
        video.set_muted(true);
        video.set_preload("auto");
        let url = gloo_file::ObjectUrl::from(gloo_file::Blob::from(web_sys::Blob::from(file.clone())));
        video.set_src(&url);
        next_event(&video, "loadedmetadata", "error", 30_000).await.map_err(|e| format!("{name}: this browser cannot play it ({e})"))?;
        Ok(OpenVideo { video, _url: url })
    }

    /// Seconds, as the browser reports them (checked by `batch::frame_times`).
    pub fn duration_s(&self) -> f64 {
        self.video.duration()
    }

    /// The frame at `time_s`, full size.
    pub async fn frame_at(&self, time_s: f64) -> Result<HtmlCanvasElement, String> {
        self.video.set_current_time(time_s);
        next_event(&self.video, "seeked", "error", 30_000).await.map_err(|e| format!("seeking to {time_s:.3} s: {e}"))?;
        frame_of(&self.video)
    }
}

/// The frame a video element shows now, at its own size.
pub fn frame_of(video: &HtmlVideoElement) -> Result<HtmlCanvasElement, String> {
    let (w, h) = (video.video_width(), video.video_height());
    check_dimensions(w, h).map_err(|r| r.message("the video frame"))?;
    let canvas = new_canvas(w, h)?;
    let ctx = context_2d(&canvas).ok_or("no 2D canvas context")?;
    ctx.draw_image_with_html_video_element(video, 0.0, 0.0).map_err(|_| "cannot read the video frame")?;
    Ok(canvas)
}

/// A JPEG data URL of `canvas` at most `THUMB_SIDE` pixels on its longer side.
pub fn thumbnail(canvas: &HtmlCanvasElement) -> String {
    let (w, h) = (canvas.width().max(1) as f64, canvas.height().max(1) as f64);
    let scale = (THUMB_SIDE as f64 / w.max(h)).min(1.0);
    let (tw, th) = (((w * scale).round() as u32).max(1), ((h * scale).round() as u32).max(1));
    let Ok(thumb) = new_canvas(tw, th) else { return String::new() };
    let Some(ctx) = context_2d(&thumb) else { return String::new() };
    let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(canvas, 0.0, 0.0, tw as f64, th as f64);
    thumb.to_data_url_with_type_and_encoder_options("image/jpeg", &0.7.into()).unwrap_or_default()
}
