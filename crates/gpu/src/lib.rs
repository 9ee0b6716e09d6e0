//! The GPU runtime: one device, tensors over pooled buffers, a recorder that turns a whole forward
//! pass into one command encoder, and one launcher + one plain-Rust CPU twin per WGSL kernel.
//!
//! It knows tensors, not models: nothing here may import a model or a task (see ARCHITECTURE.md).

pub mod bind_cache;
pub mod caps;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod context;
pub mod dtype;
pub mod error;
pub mod ops;
pub mod pipeline;
pub mod pool;
pub mod profile;
pub mod quant;
pub mod readback;
pub mod recorder;
pub mod shader;
pub mod tensor;
pub mod twin;

pub use wgpu;
pub use caps::{AdapterSummary, Capabilities, Overrides, Tiling};
pub use context::Gpu;
pub use dtype::DType;
pub use error::GpuError;
pub use pipeline::Pipeline;
pub use profile::KernelTime;
pub use recorder::Recorder;
pub use tensor::Tensor;
