//! Device acquisition: pick an adapter, request only what it offers, record what was granted.
//! Faults become values: a lost device is recorded (`check_alive`, `lost_reason`), errors outside
//! any error scope are recorded instead of panicking, and `error_scope` catches out-of-memory and
//! validation errors around a piece of work.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::bind_cache::BindCache;
use crate::caps::{AdapterSummary, Capabilities, Overrides, Tiling};
use crate::error::one_line;
use crate::error::{BackendError, Result};
use crate::pipeline::PipelineCache;
use crate::pool::BufferPool;
use crate::shader::ShaderTarget;

/// One GPU device with its queue, capabilities, buffer pool and pipeline cache.
/// Cheap to share: wrap in `Arc` (every launcher takes `&Gpu`).
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub caps: Capabilities,
    pub pool: Arc<BufferPool>,
    pub(crate) pipelines: PipelineCache,
    pub binds: Arc<BindCache>,
    /// Submit and dispatch counts, and the kernel-by-kernel profile when it is on.
    pub profiler: crate::profile::Profiler,
    pub(crate) target: ShaderTarget,
    /// Set by the device-lost callback: why the device went away (driver reset, tab in background).
    lost: Arc<Mutex<Option<String>>>,
    /// The first error the device reported outside any error scope since `check_alive` last ran.
    /// Recorded instead of wgpu's native default, which panics (and would take a process or a
    /// worker down for what may be one bad job).
    uncaptured: Arc<Mutex<Option<BackendError>>>,
}

/// A poisoned lock only means a thread panicked while holding it; the `Option` inside is still a
/// valid value, so read it rather than propagate the panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// wgpu's validation messages span many lines (the error chain, labels); a message bar shows one.
const DETAIL_CHARS: usize = 300;

/// A wgpu error as a message a person can act on; `during` names the work ("loading the model").
pub fn describe_wgpu_error(e: wgpu::Error, during: &str) -> BackendError {
    let during = during.to_string();
    match e {
        wgpu::Error::OutOfMemory { .. } => BackendError::OutOfMemory { during, detail: "out of memory".into() },
        wgpu::Error::Validation { description, .. } => BackendError::Validation { during, detail: one_line(&description, DETAIL_CHARS) },
        wgpu::Error::Internal { description, .. } => BackendError::Internal { during, detail: one_line(&description, DETAIL_CHARS) },
    }
}

/// Out-of-memory and validation error scopes around one piece of work (a model load, a job).
/// Made by [`Gpu::error_scope`], ended by [`ErrorScope::finish`]. wgpu requires scopes to be
/// popped in the reverse order of pushing, on the thread that pushed them, so one scope must end
/// before the next one begins (the worker runs one job or load at a time) and the value is not
/// `Send`. Dropped without `finish`, the scopes are popped and what they caught is discarded.
pub struct ErrorScope<'a> {
    gpu: &'a Gpu,
    during: String,
    // Field order is drop order: the inner (validation) scope is popped first.
    validation: Option<wgpu::ErrorScopeGuard>,
    oom: Option<wgpu::ErrorScopeGuard>,
}

impl ErrorScope<'_> {
    /// Pop both scopes; `Err` if the device was lost, ran out of memory, or refused a command
    /// since the scope began (a lost device wins: the other errors are then its symptoms).
    pub async fn finish(mut self) -> Result<()> {
        // Both pops take effect now, inner first; their answers arrive later.
        let validation = self.validation.take().map(|g| g.pop());
        let oom = self.oom.take().map(|g| g.pop());
        let validation = match validation {
            Some(f) => f.await,
            None => None,
        };
        let oom = match oom {
            Some(f) => f.await,
            None => None,
        };
        self.gpu.check_alive()?;
        match oom.or(validation) {
            Some(e) => Err(describe_wgpu_error(e, &self.during)),
            None => Ok(()),
        }
    }
}

