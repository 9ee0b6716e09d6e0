//! Reuse of GPU allocations. Activations come and go thousands of times per image; creating a
//! buffer each time is slow in browsers, so released buffers wait in size classes for reuse.
//!
//! Safety of reuse: every use of a buffer is recorded in queue order (uploads during a recording go
//! through the encoder, see `Recorder::upload`), so a buffer released in the middle of a recording
//! and handed to a later op is only touched after the earlier ops finished with it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use crate::bind_cache::BindCache;

pub const STORAGE_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// A GPU buffer that returns to its pool when the last tensor using it is dropped.
pub struct GpuBuffer {
    pub buffer: wgpu::Buffer,
    pool: Option<Weak<BufferPool>>,
    /// For persistent buffers: the bind-group cache to purge of this buffer when it is freed.
    cache: Option<Weak<BindCache>>,
}

impl GpuBuffer {
    pub fn size(&self) -> u64 {
        self.buffer.size()
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take().and_then(|p| p.upgrade()) {
            pool.give_back(self.buffer.clone());
        } else if let Some(cache) = self.cache.take().and_then(|c| c.upgrade()) {
            cache.evict_buffer(&self.buffer);
        }
    }
}

#[derive(Default)]
pub struct BufferPool {
    free: Mutex<HashMap<u64, Vec<wgpu::Buffer>>>,
    stats: Mutex<PoolStats>,
}

/// Counters for tests and the memory readout.
#[derive(Clone, Copy, Debug, Default)]
pub struct PoolStats {
    pub created: u64,
    pub reused: u64,
    pub bytes_created: u64,
}

impl BufferPool {
    /// A storage buffer of at least `size` bytes, reused when one of its size class is free.
    pub fn take(self: &Arc<Self>, device: &wgpu::Device, size: u64) -> Arc<GpuBuffer> {
        let class = size_class(size);
        let reused = self.free.lock().unwrap().get_mut(&class).and_then(Vec::pop);
        let mut stats = self.stats.lock().unwrap();
        let buffer = match reused {
            Some(b) => {
                stats.reused += 1;
                b
            }
            None => {
                stats.created += 1;
                stats.bytes_created += class;
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("pooled"),
                    size: class,
                    usage: STORAGE_USAGE,
                    mapped_at_creation: false,
                })
            }
        };
        Arc::new(GpuBuffer { buffer, pool: Some(Arc::downgrade(self)), cache: None })
    }

    /// A buffer of exactly `size` bytes that is never pooled (weights live as long as the model);
    /// when freed it leaves `cache`.
    pub fn persistent(device: &wgpu::Device, size: u64, label: &str, cache: Weak<BindCache>) -> Arc<GpuBuffer> {
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(4).next_multiple_of(4),
            usage: STORAGE_USAGE,
            mapped_at_creation: false,
        });
        Arc::new(GpuBuffer { buffer, pool: None, cache: Some(cache) })
    }

    fn give_back(&self, buffer: wgpu::Buffer) {
        self.free.lock().unwrap().entry(buffer.size()).or_default().push(buffer);
    }

    pub fn stats(&self) -> PoolStats {
        *self.stats.lock().unwrap()
    }

    /// Free every idle buffer (e.g. after a model is unloaded).
    pub fn trim(&self) {
        self.free.lock().unwrap().clear();
    }
}

/// Size classes: multiples of 256 bytes below 4 KiB, then eight steps per power of two, so at most
/// 12.5% of a buffer is wasted while similar sizes still share buffers.
pub fn size_class(size: u64) -> u64 {
    let size = size.max(256);
    if size <= 4096 {
        return size.next_multiple_of(256);
    }
    let pow = 63 - size.leading_zeros() as u64; // 2^pow <= size
    let step = 1u64 << (pow - 3);
    size.next_multiple_of(step)
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn size_classes_cover_and_bound_waste() {
        for size in [1u64, 255, 256, 257, 4095, 4096, 4097, 10_000, 1 << 20, (1 << 20) + 1, 123_456_789] {
            let c = size_class(size);
            assert!(c >= size, "{size} -> {c}");
            assert!(c % 256 == 0 || c < 256, "{size} -> {c}");
            assert!(size < 256 || (c - size) as f64 <= size as f64 * 0.125 + 256.0, "{size} -> {c}");
        }
    }
}
