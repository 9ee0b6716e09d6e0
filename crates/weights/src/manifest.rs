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
//! packed in u32 words exactly as `visionllm_core::quant` lays them out for the kernels; stored in
//! the shard as safetensors dtype U32 with shape `[words]`; the manifest keeps the logical shape
//! [N, K]). `offset` is the absolute byte offset of the tensor's data in the shard file, so a
//! reader can slice the bytes without the safetensors header.

use serde::{Deserialize, Serialize};

use crate::limits::{check_file_name, shown, FileKind, MAX_SHARD_FILE_BYTES, MAX_TENSOR_BYTES};
use visionllm_core::quant::QuantLayout;
use visionllm_core::DType;

pub const MANIFEST_FILE: &str = "manifest.json";
pub const FORMAT: &str = "visionllm-sharded";
pub const VERSION: u32 = 1;
/// Most dimensions a tensor may have (Florence-2's have at most 4).
pub const MAX_RANK: usize = 8;

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

    /// Bytes of a tensor of logical `shape` stored this way (quantized: 2-D only). `None` when
    /// the shape cannot be stored so or its size overflows (shapes come from files: checked
    /// arithmetic throughout).
    pub fn byte_len(self, shape: &[usize]) -> Option<u64> {
        let elements = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(u64::try_from(d).ok()?))?;
        match self {
            Stored::F32 => elements.checked_mul(4),
            Stored::F16 => elements.checked_mul(2),
            Stored::Q8 | Stored::Q4 => match shape {
                &[rows, k] if k > 0 => {
                    // `QuantLayout`'s words, in checked u64: packed values, then one f16 scale per block.
                    let blocks = u64::try_from(rows).ok()?.checked_mul(u64::try_from(k.div_ceil(visionllm_core::quant::BLOCK)).ok()?)?;
                    let per_block = if self == Stored::Q8 { 8 } else { 4 };
                    let words = blocks.checked_mul(per_block)?.checked_add(blocks.div_ceil(2))?;
                    let bytes = words.checked_mul(4)?;
                    // Same layout as the kernels' (asserted where it is cheap to).
                    debug_assert!(bytes > (1 << 40) || bytes == QuantLayout::new(self.gpu_dtype(), rows, k).total_bytes());
                    Some(bytes)
                }
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
        crate::limits::check_size(FileKind::Manifest, MANIFEST_FILE, text.len() as u64)?;
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
        if self.block != visionllm_core::quant::BLOCK {
            return Err(format!("quantization block {} is not supported (the kernels use {})", self.block, visionllm_core::quant::BLOCK));
        }
        // Names become paths, URLs and cache keys: plain file names only.
        check_file_name(&self.config).map_err(|e| format!("config: {e}"))?;
        if let Some(t) = &self.tokenizer {
            check_file_name(t).map_err(|e| format!("tokenizer: {e}"))?;
        }
        if self.shards.is_empty() {
            return Err("the manifest lists no shards".into());
        }
        let mut names = std::collections::HashSet::new();
        for s in &self.shards {
            check_file_name(&s.file).map_err(|e| format!("shard: {e}"))?;
            if !names.insert(s.file.as_str()) {
                return Err(format!("shard {} is listed twice", shown(&s.file)));
            }
            if s.bytes > MAX_SHARD_FILE_BYTES {
                return Err(format!("shard {} claims {} bytes, more than a shard can be ({MAX_SHARD_FILE_BYTES})", shown(&s.file), s.bytes));
            }
            if s.sha256.len() != 64 || !s.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Err(format!("shard {}: sha256 {} is not 64 lower-case hex digits", shown(&s.file), shown(&s.sha256)));
            }
        }
        // Each shard is at most MAX_SHARD_FILE_BYTES, so this sum cannot overflow for any sane count;
        // checked anyway, since the count comes from the file too.
        let total = self.shards.iter().try_fold(0u64, |acc, s| acc.checked_add(s.bytes)).ok_or("shard sizes overflow")?;
        if total != self.total_bytes {
            return Err(format!("total_bytes is {} but the shards add up to {total}", self.total_bytes));
        }
        let mut seen = std::collections::HashSet::new();
        for t in &self.tensors {
            let name = shown(&t.name);
            if !seen.insert(t.name.as_str()) {
                return Err(format!("tensor {name} is listed twice"));
            }
            if t.shape.len() > MAX_RANK {
                return Err(format!("tensor {name} has {} dimensions (at most {MAX_RANK})", t.shape.len()));
            }
            let shard = self.shards.get(t.shard).ok_or_else(|| format!("tensor {name} is in shard {}, but there are {} shards", t.shard, self.shards.len()))?;
            let want = t.dtype.byte_len(&t.shape).ok_or_else(|| {
                format!("tensor {name} is {} with shape {:?}: not storable (quantized tensors are 2-D with K > 0; sizes must fit 64 bits)", t.dtype.name(), t.shape)
            })?;
            if t.length != want {
                return Err(format!("tensor {name} claims {} bytes, but {} {:?} is {want} bytes", t.length, t.dtype.name(), t.shape));
            }
            if t.length > MAX_TENSOR_BYTES {
                return Err(format!("tensor {name} is {} bytes, more than a tensor can be ({MAX_TENSOR_BYTES})", t.length));
            }
            if t.offset.checked_add(t.length).is_none_or(|end| end > shard.bytes) {
                return Err(format!("tensor {name} (bytes {}..+{}) lies outside shard {} of {} bytes", t.offset, t.length, shown(&shard.file), shard.bytes));
            }
        }
        Ok(())
    }
}
