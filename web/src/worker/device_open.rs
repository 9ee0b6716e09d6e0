//! Opening the worker's device: WebGPU when the choice and the adapter call for it
//! (`backend_choice::decide`), else the CPU backend, which every browser with WebAssembly SIMD has.
//! The CPU backend is single-threaded here: a threaded build needs wasm atomics, which the pinned
//! stable toolchain's std is not compiled with (ARCHITECTURE.md "Backends").

use std::sync::Arc;

use visionllm_gpu::{Device, Gpu, Overrides};
use wasm_bindgen::JsCast;

use crate::backend_choice::{decide, BackendChoice, Compute, GpuFound};
use crate::messages::CapabilityReport;

/// `navigator.gpu` exists in this worker.
fn has_webgpu_api() -> bool {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    js_sys::Reflect::get(&scope.navigator(), &"gpu".into()).map(|g| !g.is_undefined()).unwrap_or(false)
}

/// The device for `stored` (the page's remembered choice; `backend=` in `overrides` wins) and what
/// the capability panel shows about it.
pub async fn open(stored: BackendChoice, overrides: &str) -> (Device, CapabilityReport) {
    let choice = BackendChoice::from_query(overrides).unwrap_or(stored);
    let (found, gpu) = match choice {
        BackendChoice::Cpu => (GpuFound::NotAsked, None),
        _ if !has_webgpu_api() => (GpuFound::NoApi, None),
        _ => match Gpu::new(Overrides::from_query(overrides)).await {
            Ok(gpu) => (GpuFound::Adapter { name: gpu.caps.adapter.name.clone(), software: gpu.caps.adapter.is_software }, Some(gpu)),
            Err(e) => (GpuFound::Failed(e.to_string()), None),
        },
    };
    let (compute, why) = decide(choice, &found);
    match (compute, gpu) {
        (Compute::WebGpu, Some(gpu)) => {
            let caps = gpu_report(&gpu, choice, why);
            (Device::Gpu(gpu), caps)
        }
        // A software adapter passed over is dropped here: its device is released.
        (_, passed_over) => {
            let device = Device::cpu();
            let caps = cpu_report(&device, choice, why, passed_over.as_ref());
            (device, caps)
        }
    }
}

pub fn gpu_report(gpu: &Gpu, choice: BackendChoice, why: String) -> CapabilityReport {
    let c = &gpu.caps;
    CapabilityReport {
        compute: Compute::WebGpu,
        choice,
        why,
        threads: 0,
        unused_adapter: None,
        // Browsers may hide the adapter's name (wgpu's web backend reports it empty).
        adapter: if c.adapter.name.trim().is_empty() { "WebGPU adapter (name not disclosed)".into() } else { c.adapter.name.clone() },
        backend: c.adapter.backend.clone(),
        device_type: c.adapter.device_type.clone(),
        driver: c.adapter.driver.clone(),
        fallback: c.adapter.is_software,
        f16: c.f16,
        f16_offered: c.adapter_f16,
        subgroups: c.subgroups,
        max_buffer_mib: c.limits.max_buffer_size >> 20,
        max_binding_mib: (c.limits.max_storage_buffer_binding_size as u64) >> 20,
        max_workgroup_storage_kib: (c.limits.max_compute_workgroup_storage_size as u64) >> 10,
        summary: c.describe(),
    }
}

fn cpu_report(device: &Device, choice: BackendChoice, why: String, passed_over: Option<&Arc<Gpu>>) -> CapabilityReport {
    let threads = match device {
        Device::Cpu(cpu) => cpu.threads(),
        Device::Gpu(_) => 1,
    };
    let adapter = format!("CPU: WebAssembly SIMD, {threads} thread{}", if threads == 1 { "" } else { "s" });
    CapabilityReport {
        compute: Compute::Cpu,
        choice,
        why,
        threads,
        summary: format!("{adapter}{}", passed_over.map(|g| format!("; WebGPU adapter not used: {}", g.caps.describe())).unwrap_or_default()),
        unused_adapter: passed_over.map(|g| g.caps.describe()),
        adapter,
        backend: "wasm32 simd128".into(),
        device_type: "cpu".into(),
        // wasm32 addresses 4 GiB; the CPU backend's tensors are plain memory, no binding limit.
        max_buffer_mib: 4096,
        ..CapabilityReport::default()
    }
}
