//! Compute pipelines, compiled once per (kernel, variant, entry point) and cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::context::Gpu;
use crate::shader::{preprocess, Variant};

/// A WGSL source file from `shaders/`, one per op family.
#[derive(Clone, Copy, Debug)]
pub struct Kernel {
    pub name: &'static str,
    pub source: &'static str,
}

#[macro_export]
macro_rules! kernel {
    ($name:literal) => {
        $crate::pipeline::Kernel {
            name: $name,
            source: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shaders/", $name, ".wgsl")),
        }
    };
}

/// A compiled compute pipeline and the name profiles and errors know it by
/// (`kernel:entry:variant`).
#[derive(Debug)]
pub struct Pipeline {
    pub name: String,
    pub compute: wgpu::ComputePipeline,
}

#[derive(Default)]
pub struct PipelineCache {
    map: Mutex<HashMap<String, Arc<Pipeline>>>,
}

impl PipelineCache {
    pub fn len(&self) -> usize {
        self.map.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Gpu {
    /// The pipeline for `entry` of `kernel` compiled as `variant`, compiled on first use.
    pub fn pipeline(&self, kernel: &Kernel, entry: &str, variant: &Variant) -> Arc<Pipeline> {
        let key = format!("{}:{}:{}", kernel.name, entry, variant.key());
        if let Some(p) = self.pipelines.map.lock().unwrap().get(&key) {
            return p.clone();
        }
        let source = preprocess(kernel.source, variant, self.target);
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(&key),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let compute = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&key),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        let pipeline = Arc::new(Pipeline { name: key.clone(), compute });
        self.pipelines.map.lock().unwrap().insert(key, pipeline.clone());
        pipeline
    }

    pub fn pipeline_count(&self) -> usize {
        self.pipelines.len()
    }

    /// The variant flags every kernel gets from the device: element type and subgroups.
    pub fn base_variant(&self, f16: bool) -> Variant {
        assert!(!f16 || self.caps.f16, "f16 kernel requested on a device without shader-f16");
        Variant::new().flag("F16", f16).flag("SUBGROUPS", self.caps.subgroups)
    }
}
