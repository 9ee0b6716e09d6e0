//! Bind groups and kernel-parameter uniforms, reused across dispatches and recordings.
//!
//! Creating a bind group per dispatch is costly in browsers, and a decoder step repeats the same
//! kernels on the same weights, parameters and (thanks to the pool) the same activation buffers.
//! Parameters are content-addressed: each distinct parameter block gets one immutable uniform
//! buffer, so identical dispatches produce identical bind-group keys. Keys hold the buffers
//! themselves (wgpu buffers hash by identity); a bind group keeps its buffers alive, so entries are
//! evicted when a persistent buffer (a weight) is dropped and everything is cleared on `Gpu::trim`
//! or when a cache outgrows its bound.

use std::collections::HashMap;
use std::sync::Mutex;

use wgpu::util::DeviceExt;

use crate::tensor::Tensor;

const MAX_ENTRIES: usize = 4096;

#[derive(Clone, PartialEq, Eq, Hash)]
struct BindKey {
    pipeline: wgpu::ComputePipeline,
    uniform: Option<wgpu::Buffer>,
    entries: Vec<(wgpu::Buffer, u64, u64)>,
}

#[derive(Default)]
pub struct BindCache {
    params: Mutex<HashMap<Vec<u32>, wgpu::Buffer>>,
    groups: Mutex<HashMap<BindKey, wgpu::BindGroup>>,
    counts: Mutex<(u64, u64)>,
}

impl BindCache {
    /// The immutable uniform buffer holding `params` (padded to 16 bytes as WGSL requires).
    pub fn params(&self, device: &wgpu::Device, params: &[u32]) -> wgpu::Buffer {
        let mut map = self.params.lock().unwrap();
        if let Some(b) = map.get(params) {
            return b.clone();
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        let mut padded = params.to_vec();
        padded.resize(params.len().next_multiple_of(4), 0);
        let buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::cast_slice(&padded),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        map.insert(params.to_vec(), buffer.clone());
        buffer
    }

    /// The bind group for `pipeline` with binding 0 = `uniform` (when present) and the tensors
    /// at the following bindings, created on first use.
    pub fn bind_group(&self, device: &wgpu::Device, pipeline: &wgpu::ComputePipeline, uniform: Option<&wgpu::Buffer>, tensors: &[&Tensor]) -> wgpu::BindGroup {
        let key = BindKey {
            pipeline: pipeline.clone(),
            uniform: uniform.cloned(),
            entries: tensors.iter().map(|t| (t.buffer().clone(), t.offset(), t.binding_size())).collect(),
        };
        if let Some(g) = self.groups.lock().unwrap().get(&key) {
            self.counts.lock().unwrap().0 += 1;
            return g.clone();
        }
        let layout = pipeline.get_bind_group_layout(0);
        let mut entries = Vec::with_capacity(tensors.len() + 1);
        if let Some(u) = uniform {
            entries.push(wgpu::BindGroupEntry { binding: 0, resource: u.as_entire_binding() });
        }
        let first = uniform.is_some() as u32;
        for (i, t) in tensors.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry { binding: first + i as u32, resource: t.binding() });
        }
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &layout, entries: &entries });
        let mut groups = self.groups.lock().unwrap();
        if groups.len() >= MAX_ENTRIES {
            groups.clear();
        }
        groups.insert(key, group.clone());
        self.counts.lock().unwrap().1 += 1;
        group
    }

    /// Forget every bind group that uses `buffer` (it is being freed).
    pub fn evict_buffer(&self, buffer: &wgpu::Buffer) {
        self.groups.lock().unwrap().retain(|k, _| !k.entries.iter().any(|(b, _, _)| b == buffer));
    }

    pub fn clear(&self) {
        self.groups.lock().unwrap().clear();
        self.params.lock().unwrap().clear();
    }

    /// Number of cached bind groups.
    pub fn len(&self) -> usize {
        self.groups.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (hits, misses) of the bind-group cache.
    pub fn stats(&self) -> (u64, u64) {
        *self.counts.lock().unwrap()
    }
}
