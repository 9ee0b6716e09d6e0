//! What images the app accepts, checked before the pixels reach the worker, and how one is fitted
//! to the screen. The limits keep a decoded image (width x height x 4 bytes) well inside a tab's
//! memory.

/// Shared with the CLI (`visionllm run` refuses the same images).
pub use visionllm_tasks::image_header::MAX_SIDE;
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    EmptyFile,
    FileTooLarge { bytes: u64 },
    NotAnImage { mime: String },
    Undecodable,
    /// The header (read before decoding) is not one of the formats we take, or is damaged.
    BadHeader { reason: String },
    EmptyImage,
    TooManyPixels { width: u32, height: u32 },
}

impl Rejection {
    /// The message the user sees; it names the file and what to do.
    pub fn message(&self, name: &str) -> String {
        match self {
            Rejection::EmptyFile => format!("“{name}” is empty (0 bytes). Choose another image."),
            Rejection::FileTooLarge { bytes } => format!(
                "“{name}” is {:.0} MB; the limit is {} MB. Resize or compress it first.",
                *bytes as f64 / 1048576.0,
                MAX_FILE_BYTES >> 20
            ),
            Rejection::NotAnImage { mime } => {
                format!("“{name}” is not an image ({mime}). Use a PNG, JPEG, WebP, GIF or BMP file.")
            }
            Rejection::Undecodable => {
                format!("“{name}” could not be decoded as an image: the file may be damaged or in an unsupported format.")
            }
            Rejection::BadHeader { reason } => format!(
                "“{name}” could not be decoded as an image ({reason}). Use a PNG, JPEG, WebP, GIF or BMP file."
            ),
            Rejection::EmptyImage => format!("“{name}” has no pixels (width or height is 0)."),
            Rejection::TooManyPixels { width, height } => format!(
                "“{name}” is {width}×{height} pixels; the limit is {MAX_SIDE} pixels per side. Resize it first."
            ),
        }
    }
}

/// Checks on the file itself, before decoding. An empty MIME type is allowed (pasted and dragged
/// files often have none); the decoder decides.
pub fn check_file(bytes: u64, mime: &str) -> Result<(), Rejection> {
    if bytes == 0 {
        return Err(Rejection::EmptyFile);
    }
    if bytes > MAX_FILE_BYTES {
        return Err(Rejection::FileTooLarge { bytes });
    }
    if !mime.is_empty() && !mime.starts_with("image/") {
        return Err(Rejection::NotAnImage { mime: mime.to_string() });
    }
    Ok(())
}

/// Checks on the size: the one the file's header declares (before decoding, so a small file
/// that declares a huge image is never decoded), and again the decoded one.
pub fn check_dimensions(width: u32, height: u32) -> Result<(), Rejection> {
    if width == 0 || height == 0 {
        return Err(Rejection::EmptyImage);
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(Rejection::TooManyPixels { width, height });
    }
    Ok(())
}

/// Displaying an image: the result canvas fits it to the panel (`ui::image_view`).
/// Longest side of the on-screen canvas in device pixels (exports are full size).
const MAX_DISPLAY_SIDE: f64 = 4096.0;
/// The image may take this much of the window's height.
const MAX_HEIGHT_SHARE: f64 = 0.75;

/// The canvas for a `width` x `height` image in a panel `panel_width` CSS pixels wide in a window
/// `window_height` high on a screen of `pixel_ratio` device pixels per CSS pixel: its CSS size
/// (the image fitted, up or down, keeping its aspect) and its backing size in device pixels.
/// A panel not laid out yet (width 0) shows the image at its own size.
pub fn fitted_size(width: u32, height: u32, panel_width: f64, window_height: f64, pixel_ratio: f64) -> ((f64, f64), (u32, u32)) {
    let (w, h) = (width.max(1) as f64, height.max(1) as f64);
    let mut css = if panel_width >= 1.0 { (panel_width, panel_width * h / w) } else { (w, h) };
    let max_h = window_height * MAX_HEIGHT_SHARE;
    if max_h >= 1.0 && css.1 > max_h {
        css = (max_h * w / h, max_h);
    }
    let ratio = if pixel_ratio.is_finite() && pixel_ratio > 0.0 { pixel_ratio } else { 1.0 };
    let shrink = (MAX_DISPLAY_SIDE / (css.0.max(css.1) * ratio)).min(1.0);
    let backing = (((css.0 * ratio * shrink).round() as u32).max(1), ((css.1 * ratio * shrink).round() as u32).max(1));
    (css, backing)
}
