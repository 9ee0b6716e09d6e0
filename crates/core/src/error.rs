//! Errors a caller can show to a person: what failed and, where it helps, what to do. One type
//! for every backend: a CPU run fails with the same shape and dtype errors as a GPU run, and the
//! GPU's own faults (lost device, out of memory) are values of it too.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum BackendError {
    #[error("no GPU adapter available ({0}); in a browser, WebGPU may be disabled or unsupported")]
    NoAdapter(String),
    #[error("the GPU refused to create a device: {0}")]
    DeviceRequest(String),
    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),
    /// Caught by an error scope or the uncaptured-error handler (`Gpu::error_scope`).
    #[error("the GPU ran out of memory during {during}: {detail}; try a smaller or more quantized model (Q4), or close other tabs that use the GPU")]
    OutOfMemory { during: String, detail: String },
    /// A command the GPU refused: a bug in a kernel or its shapes, never the user's input.
    #[error("the GPU rejected a command during {during}: {detail}")]
    Validation { during: String, detail: String },
    #[error("the GPU reported an internal error during {during}: {detail}")]
    Internal { during: String, detail: String },
    #[error("shape error in {op}: {detail}")]
    Shape { op: &'static str, detail: String },
    /// Operands on another backend than the work (a GPU tensor given to a CPU run): a bug in
    /// the caller, reported instead of a panic.
    #[error("{op}: an operand is on another backend than the work ({detail})")]
    WrongBackend { op: &'static str, detail: String },
    #[error("{op} does not support dtype {dtype:?}")]
    DType { op: &'static str, dtype: crate::DType },
    #[error("{what} needs {needed} bytes but the device allows {limit} per binding")]
    TooLarge { what: String, needed: u64, limit: u64 },
    #[error("reading back from the GPU failed: {0}")]
    Readback(String),
    #[error("shader {name} failed to compile: {detail}")]
    Shader { name: String, detail: String },
}

pub type Result<T> = std::result::Result<T, BackendError>;

/// Shorthand used by launchers to reject bad shapes with a readable message.
pub fn shape_err(op: &'static str, detail: impl Into<String>) -> BackendError {
    BackendError::Shape { op, detail: detail.into() }
}

/// `text` on one line (whitespace runs become one space), at most `max_chars` characters with an
/// ellipsis when cut: driver errors and panic messages span many lines and can be long. Used for
/// the GPU's own errors and by the app for anything it shows in its one-line message bar.
pub fn one_line(text: &str, max_chars: usize) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}
