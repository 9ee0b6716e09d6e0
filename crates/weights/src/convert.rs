//! The converter: a Florence-2 checkpoint (native transformers layout, or the Microsoft key names
//! in safetensors) -> a converted directory (manifest.json, shards, config and tokenizer files).
//! The source files are memory-mapped and streamed through `StreamConverter` in pieces, exactly as
//! the browser streams a download, so both make the same shards.

use std::collections::BTreeMap;
use std::path::Path;

use crate::checkpoint::{safetensors_files, Result, WeightsError};
use crate::classify::{Class, CLASSES};
use crate::conversion_plan::ConversionPlan;
pub use crate::conversion_plan::{part_name, plan_tensors, Options, MAX_PART_BYTES};
use crate::manifest::{Manifest, Stored, MANIFEST_FILE};
use crate::source_header::{self, SourceFile};
use crate::stream_convert::StreamConverter;

/// Files copied next to the shards when the source has them (config.json is required).
const COPIED: [&str; 7] = ["config.json", "tokenizer.json", "preprocessor_config.json", "processor_config.json", "generation_config.json", "chat_template.jinja", "tokenizer_config.json"];

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

/// Pieces the mapped files are pushed in: the stream never sees a file whole, as in a browser.
const PIECE: usize = 8 << 20;

/// The output folder must not be the source folder or inside it, however either is spelled
/// (`ckpt` vs `./ckpt/`, `..` in the path, symlinks): writing shards and copying `config.json`
/// "onto itself" truncates the source to zero bytes before it is read.
pub fn refuse_output_inside_source(from: &Path, to: &Path) -> Result<()> {
    let io = |path: &Path, source| WeightsError::Io { path: path.to_path_buf(), source };
    let source = std::fs::canonicalize(from).map_err(|e| io(from, e))?;
    let output = resolve(to).map_err(|e| io(to, e))?;
    if output.starts_with(&source) {
        return Err(WeightsError::Bad {
            path: to.to_path_buf(),
            detail: format!(
                "the output folder {} is {} the source folder {}: converting there would overwrite the checkpoint; choose another --to",
                output.display(),
                if output == source { "the same as" } else { "inside" },
                source.display()
            ),
        });
    }
    Ok(())
}

/// `path` made absolute with symlinks resolved, for a path whose tail may not exist yet: walked
/// component by component, each existing prefix canonicalized (so a symlink or `..` there
/// resolves as the OS would), the missing tail applied lexically (it can hold no symlinks).
fn resolve(path: &Path) -> std::io::Result<std::path::PathBuf> {
    use std::path::Component;
    let absolute = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir()?.join(path) };
    let mut base = std::path::PathBuf::new();
    for c in absolute.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => base.push(c),
            Component::CurDir => {}
            Component::ParentDir | Component::Normal(_) => {
                let next = base.join(c);
                match std::fs::canonicalize(&next) {
                    Ok(p) => base = p,
                    Err(_) if c == Component::ParentDir => {
                        base.pop();
                    }
                    Err(_) => base = next,
                }
            }
        }
    }
    Ok(base)
}

pub fn convert_dir(from: &Path, to: &Path, opts: &Options) -> Result<Report> {
    let bad = |path: &Path, detail: String| WeightsError::Bad { path: path.to_path_buf(), detail };
    if !from.join("config.json").exists() {
        return Err(bad(from, "no config.json: point --from at a checkpoint directory (Florence-2 or Qwen3-VL)".into()));
    }
    let mut maps = Vec::new();
    let mut headers: Vec<SourceFile> = Vec::new();
    for path in safetensors_files(from)? {
        let file = std::fs::File::open(&path).map_err(|source| WeightsError::Io { path: path.clone(), source })?;
        // Safety: the file is opened read-only and not expected to change while mapped.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| WeightsError::Io { path: path.clone(), source })?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let header = source_header::parse(&name, &map).map_err(|detail| WeightsError::Format { path: path.clone(), detail })?;
        if let Some(t) = header.tensors.iter().find(|t| t.end > map.len() as u64) {
            return Err(WeightsError::Format { path: path.clone(), detail: format!("{} ends at byte {}, the file has {}: it is truncated", t.name, t.end, map.len()) });
        }
        headers.push(header);
        maps.push(map);
    }
    let plan = ConversionPlan::new(headers, *opts).map_err(|detail| bad(from, detail))?;

    // Before the first write: nothing below may touch the source folder.
    refuse_output_inside_source(from, to)?;
    std::fs::create_dir_all(to).map_err(|source| WeightsError::Io { path: to.to_path_buf(), source })?;
    // A manifest left from an earlier conversion would describe shards we are about to replace.
    let manifest_path = to.join(MANIFEST_FILE);
    if manifest_path.exists() {
        std::fs::remove_file(&manifest_path).map_err(|source| WeightsError::Io { path: manifest_path.clone(), source })?;
    }
    let mut stream = StreamConverter::new(plan, &[]);
    let mut shas = vec![String::new(); stream.plan().shards.len()];
    while let Some(fetch) = stream.next_fetch() {
        for piece in maps[fetch.file][fetch.from as usize..fetch.to as usize].chunks(PIECE) {
            for shard in stream.push(piece).map_err(|detail| bad(from, detail))? {
                let path = to.join(&stream.plan().shards[shard.index].file);
                std::fs::write(&path, &shard.bytes).map_err(|source| WeightsError::Io { path, source })?;
                shas[shard.index] = shard.sha256;
            }
        }
    }
    let (plan, stats) = stream.finish().map_err(|detail| bad(from, detail))?;

    let mut copied = BTreeMap::new();
    for f in COPIED {
        let src = from.join(f);
        if src.exists() {
            std::fs::copy(&src, to.join(f)).map_err(|source| WeightsError::Io { path: src.clone(), source })?;
            copied.insert(f, ());
        }
    }
    let manifest = plan.manifest(shas, copied.contains_key("tokenizer.json").then(|| "tokenizer.json".to_string()));
    manifest.check().map_err(|detail| bad(to, format!("the converter produced an inconsistent manifest (a bug): {detail}")))?;
    // Written last, through a rename, so a manifest only ever exists next to complete shards.
    let tmp = to.join("manifest.json.partial");
    std::fs::write(&tmp, manifest.to_json()).map_err(|source| WeightsError::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, &manifest_path).map_err(|source| WeightsError::Io { path: manifest_path.clone(), source })?;

    let mut classes: BTreeMap<Class, ClassStats> = BTreeMap::new();
    for t in &stats {
        let class = *CLASSES.iter().find(|c| c.name() == t.class).expect("a known class");
        let st = classes.entry(class).or_default();
        st.tensors += 1;
        st.params += t.values;
        st.bytes += t.bytes;
        st.stored = Some(t.stored);
        st.max_rel_err = st.max_rel_err.max(t.error.0);
        st.rms_rel_err = st.rms_rel_err.max(t.error.1);
    }
    let mut notes = Vec::new();
    let config: serde_json::Value = std::fs::read_to_string(from.join("config.json")).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    if config["model_type"] != "qwen3_vl" && config["vision_config"]["embed_dim"].is_null() {
        // The original remote-code config (`dim_embed`, no `<image>` token) is not what the model
        // loader reads; translating it (and the tokenizer) is not done here.
        notes.push(format!(
            "{} is not a native transformers Florence-2 config (no vision_config.embed_dim): before running, copy config.json and tokenizer.json from the matching florence-community/Florence-2-* repository into {}",
            from.join("config.json").display(),
            to.display()
        ));
    }
    Ok(Report { layout: plan.layout, classes, dropped: plan.dropped, notes, manifest })
}
