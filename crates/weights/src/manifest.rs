//! `manifest.json` of a converted model directory (the quantized sharded format of issue 5).
//!
//! The manifest is the first (and only required) thing a loader reads: it names every shard with
//! its size and sha256, and every tensor with its shard, byte range, stored dtype and logical
//! shape. A browser can therefore fetch shards one by one (in any order, in parallel, with HTTP
//! caching per shard), verify each on arrival, and upload its tensors without parsing anything
//! else. Each shard is also a valid safetensors file, so ordinary tools can open it.
//!
//! Stored dtypes: `f32`, `f16` (safetensors F32/F16, logical shape as is) and `q8`, `q4`
//! (symmetric blockwise quantization of a matrix [N, K], one f16 scale per 32 values along K,
//! packed in u32 words exactly as `visionllm_gpu::quant` lays them out for the kernels; stored in
//! the shard as safetensors dtype U32 with shape `[words]`; the manifest keeps the logical shape
//! [N, K]). `offset` is the absolute byte offset of the tensor's data in the shard file, so a
//! reader can slice the bytes without the safetensors header.

use serde::{Deserialize, Serialize};
use visionllm_gpu::quant::QuantLayout;
use visionllm_gpu::DType;

pub const MANIFEST_FILE: &str = "manifest.json";
pub const FORMAT: &str = "visionllm-sharded";
pub const VERSION: u32 = 1;

/// How a tensor is stored in a shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Stored {
    F32,
    F16,
    Q8,
    Q4,
}

impl Stored {
    pub fn parse(s: &str) -> Option<Stored> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Some(Stored::F32),
            "f16" => Some(Stored::F16),
            "q8" => Some(Stored::Q8),
            "q4" => Some(Stored::Q4),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Stored::F32 => "f32",
            Stored::F16 => "f16",
            Stored::Q8 => "q8",
            Stored::Q4 => "q4",
        }
    }

    pub fn is_quantized(self) -> bool {
        matches!(self, Stored::Q8 | Stored::Q4)
    }

    /// The GPU dtype a quantized tensor uploads as.
    pub fn gpu_dtype(self) -> DType {
        match self {
            Stored::F32 => DType::F32,
            Stored::F16 => DType::F16,
            Stored::Q8 => DType::Q8,
            Stored::Q4 => DType::Q4,
        }
    }

    /// Bytes of a tensor of logical `shape` stored this way (quantized: 2-D only).
    pub fn byte_len(self, shape: &[usize]) -> Option<u64> {
        let n: usize = shape.iter().product();
        match self {
            Stored::F32 => Some(n as u64 * 4),
            Stored::F16 => Some(n as u64 * 2),
            Stored::Q8 | Stored::Q4 => match shape {
                [rows, k] if *k > 0 => Some(QuantLayout::new(self.gpu_dtype(), *rows, *k).total_bytes()),
                _ => None,
            },
        }
    }

    /// The safetensors dtype in the shard file and its element size.
    pub fn safetensors_dtype(self) -> (&'static str, usize) {
        match self {
            Stored::F32 => ("F32", 4),
            Stored::F16 => ("F16", 2),
            Stored::Q8 | Stored::Q4 => ("U32", 4),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorEntry {
    pub name: String,
    /// `matmul`, `embedding`, `norm`, `bias`, `conv`, `position`, `other` (see `classify`).
    pub class: String,
    pub shard: usize,
    pub offset: u64,
    pub length: u64,
    pub dtype: Stored,
    pub shape: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub model_family: String,
    /// File names (in the same directory) of the model's config and tokenizer.
    pub config: String,
    pub tokenizer: Option<String>,
    /// Stored dtype per tensor class, as the converter was asked.
    pub quantization: std::collections::BTreeMap<String, Stored>,
    /// Values per quantization block along K (one f16 scale each).
    pub block: usize,
    /// Sum of the shard sizes: what a client downloads besides the small JSON files.
    pub total_bytes: u64,
    pub shards: Vec<ShardInfo>,
    /// In shard order, then by offset: the order a streaming loader meets them.
    pub tensors: Vec<TensorEntry>,
}

impl Manifest {
    pub fn from_json(text: &str) -> Result<Manifest, String> {
        let m: Manifest = serde_json::from_str(text).map_err(|e| format!("not a valid manifest: {e}"))?;
        m.check()?;
        Ok(m)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest always serializes")
    }

    /// Internal consistency: what can be checked before touching a shard. A manifest that fails
    /// here was edited or damaged; loading from it could read the wrong bytes.
    pub fn check(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("format is {:?}, expected {FORMAT:?}", self.format));
        }
        if self.version != VERSION {
            return Err(format!("format version {} is not supported (this build reads version {VERSION})", self.version));
        }
        if self.block != visionllm_gpu::quant::BLOCK {
            return Err(format!("quantization block {} is not supported (the kernels use {})", self.block, visionllm_gpu::quant::BLOCK));
        }
        let total: u64 = self.shards.iter().map(|s| s.bytes).sum();
        if total != self.total_bytes {
            return Err(format!("total_bytes is {} but the shards add up to {total}", self.total_bytes));
        }
        let mut seen = std::collections::HashSet::new();
        for t in &self.tensors {
            if !seen.insert(t.name.as_str()) {
                return Err(format!("tensor {} is listed twice", t.name));
            }
            let shard = self.shards.get(t.shard).ok_or_else(|| format!("tensor {} is in shard {}, but there are {} shards", t.name, t.shard, self.shards.len()))?;
            let want = t.dtype.byte_len(&t.shape).ok_or_else(|| format!("tensor {} is {} with shape {:?}: quantized tensors must be 2-D", t.name, t.dtype.name(), t.shape))?;
            if t.length != want {
                return Err(format!("tensor {} claims {} bytes, but {} {:?} is {want} bytes", t.name, t.length, t.dtype.name(), t.shape));
            }
            if t.offset.checked_add(t.length).is_none_or(|end| end > shard.bytes) {
                return Err(format!("tensor {} (bytes {}..+{}) lies outside shard {} of {} bytes", t.name, t.offset, t.length, shard.file, shard.bytes));
            }
        }
        Ok(())
    }
}
