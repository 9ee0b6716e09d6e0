//! The backend a model is loaded on, chosen at load time: the GPU (our WGSL kernels on wgpu) or
//! the CPU (`visionllm-cpu`'s kernels). Models hold a `Device` and never name a backend; every
//! launcher in `ops/` matches on the recording's backend (ARCHITECTURE.md, "Backends").

use std::sync::Arc;

use crate::context::{ErrorScope, Gpu};
use crate::cpu::Cpu;
use crate::dtype::DType;
use crate::error::Result;
use crate::tensor::Tensor;

#[derive(Clone)]
pub enum Device {
    Gpu(Arc<Gpu>),
    Cpu(Arc<Cpu>),
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl From<Arc<Gpu>> for Device {
    fn from(gpu: Arc<Gpu>) -> Device {
        Device::Gpu(gpu)
    }
}

impl Device {
    /// The CPU backend on the global thread pool.
    pub fn cpu() -> Device {
        Device::Cpu(Cpu::new())
    }

    pub fn gpu(&self) -> Option<&Arc<Gpu>> {
        match self {
            Device::Gpu(g) => Some(g),
            Device::Cpu(_) => None,
        }
    }

    pub fn is_cpu(&self) -> bool {
        matches!(self, Device::Cpu(_))
    }

    /// "gpu" or "cpu": what a report's `"backend"` says.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Device::Gpu(_) => "gpu",
            Device::Cpu(_) => "cpu",
        }
    }

    /// One line for logs and reports.
    pub fn describe(&self) -> String {
        match self {
            Device::Gpu(g) => format!("gpu: {}", g.caps.describe()),
            Device::Cpu(c) => format!("cpu: {} threads", c.threads()),
        }
    }

    /// Whether activations may be f16 (the GPU with shader-f16; the CPU runs f32).
    pub fn supports_f16(&self) -> bool {
        match self {
            Device::Gpu(g) => g.caps.f16,
            Device::Cpu(_) => false,
        }
    }

    /// The largest single tensor in bytes: the GPU's largest storage binding; on the CPU what
    /// the address space allows (wasm32: 4 GiB of memory in all).
    pub fn max_tensor_bytes(&self) -> u64 {
        match self {
            Device::Gpu(g) => g.max_binding(),
            Device::Cpu(_) => isize::MAX as u64,
        }
    }

    /// A tensor that outlives any recording (weights), holding a copy of `bytes`.
    pub fn upload_persistent(&self, shape: &[usize], dtype: DType, bytes: &[u8], label: &str) -> Tensor {
        match self {
            Device::Gpu(g) => g.upload_persistent(shape, dtype, bytes, label),
            Device::Cpu(c) => c.from_bytes(shape, dtype, bytes),
        }
    }

    /// `Err` once the GPU device is lost (the CPU never is).
    pub fn check_alive(&self) -> Result<()> {
        match self {
            Device::Gpu(g) => g.check_alive(),
            Device::Cpu(_) => Ok(()),
        }
    }

    pub fn is_lost(&self) -> bool {
        self.gpu().is_some_and(|g| g.is_lost())
    }

    /// Resolves when everything submitted so far is done (CPU work is done when it returns).
    pub async fn idle(&self) -> Result<()> {
        match self {
            Device::Gpu(g) => g.idle().await,
            Device::Cpu(_) => Ok(()),
        }
    }

    /// Out-of-memory and validation scopes around a piece of work on the GPU; nothing to catch on
    /// the CPU (its errors are returned by the launchers).
    pub fn error_scope(&self, during: &str) -> DeviceScope<'_> {
        match self {
            Device::Gpu(g) => DeviceScope(Some(g.error_scope(during))),
            Device::Cpu(_) => DeviceScope(None),
        }
    }

    /// Free idle pooled GPU buffers and cached bind groups (e.g. after unloading a model).
    pub fn trim(&self) {
        if let Device::Gpu(g) = self {
            g.trim();
        }
    }
}

/// [`Device::error_scope`]: a GPU [`ErrorScope`], or nothing on the CPU.
pub struct DeviceScope<'a>(Option<ErrorScope<'a>>);

impl DeviceScope<'_> {
    pub async fn finish(self) -> Result<()> {
        match self.0 {
            Some(scope) => scope.finish().await,
            None => Ok(()),
        }
    }
}
