//! A Hugging Face checkpoint directory in the native transformers layout: `model.safetensors`, or
//! shards listed in `model.safetensors.index.json`. Natively the files are memory-mapped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WeightsError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid safetensors file: {detail}")]
    Format { path: PathBuf, detail: String },
    #[error("the checkpoint has no tensor named {0}")]
    Missing(String),
    #[error("tensor {name} has dtype {dtype}, which the loader does not read")]
    Dtype { name: String, dtype: String },
    #[error("tensor {name} has shape {got:?}, expected {want:?}")]
    Shape { name: String, got: Vec<usize>, want: Vec<usize> },
    #[error(transparent)]
    Gpu(#[from] visionllm_gpu::GpuError),
}

pub type Result<T> = std::result::Result<T, WeightsError>;

/// The bytes of one safetensors file: memory-mapped natively, owned elsewhere.
enum Bytes {
    #[cfg(not(target_arch = "wasm32"))]
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

pub struct Checkpoint {
    files: Vec<(PathBuf, Bytes)>,
    /// tensor name -> index into `files`
    index: HashMap<String, usize>,
}

impl Checkpoint {
    /// Open `dir/model.safetensors` or the shards of `dir/model.safetensors.index.json`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open_dir(dir: &Path) -> Result<Checkpoint> {
        let index_path = dir.join("model.safetensors.index.json");
        let names: Vec<PathBuf> = if index_path.exists() {
            let text = std::fs::read_to_string(&index_path).map_err(|source| WeightsError::Io { path: index_path.clone(), source })?;
            let json: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| WeightsError::Format { path: index_path.clone(), detail: e.to_string() })?;
            let mut shards: Vec<String> = json["weight_map"]
                .as_object()
                .ok_or_else(|| WeightsError::Format { path: index_path.clone(), detail: "no weight_map".into() })?
                .values()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            shards.sort();
            shards.dedup();
            shards.into_iter().map(|s| dir.join(s)).collect()
        } else {
            vec![dir.join("model.safetensors")]
        };
        let mut files = Vec::new();
        for path in names {
            let file = std::fs::File::open(&path).map_err(|source| WeightsError::Io { path: path.clone(), source })?;
            // Safety: the file is opened read-only and not expected to change while mapped.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| WeightsError::Io { path: path.clone(), source })?;
            files.push((path, Bytes::Mapped(map)));
        }
        Self::from_files(files)
    }

    /// A checkpoint from in-memory safetensors files (tests, the browser).
    pub fn from_bytes(files: Vec<(String, Vec<u8>)>) -> Result<Checkpoint> {
        Self::from_files(files.into_iter().map(|(n, b)| (PathBuf::from(n), Bytes::Owned(b))).collect())
    }

    fn from_files(files: Vec<(PathBuf, Bytes)>) -> Result<Checkpoint> {
        let mut index = HashMap::new();
        for (i, (path, bytes)) in files.iter().enumerate() {
            let st = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format { path: path.clone(), detail: e.to_string() })?;
            for name in st.names() {
                index.insert(name.to_string(), i);
            }
        }
        Ok(Checkpoint { files, index })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(String::as_str)
    }

    /// Shape and values (f32, f16 and bf16 are widened to f32).
    pub fn f32(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        let &i = self.index.get(name).ok_or_else(|| WeightsError::Missing(name.to_string()))?;
        let (path, bytes) = &self.files[i];
        let st = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format { path: path.clone(), detail: e.to_string() })?;
        let view = st.tensor(name).map_err(|e| WeightsError::Format { path: path.clone(), detail: e.to_string() })?;
        let data = view.data();
        let values = match view.dtype() {
            Dtype::F32 => data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Dtype::F16 => data.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Dtype::BF16 => data.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            other => return Err(WeightsError::Dtype { name: name.to_string(), dtype: format!("{other:?}") }),
        };
        Ok((view.shape().to_vec(), values))
    }

    /// Values with a shape check.
    pub fn f32_shaped(&self, name: &str, want: &[usize]) -> Result<Vec<f32>> {
        let (shape, values) = self.f32(name)?;
        if shape != want {
            return Err(WeightsError::Shape { name: name.to_string(), got: shape, want: want.to_vec() });
        }
        Ok(values)
    }
}
