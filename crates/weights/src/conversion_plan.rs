//! Everything about a conversion that is known from the source headers alone, before any value
//! is read: which source tensor becomes which converted tensor (Microsoft names mapped, tied
//! aliases dropped), how each is stored, which output shard holds it at which offset, and each
//! shard's safetensors header. The converter (`convert_dir` natively, the browser worker from a
//! Hugging Face repository) then only streams bytes through `StreamConverter`.
//!
//! Shards are packed in native-name order, whatever the source's layout, so a checkpoint converts
//! to the same bytes from the native and the Microsoft names. For the native layout (which
//! `save_pretrained` writes in name order) that is also source order: a streaming conversion fills
//! one output shard at a time.

use std::collections::BTreeMap;

use crate::classify::{classify, Plan, TIED_ALIASES};
use crate::limits::{shown, MAX_TENSOR_BYTES};
use crate::manifest::{Manifest, ShardInfo, Stored, TensorEntry, FORMAT, VERSION};
use crate::msft::{self, Mapped};
use crate::shards::{self, Planned};
use crate::source_header::{SourceDtype, SourceFile};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub plan: Plan,
    pub max_shard_bytes: u64,
}

impl Options {
    pub fn quant(quant: Stored) -> Options {
        Options { plan: Plan::for_quant(quant), max_shard_bytes: shards::MAX_SHARD_BYTES }
    }
}

/// Storage plan for tensors given by native name and shape (what the converter writes, before any
/// value is read; the size table in the README is computed from this). Shapes come from source
/// headers, so sizes are checked: a tensor that would exceed `MAX_TENSOR_BYTES` stored is refused
/// here, before the converter makes a buffer for it.
pub fn plan_tensors<'a>(tensors: impl Iterator<Item = (&'a str, &'a [usize])>, plan: &Plan) -> Result<Vec<Planned>, String> {
    let mut out: Vec<Planned> = tensors
        .map(|(name, shape)| {
            let class = classify(name, shape);
            let mut stored = plan.stored(class);
            if stored.is_quantized() && shape.len() != 2 {
                stored = plan.rest;
            }
            let length = stored.byte_len(shape).filter(|&l| l <= MAX_TENSOR_BYTES).ok_or_else(|| {
                format!("tensor {} of shape {shape:?} would be more than {MAX_TENSOR_BYTES} bytes stored as {}: too large for one GPU buffer", shown(name), stored.name())
            })?;
            Ok(Planned { name: name.to_string(), class: class.name().to_string(), stored, shape: shape.to_vec(), length })
        })
        .collect::<Result<_, String>>()?;
    // Name order groups language model, projector, vision tower; deterministic across runs.
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// One output shard: its file name, its first bytes (length + safetensors header), its size, and
/// the manifest entries of its tensors (absolute offsets).
#[derive(Clone, Debug)]
pub struct ShardPlan {
    pub file: String,
    pub header: Vec<u8>,
    pub bytes: u64,
    pub entries: Vec<TensorEntry>,
}

/// What happens to the bytes of one source tensor.
#[derive(Clone, Debug)]
pub enum ItemKind {
    /// Converted into `shard` at byte `offset`; `transpose` for a Microsoft [in, out] matrix.
    Convert { shard: usize, offset: u64, planned: Planned, transpose: bool },
    /// Dropped, but only if all zeros (the Microsoft `final_logits_bias`: Florence-2 has none).
    MustBeZero,
}

/// A source tensor the stream has to look at, in stream order (file, then offset).
#[derive(Clone, Debug)]
pub struct Item {
    pub file: usize,
    pub start: u64,
    pub end: u64,
    pub source: String,
    pub dtype: SourceDtype,
    pub kind: ItemKind,
}

#[derive(Clone, Debug)]
pub struct ConversionPlan {
    pub layout: &'static str,
    pub options: Options,
    pub files: Vec<SourceFile>,
    pub shards: Vec<ShardPlan>,
    pub items: Vec<Item>,
    /// Source tensors left out (tied aliases, the zero bias).
    pub dropped: Vec<String>,
    /// Identifies (source headers, options, format): a conversion resumed in a later session must
    /// have the same one, or its finished shards belong to another conversion.
    pub fingerprint: String,
}

