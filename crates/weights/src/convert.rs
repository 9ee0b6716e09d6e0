//! The converter: a Florence-2 checkpoint (native transformers layout, or the Microsoft key names
//! in safetensors) -> a converted directory (manifest.json, shards, config and tokenizer files).
//! Tensors are read, converted and written one at a time.

use std::collections::BTreeMap;
use std::path::Path;

use visionllm_gpu::quant;

use crate::checkpoint::{Checkpoint, Result, WeightsError};
use crate::classify::{classify, Class, Plan, CLASSES, TIED_ALIASES};
use crate::manifest::{Manifest, Stored, FORMAT, MANIFEST_FILE, VERSION};
use crate::msft::{self, Mapped};
use crate::shards::{self, Planned};

/// Files copied next to the shards when the source has them (config.json is required).
const COPIED: [&str; 5] = ["config.json", "tokenizer.json", "preprocessor_config.json", "processor_config.json", "generation_config.json"];

#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub plan: Plan,
    pub max_shard_bytes: u64,
}

impl Options {
    pub fn quant(quant: Stored) -> Options {
        Options { plan: Plan::for_quant(quant), max_shard_bytes: shards::MAX_SHARD_BYTES }
    }
}

/// Per tensor class: how much, how stored, and how far the stored values are from the source.
#[derive(Clone, Debug, Default)]
pub struct ClassStats {
    pub tensors: usize,
    pub params: u64,
    pub bytes: u64,
    pub stored: Option<Stored>,
    /// Largest max|w - stored| / max|w| of any tensor of the class.
    pub max_rel_err: f64,
    /// Largest ||w - stored|| / ||w|| of any tensor of the class.
    pub rms_rel_err: f64,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub layout: &'static str,
    pub classes: BTreeMap<Class, ClassStats>,
    pub dropped: Vec<String>,
    /// Things the user has to act on (printed after the table).
    pub notes: Vec<String>,
    pub manifest: Manifest,
}

impl Report {
    pub fn table(&self) -> String {
        let mut s = format!("source layout: {}\n{:<10} {:>7} {:>13} {:>6} {:>11} {:>12} {:>12}\n", self.layout, "class", "tensors", "parameters", "stored", "MB", "max rel err", "rms rel err");
        for (c, st) in &self.classes {
            s += &format!(
                "{:<10} {:>7} {:>13} {:>6} {:>11.2} {:>12.2e} {:>12.2e}\n",
                c.name(),
                st.tensors,
                st.params,
                st.stored.map(Stored::name).unwrap_or("-"),
                st.bytes as f64 / 1e6,
                st.max_rel_err,
                st.rms_rel_err
            );
        }
        let params: u64 = self.classes.values().map(|c| c.params).sum();
        s += &format!(
            "total: {} tensors, {params} values, {} shards, {:.2} MB ({} bytes)\n",
            self.manifest.tensors.len(),
            self.manifest.shards.len(),
            self.manifest.total_bytes as f64 / 1e6,
            self.manifest.total_bytes
        );
        if !self.dropped.is_empty() {
            s += &format!("dropped (tied or unused): {}\n", self.dropped.join(", "));
        }
        for n in &self.notes {
            s += &format!("note: {n}\n");
        }
        s
    }
}

/// One tensor to convert: its native name and shape, where it comes from.
struct Source {
    planned: Planned,
    from: String,
    transpose: bool,
}

/// Storage plan for tensors given by native name and shape (what the converter writes, before any
/// value is read; the size table in the README is computed from this).
pub fn plan_tensors<'a>(tensors: impl Iterator<Item = (&'a str, &'a [usize])>, plan: &Plan) -> Vec<Planned> {
    let mut out: Vec<Planned> = tensors
        .map(|(name, shape)| {
            let class = classify(name, shape);
            let mut stored = plan.stored(class);
            if stored.is_quantized() && shape.len() != 2 {
                stored = plan.rest;
            }
            let length = stored.byte_len(shape).expect("2-D checked above");
            Planned { name: name.to_string(), class: class.name().to_string(), stored, shape: shape.to_vec(), length }
        })
        .collect();
    // Name order groups language model, projector, vision tower; deterministic across runs.
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

