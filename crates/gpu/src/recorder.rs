//! Command recording: on the GPU a whole forward pass goes into one encoder and is submitted once
//! (on the CPU backend the launchers run as they are called and a recording only holds the device).
//! Consecutive dispatches share one compute pass (a pass per dispatch costs a begin/end and, in
//! browsers, validation each time; WebGPU orders storage writes between dispatches of a pass);
//! a copy, clear or readback ends the pass, the next dispatch opens another.
//! Kernel parameters and bind groups come from the device's cache (`bind_cache.rs`).

use std::sync::Arc;

use wgpu::util::DeviceExt;

use crate::context::Gpu;
use crate::cpu::Cpu;
use crate::device::Device;
use crate::dtype::DType;
use crate::error::Result;
use crate::pipeline::Pipeline;
use crate::readback::Staged;
use crate::tensor::{byte_len, Tensor};

/// A recording on one backend. On the GPU: one command encoder, submitted once. On the CPU the
/// launchers run their kernels when called, so there is nothing to record and `submit` only ends it.
pub struct Recorder<'g> {
    device: &'g Device,
    gpu: Option<GpuRecording<'g>>,
    dispatches: usize,
}

struct GpuRecording<'g> {
    gpu: &'g Gpu,
    /// The open compute pass, if the last command was a dispatch. It locks `encoder` until
    /// dropped (declared first, so it is also dropped first).
    pass: Option<wgpu::ComputePass<'static>>,
    encoder: wgpu::CommandEncoder,
}

impl GpuRecording<'_> {
    /// The encoder for a copy or clear: the open pass (if any) ends first.
    fn encoder(&mut self) -> &mut wgpu::CommandEncoder {
        self.pass = None;
        &mut self.encoder
    }
}

fn new_encoder(gpu: &Gpu) -> wgpu::CommandEncoder {
    gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("forward") })
}

impl<'g> Recorder<'g> {
    pub fn new(device: &'g Device) -> Self {
        let gpu = device.gpu().map(|gpu| GpuRecording { gpu, pass: None, encoder: new_encoder(gpu) });
        Recorder { device, gpu, dispatches: 0 }
    }