impl Gpu {
    /// Acquire the default high-performance adapter and a device on it.
    pub async fn new(overrides: Overrides) -> Result<Arc<Gpu>> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| BackendError::NoAdapter(e.to_string()))?;
        Self::from_adapter(adapter, overrides).await
    }

    /// Natively, block on [`Gpu::new`] with the environment's overrides added to `overrides`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking(overrides: Overrides) -> Result<Arc<Gpu>> {
        pollster::block_on(Self::new(overrides.or(Overrides::from_env())))
    }

    pub async fn from_adapter(adapter: wgpu::Adapter, overrides: Overrides) -> Result<Arc<Gpu>> {
        let info = adapter.get_info();
        let offered = adapter.features();
        let adapter_f16 = offered.contains(wgpu::Features::SHADER_F16);
        let adapter_subgroups = offered.contains(wgpu::Features::SUBGROUP);
        let mut features = wgpu::Features::empty();
        if adapter_f16 && !overrides.no_f16 {
            features |= wgpu::Features::SHADER_F16;
        }
        if adapter_subgroups && !overrides.no_subgroups {
            features |= wgpu::Features::SUBGROUP;
        }
        let limits = requested_limits(&adapter.limits());
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("visionllm"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| BackendError::DeviceRequest(e.to_string()))?;
        // The browser's WebGPU does not report a device type; SwiftShader names itself.
        let is_software = info.device_type == wgpu::DeviceType::Cpu || info.name.to_lowercase().contains("swiftshader");
        let caps = Capabilities {
            tiling: overrides.tiling.unwrap_or(Tiling::for_adapter(is_software)),
            adapter: AdapterSummary {
                name: info.name.clone(),
                vendor: info.vendor,
                backend: format!("{:?}", info.backend),
                device_type: format!("{:?}", info.device_type),
                driver: format!("{} {}", info.driver, info.driver_info).trim().to_string(),
                is_software,
            },
            f16: features.contains(wgpu::Features::SHADER_F16),
            subgroups: features.contains(wgpu::Features::SUBGROUP),
            subgroup_min_size: info.subgroup_min_size,
            subgroup_max_size: info.subgroup_max_size,
            adapter_f16,
            adapter_subgroups,
            limits: device.limits(),
        };
        let lost = Arc::new(Mutex::new(None));
        let lost_in_callback = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            let message = one_line(&message, DETAIL_CHARS);
            *lock(&lost_in_callback) = Some(if message.is_empty() { format!("{reason:?}") } else { format!("{reason:?}: {message}") });
        });
        let uncaptured = Arc::new(Mutex::new(None));
        let uncaptured_in_handler = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let e = describe_wgpu_error(e, "GPU work outside an error scope");
            // Natively a test or CLI run may never check again: leave a trace where a panic was.
            #[cfg(not(target_arch = "wasm32"))]
            eprintln!("wgpu: {e}");
            let mut slot = lock(&uncaptured_in_handler);
            if slot.is_none() {
                *slot = Some(e);
            }
        }));
        Ok(Arc::new(Gpu {
            device,
            queue,
            caps,
            pool: Arc::new(BufferPool::default()),
            pipelines: PipelineCache::default(),
            binds: Arc::new(BindCache::default()),
            profiler: crate::profile::Profiler::from_env(),
            target: ShaderTarget::current(),
            lost,
            uncaptured,
        }))
    }

    /// `Err(DeviceLost)` once the device is gone: callers stop and offer to start again. Also
    /// reports (once) an error the device raised outside any error scope since the last check,
    /// so natively a bad command surfaces as an error of the work that checks next, not a panic.
    pub fn check_alive(&self) -> Result<()> {
        if let Some(why) = lock(&self.lost).clone() {
            return Err(BackendError::DeviceLost(why));
        }
        match lock(&self.uncaptured).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Resolves when the GPU has finished everything submitted so far, so a stage's time is its
    /// own (natively by polling; in the browser the event loop drives the callback).
    pub async fn idle(&self) -> Result<()> {
        let (tx, rx) = futures_channel::oneshot::channel();
        self.queue.on_submitted_work_done(move || {
            let _ = tx.send(());
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| BackendError::Readback(e.to_string()))?;
        // A lost device may never call back; the dropped sender then ends the wait.
        let _ = rx.await;
        self.check_alive()
    }

    /// The device is gone (lost or destroyed): make a new `Gpu` to continue.
    pub fn is_lost(&self) -> bool {
        lock(&self.lost).is_some()
    }

    /// Why the device was lost (`"Destroyed: …"`), once it is.
    pub fn lost_reason(&self) -> Option<String> {
        lock(&self.lost).clone()
    }

    /// Begin out-of-memory and validation error scopes around `during` (see [`ErrorScope`]).
    pub fn error_scope(&self, during: &str) -> ErrorScope<'_> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        ErrorScope { gpu: self, during: during.to_string(), validation: Some(validation), oom: Some(oom) }
    }

    /// A tensor in its own unpooled buffer, written now through the queue: for weights and other
    /// data that outlive any recording (never for activations during a recording, see pool.rs).
    pub fn upload_persistent(&self, shape: &[usize], dtype: crate::DType, bytes: &[u8], label: &str) -> crate::Tensor {
        assert_eq!(bytes.len() as u64, crate::tensor::byte_len(shape, dtype), "{label}: {shape:?} {dtype:?}");
        let buf = BufferPool::persistent(&self.device, bytes.len() as u64, label, Arc::downgrade(&self.binds));
        // Writes must be whole words: the bytes go as they are, only a ragged tail is padded
        // (no copy of the tensor: in a browser that copy would double the peak wasm heap).
        let whole = bytes.len() / 4 * 4;
        if whole > 0 {
            self.queue.write_buffer(&buf.buffer, 0, &bytes[..whole]);
        }
        if whole < bytes.len() {
            let mut tail = bytes[whole..].to_vec();
            tail.resize(4, 0);
            self.queue.write_buffer(&buf.buffer, whole as u64, &tail);
        }
        crate::Tensor::new(buf, 0, shape.to_vec(), dtype)
    }

    /// Free idle pooled buffers and cached bind groups (e.g. after unloading a model).
    pub fn trim(&self) {
        self.binds.clear();
        self.pool.trim();
    }

    /// Largest single storage binding the device granted, in bytes.
    pub fn max_binding(&self) -> u64 {
        self.caps.limits.max_storage_buffer_binding_size as u64
    }
}