pub fn convert_dir(from: &Path, to: &Path, opts: &Options) -> Result<Report> {
    let bad = |path: &Path, detail: String| WeightsError::Bad { path: path.to_path_buf(), detail };
    if !from.join("config.json").exists() {
        return Err(bad(from, "no config.json: point --from at a Florence-2 checkpoint directory".into()));
    }
    let ckpt = Checkpoint::open_dir(from)?;
    let microsoft = msft::is_microsoft_layout(ckpt.names());
    let mut names: Vec<&str> = ckpt.names().collect();
    names.sort();
    let mut dropped = Vec::new();
    let mut sources: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for name in names {
        let mapped = if microsoft { msft::to_native(name) } else { Mapped::Name(name.to_string()) };
        let (native, transpose) = match mapped {
            Mapped::Name(n) if TIED_ALIASES.contains(&n.as_str()) => {
                dropped.push(name.to_string());
                continue;
            }
            Mapped::Name(n) => (n, false),
            Mapped::Transposed(n) => (n, true),
            Mapped::Drop => {
                if name.ends_with("final_logits_bias") && ckpt.f32(name)?.1.iter().any(|&v| v != 0.0) {
                    return Err(bad(from, format!("{name} is not all zeros; Florence-2's lm_head has no bias, so this checkpoint is not one we can run")));
                }
                dropped.push(name.to_string());
                continue;
            }
        };
        if let Some((other, _)) = sources.insert(native.clone(), (name.to_string(), transpose)) {
            return Err(bad(from, format!("{other} and {name} both map to {native}")));
        }
    }
    let mut shapes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (native, (name, transpose)) in &sources {
        let mut shape = ckpt.shape(name)?.to_vec();
        if *transpose {
            shape.reverse();
        }
        shapes.insert(native.clone(), shape);
    }
    let planned = plan_tensors(shapes.iter().map(|(n, s)| (n.as_str(), s.as_slice())), &opts.plan);
    let sources: Vec<Source> = planned
        .into_iter()
        .map(|p| {
            let (from, transpose) = sources[&p.name].clone();
            Source { planned: p, from, transpose }
        })
        .collect();

    std::fs::create_dir_all(to).map_err(|source| WeightsError::Io { path: to.to_path_buf(), source })?;
    // A manifest left from an earlier conversion would describe shards we are about to replace.
    let manifest_path = to.join(MANIFEST_FILE);
    if manifest_path.exists() {
        std::fs::remove_file(&manifest_path).map_err(|source| WeightsError::Io { path: manifest_path.clone(), source })?;
    }
    let plans: Vec<Planned> = sources.iter().map(|s| s.planned.clone()).collect();
    let packs = shards::pack(&plans, opts.max_shard_bytes);
    let by_name: BTreeMap<&str, &Source> = sources.iter().map(|s| (s.planned.name.as_str(), s)).collect();
    let mut classes: BTreeMap<Class, ClassStats> = BTreeMap::new();
    let (mut shard_infos, mut entries) = (Vec::new(), Vec::new());
    for (i, pack) in packs.iter().enumerate() {
        let refs: Vec<&Planned> = pack.iter().map(|&j| &plans[j]).collect();
        let file = shards::shard_file_name(i, packs.len());
        let (info, mut e) = shards::write_shard(&to.join(&file), i, &refs, |p| {
            let src = by_name[p.name.as_str()];
            let (shape, mut values) = ckpt.f32(&src.from)?;
            if src.transpose {
                values = transpose(&values, shape[0], shape[1]);
            }
            let (bytes, err) = encode(p, &values);
            let class = classify(&p.name, &p.shape);
            let st = classes.entry(class).or_default();
            st.tensors += 1;
            st.params += values.len() as u64;
            st.bytes += p.length;
            st.stored = Some(p.stored);
            st.max_rel_err = st.max_rel_err.max(err.0);
            st.rms_rel_err = st.rms_rel_err.max(err.1);
            Ok(bytes)
        })?;
        shard_infos.push(info);
        entries.append(&mut e);
    }
    let mut copied = BTreeMap::new();
    for f in COPIED {
        let src = from.join(f);
        if src.exists() {
            std::fs::copy(&src, to.join(f)).map_err(|source| WeightsError::Io { path: src.clone(), source })?;
            copied.insert(f, ());
        }
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        model_family: "florence2".into(),
        config: "config.json".into(),
        tokenizer: copied.contains_key("tokenizer.json").then(|| "tokenizer.json".to_string()),
        quantization: opts.plan.table(),
        block: quant::BLOCK,
        total_bytes: shard_infos.iter().map(|s| s.bytes).sum(),
        shards: shard_infos,
        tensors: entries,
    };
    manifest.check().map_err(|detail| bad(to, format!("the converter produced an inconsistent manifest (a bug): {detail}")))?;
    // Written last, through a rename, so a manifest only ever exists next to complete shards.
    let tmp = to.join("manifest.json.partial");
    std::fs::write(&tmp, manifest.to_json()).map_err(|source| WeightsError::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, &manifest_path).map_err(|source| WeightsError::Io { path: manifest_path.clone(), source })?;
    for c in CLASSES {
        if let Some(st) = classes.get_mut(&c) {
            st.stored.get_or_insert(opts.plan.stored(c));
        }
    }
    let mut notes = Vec::new();
    let config: serde_json::Value = std::fs::read_to_string(from.join("config.json")).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    if config["vision_config"]["embed_dim"].is_null() {
        // The original remote-code config (`dim_embed`, no `<image>` token) is not what the model
        // loader reads; translating it (and the tokenizer) is not done here.
        notes.push(format!(
            "{} is not a native transformers Florence-2 config (no vision_config.embed_dim): before running, copy config.json and tokenizer.json from the matching florence-community/Florence-2-* repository into {}",
            from.join("config.json").display(),
            to.display()
        ));
    }
    Ok(Report { layout: if microsoft { "microsoft (renamed)" } else { "native transformers" }, classes, dropped, notes, manifest })
}

fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = v[r * cols + c];
        }
    }
    out
}

/// The stored bytes of one tensor (little-endian, as safetensors and the GPU read them) and its
/// error against the source values: (max|w - s| / max|w|, ||w - s|| / ||w||).
fn encode(p: &Planned, values: &[f32]) -> (Vec<u8>, (f64, f64)) {
    let (bytes, back): (Vec<u8>, Vec<f32>) = match p.stored {
        Stored::F32 => (values.iter().flat_map(|v| v.to_le_bytes()).collect(), values.to_vec()),
        Stored::F16 => {
            let h: Vec<half::f16> = values.iter().map(|&v| half::f16::from_f32(v)).collect();
            (h.iter().flat_map(|v| v.to_le_bytes()).collect(), h.iter().map(|v| v.to_f32()).collect())
        }
        q => {
            let (n, k) = (p.shape[0], p.shape[1]);
            let words = quant::quantize(q.gpu_dtype(), n, k, values);
            let back = quant::dequantize(q.gpu_dtype(), n, k, &words);
            (words.iter().flat_map(|w| w.to_le_bytes()).collect(), back)
        }
    };
    let (mut amax, mut emax, mut w2, mut e2) = (0f64, 0f64, 0f64, 0f64);
    for (&w, &s) in values.iter().zip(&back) {
        let (w, e) = (w as f64, (w - s) as f64);
        amax = amax.max(w.abs());
        emax = emax.max(e.abs());
        w2 += w * w;
        e2 += e * e;
    }
    let rel = |e: f64, w: f64| if w > 0.0 { e / w } else { 0.0 };
    (bytes, (rel(emax, amax), rel(e2.sqrt(), w2.sqrt())))
}
