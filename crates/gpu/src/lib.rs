//! The runtime both backends share: a `Device` (the GPU, or the CPU), tensors whose storage is a
//! pooled GPU buffer or CPU memory, a recorder (on the GPU, a whole forward pass in one command
//! encoder), and one launcher per op that checks its operands once and runs the WGSL kernel or
//! `visionllm-cpu`'s kernel (the plain twins in `visionllm-core` are the oracle of both).
//!
//! It knows tensors, not models: nothing here may import a model or a task (see ARCHITECTURE.md).

// The floor every backend shares, under the names this crate always used.
pub use visionllm_core::{dtype, error, geometry, quant, twin};

pub mod bind_cache;
pub mod caps;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod context;
pub mod cpu;
pub mod device;
pub mod ops;
pub mod pipeline;
pub mod pool;
pub mod profile;
pub mod readback;
pub mod recorder;
pub mod shader;
pub mod tensor;

pub use wgpu;
pub use caps::{AdapterSummary, Capabilities, Overrides, Tiling};
pub use context::Gpu;
pub use cpu::Cpu;
pub use device::Device;
pub use dtype::DType;
pub use error::BackendError;
pub use pipeline::Pipeline;
pub use profile::KernelTime;
pub use recorder::Recorder;
pub use tensor::Tensor;