/// WebGPU's defaults, raised only where the adapter offers more and we need it: buffer and binding
/// sizes (weights and activations are large) and the count of storage buffers per stage.
fn requested_limits(adapter: &wgpu::Limits) -> wgpu::Limits {
    let base = wgpu::Limits::default();
    wgpu::Limits {
        max_buffer_size: adapter.max_buffer_size,
        max_storage_buffer_binding_size: adapter.max_storage_buffer_binding_size,
        max_storage_buffers_per_shader_stage: adapter.max_storage_buffers_per_shader_stage.min(10),
        max_compute_workgroup_storage_size: base.max_compute_workgroup_storage_size,
        ..base
    }
    .using_alignment(adapter.clone())
}

/// The fault paths on a real device (lavapipe in CI): errors become values, never panics.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// MAP_READ together with MAP_WRITE is invalid on every device: a validation error on demand.
    fn invalid_buffer(gpu: &Gpu) -> wgpu::Buffer {
        gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("invalid on purpose"),
            size: 16,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::MAP_WRITE,
            mapped_at_creation: false,
        })
    }

    #[test]
    fn a_scope_turns_a_validation_error_into_a_message() {
        let gpu = Gpu::new_blocking(Overrides::NONE).unwrap();
        let scope = gpu.error_scope("the test");
        let _bad = invalid_buffer(&gpu);
        match pollster::block_on(scope.finish()) {
            Err(BackendError::Validation { during, detail }) => {
                assert_eq!(during, "the test");
                assert!(!detail.is_empty() && !detail.contains('\n'), "{detail}");
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        // Caught by the scope, so not reported again.
        assert!(gpu.check_alive().is_ok());
        // A clean scope is Ok.
        assert!(pollster::block_on(gpu.error_scope("nothing").finish()).is_ok());
    }

    #[test]
    fn an_error_outside_a_scope_is_recorded_and_reported_once() {
        let gpu = Gpu::new_blocking(Overrides::NONE).unwrap();
        let _bad = invalid_buffer(&gpu);
        assert!(matches!(gpu.check_alive(), Err(BackendError::Validation { .. })));
        assert!(gpu.check_alive().is_ok());
    }

    #[test]
    fn a_destroyed_device_is_lost() {
        let gpu = Gpu::new_blocking(Overrides::NONE).unwrap();
        assert!(!gpu.is_lost());
        let scope = gpu.error_scope("the test");
        gpu.device.destroy();
        // Natively the lost callback runs when the device is maintained.
        let _ = gpu.device.poll(wgpu::PollType::wait_indefinitely());
        assert!(gpu.is_lost());
        assert!(matches!(gpu.check_alive(), Err(BackendError::DeviceLost(_))));
        assert!(matches!(pollster::block_on(scope.finish()), Err(BackendError::DeviceLost(_))));
    }
}
