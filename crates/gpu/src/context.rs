//! Device acquisition: pick an adapter, request only what it offers, record what was granted.

use std::sync::Arc;

use crate::bind_cache::BindCache;
use crate::caps::{AdapterSummary, Capabilities, Overrides};
use crate::error::{GpuError, Result};
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
    pub(crate) target: ShaderTarget,
    /// Set by the device-lost callback: why the device went away (driver reset, tab in background).
    lost: Arc<std::sync::Mutex<Option<String>>>,
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
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
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
            .map_err(|e| GpuError::DeviceRequest(e.to_string()))?;
        let caps = Capabilities {
            adapter: AdapterSummary {
                name: info.name.clone(),
                vendor: info.vendor,
                backend: format!("{:?}", info.backend),
                device_type: format!("{:?}", info.device_type),
                driver: format!("{} {}", info.driver, info.driver_info).trim().to_string(),
                is_software: info.device_type == wgpu::DeviceType::Cpu,
            },
            f16: features.contains(wgpu::Features::SHADER_F16),
            subgroups: features.contains(wgpu::Features::SUBGROUP),
            subgroup_min_size: info.subgroup_min_size,
            subgroup_max_size: info.subgroup_max_size,
            adapter_f16,
            adapter_subgroups,
            limits: device.limits(),
        };
        let lost = Arc::new(std::sync::Mutex::new(None));
        let lost_in_callback = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            *lost_in_callback.lock().unwrap() = Some(format!("{reason:?}: {message}"));
        });
        Ok(Arc::new(Gpu {
            device,
            queue,
            caps,
            pool: Arc::new(BufferPool::default()),
            pipelines: PipelineCache::default(),
            binds: Arc::new(BindCache::default()),
            target: ShaderTarget::current(),
            lost,
        }))
    }

    /// `Err(DeviceLost)` once the device is gone: callers stop and offer to start again.
    pub fn check_alive(&self) -> Result<()> {
        match self.lost.lock().unwrap().clone() {
            Some(why) => Err(GpuError::DeviceLost(why)),
            None => Ok(()),
        }
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