impl ConversionPlan {
    pub fn new(files: Vec<SourceFile>, options: Options) -> Result<ConversionPlan, String> {
        let microsoft = msft::is_microsoft_layout(files.iter().flat_map(|f| f.tensors.iter().map(|t| t.name.as_str())));
        // native name -> (file, index in file, transpose)
        let mut sources: BTreeMap<String, (usize, usize, bool)> = BTreeMap::new();
        let mut checks = Vec::new();
        let mut dropped = Vec::new();
        for (fi, f) in files.iter().enumerate() {
            for (ti, t) in f.tensors.iter().enumerate() {
                let mapped = if microsoft { msft::to_native(&t.name) } else { Mapped::Name(t.name.clone()) };
                let (native, transpose) = match mapped {
                    Mapped::Name(n) if TIED_ALIASES.contains(&n.as_str()) => {
                        dropped.push(t.name.clone());
                        continue;
                    }
                    Mapped::Name(n) => (n, false),
                    Mapped::Transposed(n) => (n, true),
                    Mapped::Drop => {
                        if t.name.ends_with("final_logits_bias") {
                            checks.push((fi, ti));
                        }
                        dropped.push(t.name.clone());
                        continue;
                    }
                };
                if t.dtype.size().is_none() {
                    return Err(format!("{}: tensor {} has dtype {:?}, which the converter does not read (f32, f16, bf16)", f.name, t.name, t.dtype));
                }
                if t.start == t.end {
                    return Err(format!("{}: tensor {} has no elements; a Florence-2 checkpoint has no such tensor", f.name, t.name));
                }
                if transpose && t.shape.len() != 2 {
                    return Err(format!("{}: tensor {} should be a matrix, its shape is {:?}", f.name, t.name, t.shape));
                }
                if let Some((of, oi, _)) = sources.insert(native.clone(), (fi, ti, transpose)) {
                    return Err(format!("{} and {} both map to {native}", files[of].tensors[oi].name, t.name));
                }
            }
        }
        dropped.sort();
        let native_shape = |&(fi, ti, transpose): &(usize, usize, bool)| {
            let mut shape = files[fi].tensors[ti].shape.clone();
            if transpose {
                shape.reverse();
            }
            shape
        };
        let shapes: BTreeMap<&str, Vec<usize>> = sources.iter().map(|(n, s)| (n.as_str(), native_shape(s))).collect();
        let planned = plan_tensors(shapes.iter().map(|(n, s)| (*n, s.as_slice())), &options.plan)?;
        let packs = shards::pack(&planned, options.max_shard_bytes);

        let mut shard_plans = Vec::new();
        let mut items = Vec::new();
        for (si, pack) in packs.iter().enumerate() {
            let refs: Vec<&Planned> = pack.iter().map(|&j| &planned[j]).collect();
            let (order, header) = shards::layout(&refs);
            let mut at = 8 + header.len() as u64;
            let mut entries = Vec::new();
            for p in order {
                let (fi, ti, transpose) = sources[&p.name];
                let t = &files[fi].tensors[ti];
                items.push(Item {
                    file: fi,
                    start: t.start,
                    end: t.end,
                    source: t.name.clone(),
                    dtype: t.dtype.clone(),
                    kind: ItemKind::Convert { shard: si, offset: at, planned: p.clone(), transpose },
                });
                entries.push(TensorEntry { name: p.name.clone(), class: p.class.clone(), shard: si, offset: at, length: p.length, dtype: p.stored, shape: p.shape.clone() });
                at += p.length;
            }
            let mut first = (header.len() as u64).to_le_bytes().to_vec();
            first.extend_from_slice(&header);
            shard_plans.push(ShardPlan { file: shards::shard_file_name(si, packs.len()), header: first, bytes: at, entries });
        }
        for (fi, ti) in checks {
            let t = &files[fi].tensors[ti];
            items.push(Item { file: fi, start: t.start, end: t.end, source: t.name.clone(), dtype: t.dtype.clone(), kind: ItemKind::MustBeZero });
        }
        items.sort_by_key(|i| (i.file, i.start));
        let fingerprint = shards::sha256_hex(
            serde_json::json!({
                "format": FORMAT,
                "version": VERSION,
                "quantization": options.plan.table(),
                "max_shard_bytes": options.max_shard_bytes,
                "sources": files.iter().map(|f| [&f.name, &f.header_sha256]).collect::<Vec<_>>(),
            })
            .to_string()
            .as_bytes(),
        );
        let layout = if microsoft { "microsoft (renamed)" } else { "native transformers" };
        Ok(ConversionPlan { layout, options, files, shards: shard_plans, items, dropped, fingerprint })
    }

    /// The manifest, once every shard's sha256 is known (`shas[i]` for shard i).
    pub fn manifest(&self, shas: Vec<String>, tokenizer: Option<String>) -> Manifest {
        assert_eq!(shas.len(), self.shards.len(), "one sha256 per shard");
        let shards: Vec<ShardInfo> = self.shards.iter().zip(shas).map(|(s, sha256)| ShardInfo { file: s.file.clone(), bytes: s.bytes, sha256 }).collect();
        Manifest {
            format: FORMAT.into(),
            version: VERSION,
            model_family: "florence2".into(),
            config: "config.json".into(),
            tokenizer,
            quantization: self.options.plan.table(),
            block: visionllm_gpu::quant::BLOCK,
            total_bytes: shards.iter().map(|s| s.bytes).sum(),
            shards,
            tensors: self.shards.iter().flat_map(|s| s.entries.iter().cloned()).collect(),
        }
    }
}
