//! A tensor is a shape, a dtype and a view into storage on one backend: a GPU buffer (at a byte
//! offset aligned to 256, so any tensor can be bound directly: WebGPU's
//! minStorageBufferOffsetAlignment) or CPU memory. Clones share the storage, and writes into it
//! (a KV cache append, a copy into a larger tensor) are seen by every clone, on both backends.

use std::sync::Arc;

use crate::cpu::CpuBuffer;
use crate::dtype::DType;
use crate::error::{BackendError, Result};
use crate::pool::GpuBuffer;

pub const OFFSET_ALIGN: u64 = 256;

/// Where a tensor's bytes live.
#[derive(Clone)]
pub enum Storage {
    Gpu(Arc<GpuBuffer>),
    Cpu(Arc<CpuBuffer>),
}

#[derive(Clone)]
pub struct Tensor {
    pub(crate) storage: Storage,
    pub(crate) offset: u64,
    pub shape: Vec<usize>,
    pub dtype: DType,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let on = if self.is_cpu() { "cpu" } else { "gpu" };
        write!(f, "Tensor({:?}, {:?}, {on}+{})", self.shape, self.dtype, self.offset)
    }
}

impl Tensor {
    pub fn new(buf: Arc<GpuBuffer>, offset: u64, shape: Vec<usize>, dtype: DType) -> Tensor {
        assert!(offset % OFFSET_ALIGN == 0, "tensor offsets must be 256-byte aligned");
        let size = buf.size();
        let t = Tensor { storage: Storage::Gpu(buf), offset, shape, dtype };
        assert!(t.offset + t.byte_len() <= size, "tensor {t:?} overruns its buffer");
        t
    }

    /// A tensor over CPU memory that holds at least its bytes.
    pub(crate) fn on_cpu(buf: Arc<CpuBuffer>, shape: Vec<usize>, dtype: DType) -> Tensor {
        let t = Tensor { storage: Storage::Cpu(buf), offset: 0, shape, dtype };
        assert!(t.byte_len() <= t.cpu_buffer_unchecked().byte_len(), "tensor {t:?} overruns its memory");
        t
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Bytes the data occupies (for quantized tensors: values, padding and scales).
    pub fn byte_len(&self) -> u64 {
        byte_len(&self.shape, self.dtype)
    }

    pub fn is_cpu(&self) -> bool {
        matches!(self.storage, Storage::Cpu(_))
    }

    fn gpu_buffer(&self) -> &GpuBuffer {
        match &self.storage {
            Storage::Gpu(b) => b,
            // The launchers check every operand's backend first (`ops::float_dtype`,
            // `ops::same_backend`), so reaching this is a bug in a launcher, not bad input.
            Storage::Cpu(_) => panic!("{self:?} is in CPU memory but was bound to a GPU dispatch"),
        }
    }

    fn cpu_buffer_unchecked(&self) -> &Arc<CpuBuffer> {
        match &self.storage {
            Storage::Cpu(b) => b,
            Storage::Gpu(_) => panic!("{self:?} is on the GPU but was read as CPU memory"),
        }
    }

    /// The CPU memory behind this tensor, or an error naming `op` when it is on the GPU.
    pub(crate) fn cpu_buffer(&self, op: &'static str) -> Result<&Arc<CpuBuffer>> {
        match &self.storage {
            Storage::Cpu(b) => Ok(b),
            Storage::Gpu(_) => Err(BackendError::WrongBackend { op, detail: format!("{:?} is on the GPU, the work on the CPU", self.shape) }),
        }
    }

    /// Whether two tensors share storage (a write to one is seen by the other).
    pub(crate) fn shares_storage(&self, other: &Tensor) -> bool {
        match (&self.storage, &other.storage) {
            (Storage::Gpu(a), Storage::Gpu(b)) => Arc::ptr_eq(a, b),
            (Storage::Cpu(a), Storage::Cpu(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.gpu_buffer().buffer
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes of the binding this tensor occupies (rounded up to 4 as WGSL arrays need).
    pub fn binding_size(&self) -> u64 {
        self.byte_len().max(4).next_multiple_of(4)
    }

    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.gpu_buffer().buffer,
            offset: self.offset,
            size: wgpu::BufferSize::new(self.binding_size()),
        })
    }

    /// Same data, another shape with the same element count (no copy).
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        assert_eq!(shape.iter().product::<usize>(), self.numel(), "reshape {:?} -> {shape:?}", self.shape);
        Tensor { shape: shape.to_vec(), ..self.clone() }
    }

    pub fn dims2(&self) -> (usize, usize) {
        let n = self.shape.len();
        let cols = *self.shape.last().unwrap_or(&1);
        let rows = if n == 0 { 1 } else { self.shape[..n - 1].iter().product() };
        (rows, cols)
    }
}

pub use visionllm_core::byte_len;
