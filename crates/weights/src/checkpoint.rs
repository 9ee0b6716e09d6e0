//! A Hugging Face checkpoint directory in the native transformers layout: `model.safetensors`, or
//! shards listed in `model.safetensors.index.json`; or a converted directory (`manifest.json` and
//! verified shards, see `manifest`). Natively the files are memory-mapped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};
use visionllm_core::DType;

use crate::manifest::Manifest;
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
    #[error("{path}: {detail}")]
    Bad { path: PathBuf, detail: String },
}

pub type Result<T> = std::result::Result<T, WeightsError>;

/// The bytes of one safetensors file: memory-mapped natively, owned elsewhere.
pub(crate) enum Bytes {
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

/// Where a tensor's bytes are and how to read them.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub file: usize,
    pub start: usize,
    pub end: usize,
    pub dtype: EntryDtype,
    pub shape: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EntryDtype {
    F32,
    F16,
    BF16,
    /// Packed as `visionllm_core::quant` (Q8/Q4), logical shape [N, K].
    Quant(DType),
    Unsupported(String),
}

/// A quantized tensor as stored: the packed words' bytes, ready to upload.
pub struct QuantView<'a> {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub bytes: Cow<'a, [u8]>,
}

/// Reads byte ranges of a converted checkpoint's shards on demand. The browser reads them from
/// its storage (OPFS) this way, so a model never sits whole in wasm memory while it is uploaded:
/// only the tensor being uploaded does.
pub trait ShardReader {
    /// Bytes `start..end` of shard `shard` (an index into the manifest's shards).
    fn read(&self, shard: usize, start: u64, end: u64) -> std::result::Result<Vec<u8>, String>;
}

pub struct Checkpoint {
    files: Vec<(PathBuf, Bytes)>,
    index: HashMap<String, Entry>,
    manifest: Option<Manifest>,
    /// Set for `from_converted_reader`: tensors are read through it instead of `files`.
    reader: Option<Box<dyn ShardReader>>,
}

impl Checkpoint {
    /// Open a converted directory (`manifest.json` + verified shards), or a Hugging Face one:
    /// `dir/model.safetensors` or the shards of `dir/model.safetensors.index.json`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open_dir(dir: &Path) -> Result<Checkpoint> {
        if dir.join(crate::manifest::MANIFEST_FILE).exists() {
            let (manifest, files, index) = crate::verify::open_converted(dir)?;
            return Ok(Checkpoint { files: files.into_iter().map(|(p, m)| (p, Bytes::Mapped(m))).collect(), index, manifest: Some(manifest), reader: None });
        }
        let names = safetensors_files(dir)?;
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

    /// A converted checkpoint from its manifest and shard bytes received some other way (the
    /// browser fetches them): every shard is checked (size, sha256, header) before it is used.
    pub fn from_converted(manifest: Manifest, shards: Vec<Vec<u8>>) -> Result<Checkpoint> {
        if shards.len() != manifest.shards.len() {
            return Err(WeightsError::Bad { path: PathBuf::from(crate::manifest::MANIFEST_FILE), detail: format!("{} shards given, the manifest lists {}", shards.len(), manifest.shards.len()) });
        }
        for (i, bytes) in shards.iter().enumerate() {
            let name = manifest.shards.get(i).map_or("shard", |s| s.file.as_str());
            crate::verify::check_shard(&manifest, i, bytes, Path::new(name))?;
        }
        let files = manifest.shards.iter().zip(shards).map(|(s, b)| (PathBuf::from(&s.file), Bytes::Owned(b))).collect();
        let index = crate::verify::entries(&manifest).map_err(|detail| WeightsError::Bad { path: PathBuf::from(crate::manifest::MANIFEST_FILE), detail })?;
        Ok(Checkpoint { files, index, manifest: Some(manifest), reader: None })
    }

    /// A converted checkpoint whose shards stay where they are (browser storage) and are read
    /// tensor by tensor through `reader`. The caller must have checked every shard's sha256
    /// against this manifest (the browser does when a shard is downloaded and again before each
    /// load), since bytes are not re-verified here.
    pub fn from_converted_reader(manifest: Manifest, reader: Box<dyn ShardReader>) -> Result<Checkpoint> {
        manifest.check().map_err(|detail| WeightsError::Bad { path: PathBuf::from(crate::manifest::MANIFEST_FILE), detail })?;
        let index = crate::verify::entries(&manifest).map_err(|detail| WeightsError::Bad { path: PathBuf::from(crate::manifest::MANIFEST_FILE), detail })?;
        Ok(Checkpoint { files: Vec::new(), index, manifest: Some(manifest), reader: Some(reader) })
    }

