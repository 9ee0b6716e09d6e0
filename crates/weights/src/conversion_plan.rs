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

use crate::classify::{classify, Class, Plan, SHARED, TIED_ALIASES};
use crate::limits::{shown, MAX_TABLE_BYTES, MAX_TENSOR_BYTES};
use crate::manifest::{Manifest, ShardInfo, Stored, TensorEntry, FORMAT, VERSION};
use crate::msft::{self, Mapped};
use crate::shards::{self, Planned};
use crate::source_header::{SourceDtype, SourceFile};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub plan: Plan,
    pub max_shard_bytes: u64,
    /// A token table (class embedding) larger than this stored is written as row parts
    /// (`NAME.part000`, ..) of at most this size each: see [`MAX_PART_BYTES`].
    pub max_part_bytes: u64,
}

/// WebGPU guarantees every adapter binds 128 MiB at once (`maxStorageBufferBindingSize`'s
/// default), so a table stored in parts of at most that uploads and binds anywhere. Qwen3-VL-2B's
/// 151,936 x 2,048 embedding is 175 MB at Q4: two parts.
pub const MAX_PART_BYTES: u64 = 128 << 20;

impl Options {
    pub fn quant(quant: Stored) -> Options {
        Options { plan: Plan::for_quant(quant), max_shard_bytes: shards::MAX_SHARD_BYTES, max_part_bytes: MAX_PART_BYTES }
    }
}

/// The name of row part `i` of a matrix stored in parts.
pub fn part_name(name: &str, i: usize) -> String {
    format!("{name}.part{i:03}")
}

/// How a matrix of `shape` stored as `stored` is cut into row parts of at most `max_part_bytes`
/// each: the first row of each part (one part, starting at 0, when it fits). Parts are as even
/// as the rows allow, so none is a sliver.
pub fn row_parts(shape: &[usize], stored: Stored, max_part_bytes: u64) -> Option<Vec<usize>> {
    let total = stored.byte_len(shape)?;
    let &[rows, cols] = shape else { return Some(vec![0]) };
    if total <= max_part_bytes || rows < 2 {
        return Some(vec![0]);
    }
    let row_bytes = stored.byte_len(&[1, cols])?.max(1);
    // Quantized scales are packed two per word, so a part's size is not exactly rows x
    // row_bytes; one row of slack keeps every part under the limit.
    let per_part = (max_part_bytes / row_bytes).saturating_sub(1).max(1) as usize;
    let count = rows.div_ceil(per_part);
    // Part i starts at floor(i * rows / count): sizes differ by at most one row, none above
    // ceil(rows / count) <= per_part.
    Some((0..count).map(|i| (i as u64 * rows as u64 / count as u64) as usize).collect())
}

