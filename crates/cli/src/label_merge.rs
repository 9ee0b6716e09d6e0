//! Reading labelling outputs back (to resume a run, to merge shards) and writing the COCO dataset
//! of all of them: `visionllm label merge A.jsonl B.jsonl ... --coco OUT.json` writes the same
//! file a single run's `--coco` does, because both sort the images by name.

use std::io::{BufRead, BufReader};
use std::path::Path;

use visionllm_tasks::coco_dataset::coco_text;
use visionllm_tasks::export::Categories;
use visionllm_tasks::label_record::{read_record, LabelRecord};

use crate::args::Args;

/// The complete lines of a labelling output and the byte length they span. A last line without
/// its newline is what a killed run leaves: it is not counted, and `valid_bytes` ends before it.
pub struct Output {
    pub records: Vec<LabelRecord>,
    pub valid_bytes: u64,
    pub partial_tail: bool,
}

pub fn read_output(path: &Path) -> Result<Output, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = BufReader::new(file);
    let mut out = Output { records: Vec::new(), valid_bytes: 0, partial_tail: false };
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            out.partial_tail = true;
            break;
        }
        let text = std::str::from_utf8(&line).map_err(|_| format!("{} line {number}: not UTF-8 text", path.display()))?;
        let record = read_record(text.trim_end()).map_err(|e| format!("{} line {number}: {e} (not a line `visionllm label` wrote; fix or move the file)", path.display()))?;
        out.records.push(record);
        out.valid_bytes += n as u64;
    }
    Ok(out)
}

/// Records of several outputs, one per image, sorted by name.
pub fn join(outputs: &[(String, Vec<LabelRecord>)]) -> Result<Vec<LabelRecord>, String> {
    let mut all: Vec<(&str, &LabelRecord)> = outputs.iter().flat_map(|(file, records)| records.iter().map(move |r| (file.as_str(), r))).collect();
    all.sort_by(|a, b| a.1.image.cmp(&b.1.image));
    let mut out: Vec<LabelRecord> = Vec::with_capacity(all.len());
    for (file, record) in all {
        match out.last() {
            Some(last) if last.image == record.image => {
                if last != record {
                    return Err(format!("{}: labelled twice with different results (again in {file})", record.image));
                }
            }
            _ => out.push(record.clone()),
        }
    }
    Ok(out)
}

/// Write `text` to `path` whole or not at all (a temporary file renamed over it).
pub fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension("json.partial");
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn run(args: &mut Args) -> Result<(), String> {
    let coco = args.required("--coco")?;
    let categories = match args.value("--categories")? {
        Some(path) => crate::parse_cmd::read_categories(&path)?,
        None => Categories::default(),
    };
    let mut files = Vec::new();
    while let Some(f) = args.positional() {
        files.push(f);
    }
    std::mem::take(args).finish()?;
    if files.is_empty() {
        return Err("name the outputs to merge".into());
    }
    let mut outputs = Vec::new();
    for f in &files {
        let output = read_output(Path::new(f))?;
        if output.partial_tail {
            eprintln!("visionllm label merge: {f} ends in a partial line (a killed run?): it is left out; rerun that shard to finish it");
        }
        outputs.push((f.clone(), output.records));
    }
    let records = join(&outputs)?;
    let (text, failed) = coco_text(&records, categories)?;
    write_atomically(Path::new(&coco), &text)?;
    eprintln!("visionllm label merge: {} images ({failed} failed, left out) from {} files -> {coco}", records.len() - failed, files.len());
    Ok(())
}