    fn from_files(files: Vec<(PathBuf, Bytes)>) -> Result<Checkpoint> {
        let mut index = HashMap::new();
        for (i, (path, bytes)) in files.iter().enumerate() {
            let st = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format { path: path.clone(), detail: e.to_string() })?;
            for (name, view) in st.tensors() {
                let start = view.data().as_ptr() as usize - bytes.as_ptr() as usize;
                let dtype = match view.dtype() {
                    Dtype::F32 => EntryDtype::F32,
                    Dtype::F16 => EntryDtype::F16,
                    Dtype::BF16 => EntryDtype::BF16,
                    other => EntryDtype::Unsupported(format!("{other:?}")),
                };
                index.insert(name, Entry { file: i, start, end: start + view.data().len(), dtype, shape: view.shape().to_vec() });
            }
        }
        Ok(Checkpoint { files, index, manifest: None, reader: None })
    }

    /// The manifest, for a converted directory.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(String::as_str)
    }

    pub fn shape(&self, name: &str) -> Result<&[usize]> {
        Ok(&self.entry(name)?.shape)
    }

    fn entry(&self, name: &str) -> Result<&Entry> {
        self.index.get(name).ok_or_else(|| WeightsError::Missing(name.to_string()))
    }

    fn data(&self, e: &Entry) -> Result<Cow<'_, [u8]>> {
        match &self.reader {
            Some(reader) => {
                let bytes = reader.read(e.file, e.start as u64, e.end as u64).map_err(|detail| WeightsError::Bad { path: self.shard_path(e.file), detail })?;
                if bytes.len() != e.end - e.start {
                    return Err(WeightsError::Bad {
                        path: self.shard_path(e.file),
                        detail: format!("read {} bytes of a {}-byte tensor: the stored shard is shorter than the manifest says", bytes.len(), e.end - e.start),
                    });
                }
                Ok(Cow::Owned(bytes))
            }
            // Ranges were checked against the file when the index was built; `get` keeps a bug
            // there an error instead of a panic.
            None => self.files.get(e.file).and_then(|(_, bytes)| bytes.get(e.start..e.end)).map(Cow::Borrowed).ok_or_else(|| WeightsError::Bad {
                path: self.shard_path(e.file),
                detail: format!("bytes {}..{} lie outside the file", e.start, e.end),
            }),
        }
    }

    fn shard_path(&self, shard: usize) -> PathBuf {
        self.manifest.as_ref().and_then(|m| m.shards.get(shard)).map(|s| PathBuf::from(&s.file)).unwrap_or_default()
    }

    /// The packed bytes of a tensor stored quantized (None: stored as floats).
    pub fn quantized(&self, name: &str) -> Result<Option<QuantView<'_>>> {
        let e = self.entry(name)?;
        Ok(match e.dtype {
            EntryDtype::Quant(dtype) => Some(QuantView { dtype, shape: e.shape.clone(), bytes: self.data(e)? }),
            _ => None,
        })
    }

    /// Shape and values (f32, f16 and bf16 are widened to f32; Q8/Q4 are dequantized exactly as
    /// the kernels would see them).
    pub fn f32(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        let e = self.entry(name)?;
        if self.reader.is_some() && matches!(e.dtype, EntryDtype::F32 | EntryDtype::F16 | EntryDtype::BF16) {
            return Ok((e.shape.clone(), self.f32_in_pieces(e)?));
        }
        let data = self.data(e)?;
        let data: &[u8] = &data;
        let values = match &e.dtype {
            EntryDtype::F32 => data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            EntryDtype::F16 => data.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            EntryDtype::BF16 => data.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            EntryDtype::Quant(dtype) => {
                let &[n, k] = e.shape.as_slice() else {
                    return Err(WeightsError::Shape { name: name.to_string(), got: e.shape.clone(), want: vec![0, 0] });
                };
                let words: Vec<u32> = data.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                visionllm_core::quant::dequantize(*dtype, n, k, &words)
            }
            EntryDtype::Unsupported(dtype) => return Err(WeightsError::Dtype { name: name.to_string(), dtype: dtype.clone() }),
        };
        Ok((e.shape.clone(), values))
    }

    /// Float values read from the shard reader 4 MiB at a time, widened as they arrive: the
    /// stored bytes of a large tensor never sit in memory next to its f32 values (in a browser,
    /// that halves the peak heap of loading a big f16 convolution).
    fn f32_in_pieces(&self, e: &Entry) -> Result<Vec<f32>> {
        const PIECE: usize = 4 << 20;
        let size = if e.dtype == EntryDtype::F32 { 4 } else { 2 };
        let mut values = Vec::with_capacity((e.end - e.start) / size);
        let mut at = e.start;
        while at < e.end {
            let end = (at + PIECE).min(e.end);
            let part = Entry { start: at, end, ..e.clone() };
            let bytes = self.data(&part)?;
            match e.dtype {
                EntryDtype::F32 => values.extend(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
                EntryDtype::F16 => values.extend(bytes.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())),
                _ => values.extend(bytes.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())),
            }
            at = end;
        }
        Ok(values)
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

/// A checkpoint directory's safetensors files: `model.safetensors`, or the shards its
/// `model.safetensors.index.json` lists.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn safetensors_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index_path = dir.join("model.safetensors.index.json");
    if index_path.exists() {
        let text = crate::limits::read_text(&index_path, crate::limits::FileKind::Index).map_err(|detail| WeightsError::Bad { path: index_path.clone(), detail })?;
        let files = crate::source_header::index_files(&text).map_err(|detail| WeightsError::Format { path: index_path.clone(), detail })?;
        return Ok(files.into_iter().map(|f| dir.join(f)).collect());
    }
    if !dir.join("model.safetensors").exists() && dir.join("pytorch_model.bin").exists() {
        return Err(WeightsError::Bad { path: dir.join("pytorch_model.bin"), detail: PICKLE_HINT.into() });
    }
    Ok(vec![dir.join("model.safetensors")])
}

/// What to tell someone who points us at an original pickle checkpoint.
pub const PICKLE_HINT: &str = "pickle checkpoints (pytorch_model.bin) are not read; convert it to safetensors first, in the checkpoint directory: \
python -c \"import torch; from safetensors.torch import save_file; sd = torch.load('pytorch_model.bin', map_location='cpu'); save_file({k: v.contiguous().clone() for k, v in sd.items()}, 'model.safetensors')\"";
