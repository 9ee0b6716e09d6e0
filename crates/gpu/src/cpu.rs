//! The CPU backend's device and memory. Kernels are `visionllm-cpu`'s (fast, on slices); this
//! is what the launchers need around them: tensors in CPU memory, shared by clones and written in
//! place like GPU buffers (a KV cache append is seen by every clone), and the thread count.
//!
//! Memory is `Vec<u32>` words behind a lock: every dtype's data is a whole number of words once
//! padded (f16 tails, quantized blocks), words are aligned for f32/u32/f16 views, and the lock
//! lets a launcher read its inputs while it writes an output that other clones can see. Work runs
//! eagerly when a launcher is called: a recording on the CPU backend is a list of done things.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::dtype::DType;
use crate::error::Result;
use crate::tensor::Tensor;

/// The CPU backend: how many threads its kernels use, and how much tensor memory is in use.
#[derive(Debug)]
pub struct Cpu {
    threads: usize,
    memory: Arc<MemoryCounter>,
}

/// Bytes of CPU tensors alive now and at most (weights and activations; the report's peak).
#[derive(Debug, Default)]
pub struct MemoryCounter {
    live: AtomicU64,
    peak: AtomicU64,
}

impl MemoryCounter {
    fn add(&self, bytes: u64) {
        let live = self.live.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.peak.fetch_max(live, Ordering::Relaxed);
    }

    fn sub(&self, bytes: u64) {
        self.live.fetch_sub(bytes, Ordering::Relaxed);
    }

    pub fn live(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Cpu {
    /// The kernels use the global thread pool (`visionllm_cpu::par`); `threads` is what it was
    /// given, for reports.
    pub fn new() -> Arc<Cpu> {
        Arc::new(Cpu { threads: visionllm_cpu::par::threads(), memory: Arc::default() })
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn memory(&self) -> &MemoryCounter {
        &self.memory
    }

    /// A zero-filled tensor.
    pub fn zeros(&self, shape: &[usize], dtype: DType) -> Tensor {
        let words = (crate::tensor::byte_len(shape, dtype) as usize).div_ceil(4);
        self.from_words(shape, dtype, vec![0u32; words])
    }

    /// A tensor over `words` (at least the tensor's bytes, padded to words).
    pub fn from_words(&self, shape: &[usize], dtype: DType, words: Vec<u32>) -> Tensor {
        Tensor::on_cpu(Arc::new(CpuBuffer::new(words, self.memory.clone())), shape.to_vec(), dtype)
    }

    pub fn from_f32(&self, shape: &[usize], values: Vec<f32>) -> Tensor {
        self.from_words(shape, DType::F32, bytemuck::cast_vec(values))
    }

    pub fn from_u32(&self, shape: &[usize], values: Vec<u32>) -> Tensor {
        self.from_words(shape, DType::U32, values)
    }

    /// A tensor holding a copy of `bytes` (its exact byte length for shape and dtype).
    pub fn from_bytes(&self, shape: &[usize], dtype: DType, bytes: &[u8]) -> Tensor {
        assert_eq!(bytes.len() as u64, crate::tensor::byte_len(shape, dtype), "{shape:?} {dtype:?}");
        let mut words = vec![0u32; bytes.len().div_ceil(4)];
        bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        self.from_words(shape, dtype, words)
    }
}

/// CPU memory of one or more tensors (clones and reshapes share it).
pub struct CpuBuffer {
    words: RwLock<Vec<u32>>,
    bytes: u64,
    counter: Arc<MemoryCounter>,
}

impl std::fmt::Debug for CpuBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CpuBuffer({} bytes)", self.bytes)
    }
}

impl CpuBuffer {
    fn new(words: Vec<u32>, counter: Arc<MemoryCounter>) -> CpuBuffer {
        let bytes = words.len() as u64 * 4;
        counter.add(bytes);
        CpuBuffer { words: RwLock::new(words), bytes, counter }
    }

    pub fn byte_len(&self) -> u64 {
        self.bytes
    }

    /// A poisoned lock only means a kernel panicked while writing; the words are still words.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Vec<u32>> {
        self.words.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Vec<u32>> {
        self.words.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for CpuBuffer {
    fn drop(&mut self) {
        self.counter.sub(self.bytes);
    }
}

/// A read view of one tensor's elements.
pub(crate) struct CpuRead<'a> {
    guard: RwLockReadGuard<'a, Vec<u32>>,
    numel: usize,
    words: usize,
}

impl CpuRead<'_> {
    pub fn f32(&self) -> &[f32] {
        &bytemuck::cast_slice(&self.guard[..])[..self.numel]
    }

    pub fn u32(&self) -> &[u32] {
        &self.guard[..self.numel]
    }

    /// The packed words of a quantized tensor (values, then scales).
    pub fn words(&self) -> &[u32] {
        &self.guard[..self.words]
    }
}

impl Tensor {
    /// Read access to a CPU tensor's elements (an error naming `op` for a GPU tensor).
    pub(crate) fn cpu_read(&self, op: &'static str) -> Result<CpuRead<'_>> {
        let buf = self.cpu_buffer(op)?;
        Ok(CpuRead { guard: buf.read(), numel: self.numel(), words: (self.byte_len() as usize).div_ceil(4) })
    }

    /// Read access to an input of an op that writes `out` in place: a copy when the input shares
    /// `out`'s memory (its read lock would wait forever on `out`'s write lock), else a read lock.
    pub(crate) fn cpu_input(&self, op: &'static str, out: &Tensor) -> Result<CpuInput<'_>> {
        let read = self.cpu_read(op)?;
        Ok(match self.shares_storage(out) {
            true => CpuInput::Copied { words: read.words().to_vec(), numel: read.numel },
            false => CpuInput::Locked(read),
        })
    }
}

/// An input of an in-place op (see [`Tensor::cpu_input`]).
pub(crate) enum CpuInput<'a> {
    Locked(CpuRead<'a>),
    Copied { words: Vec<u32>, numel: usize },
}

impl CpuInput<'_> {
    pub fn f32(&self) -> &[f32] {
        match self {
            CpuInput::Locked(r) => r.f32(),
            CpuInput::Copied { words, numel } => &bytemuck::cast_slice(words)[..*numel],
        }
    }

    pub fn words(&self) -> &[u32] {
        match self {
            CpuInput::Locked(r) => r.words(),
            CpuInput::Copied { words, .. } => words,
        }
    }
}

/// Size the CPU backend's thread pool (`--threads N`), before any model runs.
pub fn set_threads(n: usize) -> std::result::Result<(), String> {
    visionllm_cpu::par::set_threads(n)
}