    pub fn device(&self) -> &'g Device {
        self.device
    }

    /// The CPU backend, when this recording runs on it (every launcher asks first).
    pub fn cpu(&self) -> Option<&'g Cpu> {
        match self.device {
            Device::Cpu(c) => Some(c),
            Device::Gpu(_) => None,
        }
    }

    /// The GPU of a GPU recording. Launchers call it only after their CPU branch, so on the CPU
    /// backend it is never reached (a panic here is a launcher without a CPU branch).
    pub fn gpu(&self) -> &'g Gpu {
        match &self.gpu {
            Some(r) => r.gpu,
            None => panic!("a GPU kernel was recorded on the CPU backend (a launcher lacks its CPU branch)"),
        }
    }

    fn recording(&mut self) -> &mut GpuRecording<'g> {
        match &mut self.gpu {
            Some(r) => r,
            None => panic!("a GPU command was recorded on the CPU backend (a launcher lacks its CPU branch)"),
        }
    }

    /// An uninitialised tensor from the buffer pool (zero-filled on the CPU).
    pub fn alloc(&mut self, shape: &[usize], dtype: DType) -> Tensor {
        if let Some(cpu) = self.cpu() {
            return cpu.zeros(shape, dtype);
        }
        let gpu = self.gpu();
        let bytes = byte_len(shape, dtype).max(4);
        let buf = gpu.pool.take(&gpu.device, bytes);
        Tensor::new(buf, 0, shape.to_vec(), dtype)
    }

    /// A zero-filled tensor (the clear is recorded, so it is ordered with everything else).
    pub fn zeros(&mut self, shape: &[usize], dtype: DType) -> Tensor {
        let t = self.alloc(shape, dtype);
        if self.cpu().is_none() {
            let len = t.byte_len().max(4).next_multiple_of(4);
            self.recording().encoder().clear_buffer(t.buffer(), t.offset(), Some(len));
        }
        t
    }

    /// Upload bytes into a pooled tensor through a staging copy recorded in this encoder.
    pub fn upload_bytes(&mut self, shape: &[usize], dtype: DType, bytes: &[u8]) -> Tensor {
        assert_eq!(bytes.len() as u64, byte_len(shape, dtype), "upload of {shape:?} {dtype:?}");
        if let Some(cpu) = self.cpu() {
            return cpu.from_bytes(shape, dtype, bytes);
        }
        let t = self.alloc(shape, dtype);
        let padded = bytes.len().max(4).next_multiple_of(4);
        let mut data = bytes.to_vec();
        data.resize(padded, 0);
        let rec = self.recording();
        let staging = rec.gpu.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("upload"),
            contents: &data,
            usage: wgpu::BufferUsages::COPY_SRC,
        });
        rec.encoder().copy_buffer_to_buffer(&staging, 0, t.buffer(), t.offset(), padded as u64);
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
    pub fn copy_into(&mut self, src: &Tensor, dst: &Tensor, dst_byte_offset: u64) -> Result<()> {
        let len = src.byte_len();
        assert!(dst_byte_offset + len <= dst.byte_len(), "copy_into overruns destination");
        assert!(len % 4 == 0 && dst_byte_offset % 4 == 0, "copies move whole words");
        if self.cpu().is_some() {
            let (at, words) = ((dst_byte_offset / 4) as usize, (len / 4) as usize);
            let src = src.cpu_input("copy_into", dst)?;
            dst.cpu_buffer("copy_into")?.write()[at..at + words].copy_from_slice(&src.words()[..words]);
            return Ok(());
        }
        self.recording().encoder().copy_buffer_to_buffer(src.buffer(), src.offset(), dst.buffer(), dst.offset() + dst_byte_offset, len);
        Ok(())
    }

    /// Record one compute dispatch. Binding 0 is the uniform `params` when non-empty; tensors
    /// follow at bindings 1.. (or 0.. without params), in order. Parameter buffers and bind
    /// groups come from the device's cache (`bind_cache.rs`).
    pub fn dispatch(&mut self, pipeline: &Arc<Pipeline>, params: &[u32], tensors: &[&Tensor], groups: [u32; 3]) {
        let gpu = self.gpu();
        let binds = &gpu.binds;
        let uniform = (!params.is_empty()).then(|| binds.params(&gpu.device, params));
        let bind_group = binds.bind_group(&gpu.device, &pipeline.compute, uniform.as_ref(), tensors);
        let profiling = gpu.profiler.enabled();
        if profiling {
            // What was recorded before is not this kernel's: run it first, untimed.
            self.flush_and_wait();
        }
        let rec = self.recording();
        let pass = rec.pass.get_or_insert_with(|| {
            rec.encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None }).forget_lifetime()
        });
        pass.set_pipeline(&pipeline.compute);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        self.dispatches += 1;
        gpu.profiler.count_dispatch();
        if profiling {
            let started = web_time::Instant::now();
            self.flush_and_wait();
            gpu.profiler.record(&pipeline.name, started.elapsed().as_secs_f64() * 1000.0);
        }
    }

    /// Profiling only: submit what is recorded, wait for it, and go on in a new encoder.
    fn flush_and_wait(&mut self) {
        let rec = self.recording();
        rec.pass = None;
        let encoder = std::mem::replace(&mut rec.encoder, new_encoder(rec.gpu));
        rec.gpu.queue.submit([encoder.finish()]);
        rec.gpu.profiler.count_submit();
        #[cfg(not(target_arch = "wasm32"))]
        let _ = rec.gpu.device.poll(wgpu::PollType::wait_indefinitely());
    }

    /// Copy `t` into a mappable buffer at this point of the recording; read it after `submit`
    /// (on the CPU: a copy of its bytes now).
    pub fn stage_read(&mut self, t: &Tensor) -> Result<Staged> {
        if self.cpu().is_some() {
            let bytes = bytemuck::cast_slice::<u32, u8>(t.cpu_read("stage_read")?.words())[..t.byte_len() as usize].to_vec();
            return Ok(Staged::on_cpu(bytes, t.dtype, t.numel()));
        }
        let len = t.byte_len().max(4).next_multiple_of(4);
        let rec = self.recording();
        let buffer = rec.gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: len,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        rec.encoder().copy_buffer_to_buffer(t.buffer(), t.offset(), &buffer, 0, len);
        Ok(Staged::on_gpu(buffer, t.dtype, t.numel()))
    }

    pub fn dispatch_count(&self) -> usize {
        self.dispatches
    }

    /// Submit everything recorded, once (on the CPU everything is already done).
    pub fn submit(mut self) {
        if let Some(mut rec) = self.gpu.take() {
            rec.pass = None;
            rec.gpu.profiler.count_submit();
            rec.gpu.queue.submit([rec.encoder.finish()]);
        }
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
pub async fn run_and_read(device: &Device, f: impl FnOnce(&mut Recorder) -> Result<Tensor>) -> Result<Vec<f32>> {
    let mut rec = Recorder::new(device);
    let out = f(&mut rec)?;
    let staged = rec.stage_read(&out)?;
    rec.submit();
    staged.read_f32(device).await
}
