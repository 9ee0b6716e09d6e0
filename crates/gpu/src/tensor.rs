//! A tensor is a view into a GPU buffer: shape, dtype, and a byte offset aligned to 256 so any
//! tensor can be bound directly (WebGPU's minStorageBufferOffsetAlignment).

use std::sync::Arc;

use crate::dtype::DType;
use crate::pool::GpuBuffer;
use crate::quant;

pub const OFFSET_ALIGN: u64 = 256;

#[derive(Clone)]
pub struct Tensor {
    pub(crate) buf: Arc<GpuBuffer>,
    pub(crate) offset: u64,
    pub shape: Vec<usize>,
    pub dtype: DType,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({:?}, {:?}, +{})", self.shape, self.dtype, self.offset)
    }
}

impl Tensor {
    pub fn new(buf: Arc<GpuBuffer>, offset: u64, shape: Vec<usize>, dtype: DType) -> Tensor {
        assert!(offset % OFFSET_ALIGN == 0, "tensor offsets must be 256-byte aligned");
        let t = Tensor { buf, offset, shape, dtype };
        assert!(t.offset + t.byte_len() <= t.buf.size(), "tensor {t:?} overruns its buffer");
        t
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Bytes the data occupies (for quantized tensors: values, padding and scales).
    pub fn byte_len(&self) -> u64 {
        byte_len(&self.shape, self.dtype)
    }

    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buf.buffer
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
            buffer: &self.buf.buffer,
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

/// Bytes needed by a tensor of this shape and dtype.
pub fn byte_len(shape: &[usize], dtype: DType) -> u64 {
    match dtype.size() {
        Some(s) => (shape.iter().product::<usize>() * s) as u64,
        None => {
            let (n, k) = match shape {
                [n, k] => (*n, *k),
                _ => panic!("quantized tensors are 2-D [N, K], got {shape:?}"),
            };
            quant::QuantLayout::new(dtype, n, k).total_bytes()
        }
    }
}
