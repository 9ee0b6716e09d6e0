//! Asynchronous readback that never blocks the browser's thread: `map_async` completes through a
//! channel; natively we poll the device, in wasm the browser's event loop drives the callback.
//! On the CPU backend the bytes were copied when the read was staged.

use crate::context::Gpu;
use crate::device::Device;
use crate::dtype::DType;
use crate::error::{BackendError, Result};

/// A copy of a tensor, recorded by `Recorder::stage_read`: a mappable GPU buffer, or bytes.
pub struct Staged {
    data: StagedData,
    dtype: DType,
    numel: usize,
}

enum StagedData {
    Gpu(wgpu::Buffer),
    Cpu(Vec<u8>),
}

impl Staged {
    pub(crate) fn on_gpu(buffer: wgpu::Buffer, dtype: DType, numel: usize) -> Staged {
        Staged { data: StagedData::Gpu(buffer), dtype, numel }
    }

    pub(crate) fn on_cpu(bytes: Vec<u8>, dtype: DType, numel: usize) -> Staged {
        Staged { data: StagedData::Cpu(bytes), dtype, numel }
    }

    async fn bytes(&self, device: &Device) -> Result<Vec<u8>> {
        match (&self.data, device) {
            (StagedData::Cpu(bytes), _) => Ok(bytes.clone()),
            (StagedData::Gpu(buffer), Device::Gpu(gpu)) => map_and_copy(buffer, gpu).await,
            (StagedData::Gpu(_), Device::Cpu(_)) => Err(BackendError::WrongBackend { op: "read", detail: "a GPU readback read on the CPU backend".into() }),
        }
    }

    /// Values as f32 (f16 tensors are widened).
    pub async fn read_f32(&self, device: &Device) -> Result<Vec<f32>> {
        let bytes = self.bytes(device).await?;
        Ok(match self.dtype {
            DType::F32 => bytemuck::pod_collect_to_vec::<u8, f32>(&bytes)[..self.numel].to_vec(),
            DType::F16 => bytes.chunks_exact(2).take(self.numel).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            DType::U32 => bytemuck::pod_collect_to_vec::<u8, u32>(&bytes)[..self.numel].iter().map(|&v| v as f32).collect(),
            q => return Err(BackendError::DType { op: "read_f32", dtype: q }),
        })
    }

    pub async fn read_u32(&self, device: &Device) -> Result<Vec<u32>> {
        if self.dtype != DType::U32 {
            return Err(BackendError::DType { op: "read_u32", dtype: self.dtype });
        }
        let bytes = self.bytes(device).await?;
        Ok(bytemuck::pod_collect_to_vec::<u8, u32>(&bytes)[..self.numel].to_vec())
    }
}

async fn map_and_copy(buffer: &wgpu::Buffer, gpu: &Gpu) -> Result<Vec<u8>> {
    let (tx, rx) = futures_channel::oneshot::channel();
    buffer.slice(..).map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    #[cfg(not(target_arch = "wasm32"))]
    gpu.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| BackendError::Readback(e.to_string()))?;
    #[cfg(target_arch = "wasm32")]
    let _ = gpu;
    rx.await
        .map_err(|_| BackendError::Readback("the device dropped the map request".into()))?
        .map_err(|e| BackendError::Readback(e.to_string()))?;
    let data = buffer.slice(..).get_mapped_range().map_err(|e| BackendError::Readback(e.to_string()))?.to_vec();
    buffer.unmap();
    Ok(data)
}
