//! Command recording: a whole forward pass goes into one encoder and is submitted once.
//!
//! Kernel parameters are small uniform blocks; instead of one buffer each, they are packed into
//! 64 KiB arenas at 256-byte offsets and written by `queue.write_buffer` just before the submit
//! (such writes are ordered before the command buffer that follows them).

use std::sync::Arc;

use wgpu::util::DeviceExt;

use crate::context::Gpu;
use crate::dtype::DType;
use crate::error::Result;
use crate::readback::Staged;
use crate::tensor::{byte_len, Tensor};

const ARENA_BYTES: u64 = 64 * 1024;
const UNIFORM_ALIGN: u64 = 256;

struct Arena {
    buffer: wgpu::Buffer,
    data: Vec<u8>,
}

pub struct Recorder<'g> {
    pub gpu: &'g Gpu,
    encoder: wgpu::CommandEncoder,
    arenas: Vec<Arena>,
    dispatches: usize,
}

impl<'g> Recorder<'g> {
    pub fn new(gpu: &'g Gpu) -> Self {
        let encoder = gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("forward") });
        Recorder { gpu, encoder, arenas: Vec::new(), dispatches: 0 }
    }

    /// An uninitialised tensor from the buffer pool.
    pub fn alloc(&mut self, shape: &[usize], dtype: DType) -> Tensor {
        let bytes = byte_len(shape, dtype).max(4);
        let buf = self.gpu.pool.take(&self.gpu.device, bytes);
        Tensor::new(buf, 0, shape.to_vec(), dtype)
    }

    /// A zero-filled tensor (the clear is recorded, so it is ordered with everything else).
    pub fn zeros(&mut self, shape: &[usize], dtype: DType) -> Tensor {
        let t = self.alloc(shape, dtype);
        self.encoder.clear_buffer(t.buffer(), t.offset(), Some(t.byte_len().max(4).next_multiple_of(4)));
        t
    }

    /// Upload bytes into a pooled tensor through a staging copy recorded in this encoder.
    pub fn upload_bytes(&mut self, shape: &[usize], dtype: DType, bytes: &[u8]) -> Tensor {
        assert_eq!(bytes.len() as u64, byte_len(shape, dtype), "upload of {shape:?} {dtype:?}");
        let t = self.alloc(shape, dtype);
        let padded = bytes.len().max(4).next_multiple_of(4);
        let mut data = bytes.to_vec();
        data.resize(padded, 0);
        let staging = self.gpu.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("upload"),
            contents: &data,
            usage: wgpu::BufferUsages::COPY_SRC,
        });
        self.encoder.copy_buffer_to_buffer(&staging, 0, t.buffer(), t.offset(), padded as u64);
        t
    }

    pub fn upload_f32(&mut self, shape: &[usize], data: &[f32]) -> Tensor {
        self.upload_bytes(shape, DType::F32, bytemuck::cast_slice(data))
    }

    pub fn upload_u32(&mut self, shape: &[usize], data: &[u32]) -> Tensor {
        self.upload_bytes(shape, DType::U32, bytemuck::cast_slice(data))
    }

    /// Upload f32 values as `dtype` (F32 or F16), converting on the CPU.
    pub fn upload_as(&mut self, shape: &[usize], data: &[f32], dtype: DType) -> Tensor {
        match dtype {
            DType::F32 => self.upload_f32(shape, data),
            DType::F16 => {
                let h: Vec<half::f16> = data.iter().map(|&v| half::f16::from_f32(v)).collect();
                self.upload_bytes(shape, DType::F16, bytemuck::cast_slice(&h))
            }
            other => panic!("upload_as: {other:?} needs the quantizer"),
        }
    }

    /// Copy a whole tensor into a region of another (same dtype), e.g. to append to a KV cache.
    pub fn copy_into(&mut self, src: &Tensor, dst: &Tensor, dst_byte_offset: u64) {
        let len = src.byte_len();
        assert!(dst_byte_offset + len <= dst.byte_len(), "copy_into overruns destination");
        assert!(len % 4 == 0 && dst_byte_offset % 4 == 0, "copies move whole words");
        self.encoder.copy_buffer_to_buffer(src.buffer(), src.offset(), dst.buffer(), dst.offset() + dst_byte_offset, len);
    }

    /// Record one compute dispatch. Binding 0 is the uniform `params` (padded to 16 bytes) when
    /// non-empty; tensors follow at bindings 1.. (or 0.. without params), in order.
    pub fn dispatch(&mut self, pipeline: &Arc<wgpu::ComputePipeline>, params: &[u32], tensors: &[&Tensor], groups: [u32; 3]) {
        let layout = pipeline.get_bind_group_layout(0);
        let uniform = (!params.is_empty()).then(|| self.push_params(params));
        let mut entries = Vec::with_capacity(tensors.len() + 1);
        if let Some((arena, offset, size)) = &uniform {
            entries.push(wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &self.arenas[*arena].buffer,
                    offset: *offset,
                    size: wgpu::BufferSize::new(*size),
                }),
            });
        }
        let first = uniform.is_some() as u32;
        for (i, t) in tensors.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry { binding: first + i as u32, resource: t.binding() });
        }
        let bind_group = self.gpu.device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &layout, entries: &entries });
        let mut pass = self.encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        drop(pass);
        self.dispatches += 1;
    }

    fn push_params(&mut self, params: &[u32]) -> (usize, u64, u64) {
        let mut bytes: Vec<u8> = bytemuck::cast_slice(params).to_vec();
        bytes.resize(bytes.len().next_multiple_of(16), 0);
        let need = bytes.len() as u64;
        let fits = |a: &Arena| (a.data.len() as u64).next_multiple_of(UNIFORM_ALIGN) + need <= ARENA_BYTES;
        if !self.arenas.last().is_some_and(fits) {
            let buffer = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("params"),
                size: ARENA_BYTES,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            self.arenas.push(Arena { buffer, data: Vec::new() });
        }
        let idx = self.arenas.len() - 1;
        let arena = &mut self.arenas[idx];
        let offset = (arena.data.len() as u64).next_multiple_of(UNIFORM_ALIGN);
        arena.data.resize(offset as usize, 0);
        arena.data.extend_from_slice(&bytes);
        (idx, offset, need)
    }

    /// Copy `t` into a mappable buffer at this point of the recording; read it after `submit`.
    pub fn stage_read(&mut self, t: &Tensor) -> Staged {
        let len = t.byte_len().max(4).next_multiple_of(4);
        let buffer = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: len,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.encoder.copy_buffer_to_buffer(t.buffer(), t.offset(), &buffer, 0, len);
        Staged { buffer, dtype: t.dtype, numel: t.numel() }
    }

    pub fn dispatch_count(&self) -> usize {
        self.dispatches
    }

    /// Write the parameter arenas and submit everything recorded, once.
    pub fn submit(self) -> wgpu::SubmissionIndex {
        for a in &self.arenas {
            self.gpu.queue.write_buffer(&a.buffer, 0, &a.data);
        }
        self.gpu.queue.submit([self.encoder.finish()])
    }
}

/// Spread `n` workgroups over x and y (each dimension is limited to 65535); kernels rebuild the
/// linear index as `wid.x + wid.y * nwg.x` and skip indices >= n.
pub fn grid(n: u32) -> [u32; 3] {
    const MAX: u32 = 65535;
    if n <= MAX {
        [n.max(1), 1, 1]
    } else {
        let y = n.div_ceil(MAX);
        [n.div_ceil(y), y, 1]
    }
}

/// Record, submit and read back one tensor: the convenience used by tests and the CLI.
pub async fn run_and_read(gpu: &Gpu, f: impl FnOnce(&mut Recorder) -> Result<Tensor>) -> Result<Vec<f32>> {
    let mut rec = Recorder::new(gpu);
    let out = f(&mut rec)?;
    let staged = rec.stage_read(&out);
    rec.submit();
    staged.read_f32(gpu).await
}
