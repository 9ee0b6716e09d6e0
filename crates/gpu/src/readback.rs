//! Asynchronous readback that never blocks the browser's thread: `map_async` completes through a
//! channel; natively we poll the device, in wasm the browser's event loop drives the callback.

use crate::context::Gpu;
use crate::dtype::DType;
use crate::error::{GpuError, Result};

/// A copy of a tensor in a mappable buffer, recorded by `Recorder::stage_read`.
pub struct Staged {
    pub(crate) buffer: wgpu::Buffer,
    pub(crate) dtype: DType,
    pub(crate) numel: usize,
}

impl Staged {
    async fn bytes(&self, gpu: &Gpu) -> Result<Vec<u8>> {
        let (tx, rx) = futures_channel::oneshot::channel();
        self.buffer.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        #[cfg(not(target_arch = "wasm32"))]
        gpu.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        #[cfg(target_arch = "wasm32")]
        let _ = gpu;
        rx.await
            .map_err(|_| GpuError::Readback("the device dropped the map request".into()))?
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let data = self.buffer.slice(..).get_mapped_range().map_err(|e| GpuError::Readback(e.to_string()))?.to_vec();
        self.buffer.unmap();
        Ok(data)
    }

    /// Values as f32 (f16 tensors are widened).
    pub async fn read_f32(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        let bytes = self.bytes(gpu).await?;
        Ok(match self.dtype {
            DType::F32 => bytemuck::pod_collect_to_vec::<u8, f32>(&bytes)[..self.numel].to_vec(),
            DType::F16 => bytes.chunks_exact(2).take(self.numel).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            DType::U32 => bytemuck::pod_collect_to_vec::<u8, u32>(&bytes)[..self.numel].iter().map(|&v| v as f32).collect(),
            q => return Err(GpuError::DType { op: "read_f32", dtype: q }),
        })
    }

    pub async fn read_u32(&self, gpu: &Gpu) -> Result<Vec<u32>> {
        if self.dtype != DType::U32 {
            return Err(GpuError::DType { op: "read_u32", dtype: self.dtype });
        }
        let bytes = self.bytes(gpu).await?;
        Ok(bytemuck::pod_collect_to_vec::<u8, u32>(&bytes)[..self.numel].to_vec())
    }
}