/// Storage plan for tensors given by native name and shape (what the converter writes, before any
/// value is read; the size table in the README is computed from this). Shapes come from source
/// headers, so sizes are checked: a tensor that would exceed `MAX_TENSOR_BYTES` stored is refused
/// here, before the converter makes a buffer for it.
pub fn plan_tensors<'a>(tensors: impl Iterator<Item = (&'a str, &'a [usize])>, plan: &Plan, max_part_bytes: u64) -> Result<Vec<Planned>, String> {
    let mut out = Vec::new();
    for (name, shape) in tensors {
        let class = classify(name, shape);
        let mut stored = plan.stored(class);
        if stored.is_quantized() && shape.len() != 2 {
            stored = plan.rest;
        }
        let too_large = || format!("tensor {} of shape {shape:?} would be more than {MAX_TENSOR_BYTES} bytes stored as {}: too large for one GPU buffer", shown(name), stored.name());
        // Only the token table is read through `RowSplitTable`; every other tensor is whole.
        let limit = if class == Class::Embedding { max_part_bytes.min(MAX_TENSOR_BYTES) } else { u64::MAX };
        if class == Class::Embedding && stored.byte_len(shape).is_none_or(|b| b > MAX_TABLE_BYTES) {
            return Err(format!("tensor {} of shape {shape:?} would be more than {MAX_TABLE_BYTES} bytes stored as {}: too large a table", shown(name), stored.name()));
        }
        let starts = row_parts(shape, stored, limit).ok_or_else(too_large)?;
        for (i, &first) in starts.iter().enumerate() {
            let (part, part_shape) = if starts.len() == 1 {
                (name.to_string(), shape.to_vec())
            } else {
                let end = starts.get(i + 1).copied().unwrap_or(shape[0]);
                (part_name(name, i), vec![end - first, shape[1]])
            };
            let length = stored.byte_len(&part_shape).filter(|&l| l <= MAX_TENSOR_BYTES).ok_or_else(too_large)?;
            out.push(Planned { name: part, class: class.name().to_string(), stored, shape: part_shape, length, source_rows: (starts.len() > 1).then_some(first) });
        }
    }
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
        // Florence-2 ties lm_head to `SHARED` (Microsoft's layout names it otherwise; such a source
        // is Florence-2 too). Without either, an lm_head is a model's own (untied Qwen3-VL).
        let has_shared = microsoft || files.iter().flat_map(|f| &f.tensors).any(|t| t.name == SHARED);
        // native name -> (file, index in file, transpose)
        let mut sources: BTreeMap<String, (usize, usize, bool)> = BTreeMap::new();
        let mut checks = Vec::new();
        let mut dropped = Vec::new();
        for (fi, f) in files.iter().enumerate() {
            for (ti, t) in f.tensors.iter().enumerate() {
                let mapped = if microsoft { msft::to_native(&t.name) } else { Mapped::Name(t.name.clone()) };
                let (native, transpose) = match mapped {
                    Mapped::Name(n) if TIED_ALIASES.contains(&n.as_str()) && (n != "lm_head.weight" || has_shared) => {
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
        let planned = plan_tensors(shapes.iter().map(|(n, s)| (*n, s.as_slice())), &options.plan, options.max_part_bytes)?;
        let packs = shards::pack(&planned, options.max_shard_bytes);

        let mut shard_plans = Vec::new();
        let mut items = Vec::new();
        for (si, pack) in packs.iter().enumerate() {
            let refs: Vec<&Planned> = pack.iter().map(|&j| &planned[j]).collect();
            let (order, header) = shards::layout(&refs);
            let mut at = 8 + header.len() as u64;
            let mut entries = Vec::new();
            for p in order {
                let source = p.source_name();
                let (fi, ti, transpose) = sources[source];
                let t = &files[fi].tensors[ti];
                // A row part reads its rows' bytes of the source (rows are contiguous there).
                let (start, end) = match p.source_rows {
                    None => (t.start, t.end),
                    Some(first) => {
                        if transpose {
                            return Err(format!("tensor {} is stored transposed and too large for one buffer", t.name));
                        }
                        let row = t.dtype.size().unwrap_or(1) as u64 * p.shape[1] as u64;
                        let start = t.start + first as u64 * row;
                        (start, start + p.shape[0] as u64 * row)
                    }
                };
                items.push(Item {
                    file: fi,
                    start,
                    end,
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
                "max_part_bytes": options.max_part_bytes,
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
            block: visionllm_core::quant::BLOCK,
            total_bytes: shards.iter().map(|s| s.bytes).sum(),
            shards,
            tensors: self.shards.iter().flat_map(|s| s.entries.iter().cloned()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every split covers the rows in order, each part within the limit (when one row fits),
    /// parts as few as the slack allows and never a sliver.
    #[test]
    fn row_parts_cover_the_rows_within_the_limit() {
        for stored in [Stored::F32, Stored::F16, Stored::Q8, Stored::Q4] {
            for rows in 1..70 {
                for cols in [1, 31, 32, 33, 100] {
                    let row_bytes = stored.byte_len(&[1, cols]).unwrap();
                    for limit in [row_bytes * 2 + 3, row_bytes * 5, 1000, 4096, u64::MAX] {
                        let starts = row_parts(&[rows, cols], stored, limit).unwrap();
                        assert_eq!(starts[0], 0);
                        assert!(starts.windows(2).all(|w| w[0] < w[1]) && *starts.last().unwrap() < rows);
                        let ends: Vec<usize> = starts.iter().skip(1).copied().chain([rows]).collect();
                        for (&s, &e) in starts.iter().zip(&ends) {
                            if starts.len() > 1 {
                                assert!(stored.byte_len(&[e - s, cols]).unwrap() <= limit, "{stored:?} {rows}x{cols} limit {limit}: part {s}..{e}");
                            }
                        }
                        if stored.byte_len(&[rows, cols]).unwrap() <= limit {
                            assert_eq!(starts, [0]);
                        }
                        let sizes: Vec<usize> = starts.iter().zip(&ends).map(|(s, e)| e - s).collect();
                        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1 || sizes.len() == 1, "uneven {sizes:?}");
                    }
                }
            }
        }
    }
}
