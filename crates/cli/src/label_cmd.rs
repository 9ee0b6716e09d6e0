//! `visionllm label`: one instruction over many images, one JSON line per image as it finishes
//! (the instances the app would draw, with the model's box scores), resumable and shardable;
//! `--coco` also writes the COCO dataset of everything in the output. `label merge` joins shards.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};
use visionllm_florence2::{label_line, Decoding, Florence2, Instruction, RgbImage};
use visionllm_gpu::DType;
use visionllm_tasks::coco_dataset::coco_text;
use visionllm_tasks::{Florence2Tokenizer, ImageSize};

use crate::args::Args;
use crate::label_inputs::{in_shard, list, parse_shard};
use crate::label_merge::{join, read_output, write_atomically};
use crate::backend::BackendArgs;
use crate::run_cmd::{max_new_tokens, open_image, tokenizer};

pub const USAGE: &str = "\
USAGE: visionllm label --model <DIR> --instruction <TEXT> --input <DIR|LIST> --out <results.jsonl>
                       [--coco <coco.json>] [--categories FILE] [--shard I/N] [--max-new-tokens N] [--f16]
                       [--backend cpu|gpu|auto] [--threads N]
       visionllm label merge <A.jsonl> [<B.jsonl> ...] --coco <OUT.json> [--categories FILE]

Labels every image under DIR (recursively: png, jpg, jpeg, webp, bmp, gif, tif, tiff), or every
path in LIST (one per line, relative to the list's folder), with one instruction, exactly as the
app does (same routing, same instances), greedy. Appends one JSON line per image to --out as it
finishes: {\"image\", \"width\", \"height\", \"instances\": [{\"label\", \"box\", \"polygons\"?,
\"quad\"?, \"score\"}], \"calls\", \"ms\"}, or {\"image\", \"error\"} for an image it cannot read.
Images already in --out are skipped, so a killed run continues where it stopped.

  --shard I/N    label only shard I of N (0-based; a hash of each image's name decides, so
                 every machine agrees); merge the shards' outputs with `label merge`
  --coco FILE    after the run, the COCO dataset of every image in --out (as `label merge`)
  --categories   category ids to use before COCO's and new ones (a COCO file or its list)
  --backend, --threads  as for `visionllm run` (CPU nodes of a cluster: auto picks the CPU backend)

`label merge` joins outputs (shards) into one COCO dataset file, the file a single run's --coco
writes: images sorted by name with ids 1, 2, ..., one annotation per instance with its score, the
categories used (COCO's ids for COCO classes, then --categories, then new ids). Failed images are
left out and counted; an image in two outputs must have the same result in both.

Box scores are the model's own: exp of the mean log-probability of a box's label and location
tokens; polygons and quads score 1.";

pub fn run(args: &mut Args) -> Result<(), String> {
    if args.leading("merge") {
        return crate::label_merge::run(args);
    }
    let model_dir = PathBuf::from(args.required("--model")?);
    let instruction = args.required("--instruction")?;
    let input = PathBuf::from(args.required("--input")?);
    let out_path = PathBuf::from(args.required("--out")?);
    let coco = args.value("--coco")?;
    let categories = args.value("--categories")?.map(|p| crate::parse_cmd::read_categories(&p)).transpose()?;
    let shard = args.value("--shard")?.map(|s| parse_shard(&s)).transpose()?;
    let max_new_tokens = max_new_tokens(args)?;
    let f16 = args.flag("--f16");
    let backend = BackendArgs::take(args)?;
    std::mem::take(args).finish()?;
    // The instruction is checked before any model loads: a typo costs nothing.
    visionllm_tasks::route(&instruction, None).map_err(|e| format!("--instruction: {e}"))?;

    let inputs: Vec<_> = list(&input)?.into_iter().filter(|i| shard.is_none_or(|s| in_shard(&i.name, s))).collect();
    let done = resume(&out_path)?;
    let todo: Vec<_> = inputs.iter().filter(|i| !done.contains(&i.name)).collect();
    eprintln!("visionllm label: {} images{}, {} already in {}, {} to label", inputs.len(),
        shard.map(|(i, n)| format!(" in shard {i}/{n}")).unwrap_or_default(), inputs.len() - todo.len(), out_path.display(), todo.len());

    // Opened (created) even with nothing to do: every shard has an output to merge.
    let mut out = std::fs::OpenOptions::new().create(true).append(true).open(&out_path).map_err(|e| format!("{}: {e}", out_path.display()))?;
    if !todo.is_empty() {
        let (device, why) = backend.open()?;
        eprintln!("visionllm label: {} ({why})", device.describe());
        let tokenizer = tokenizer(&model_dir.join("tokenizer.json"))?;
        let model = Florence2::load_dir(device, &model_dir, if f16 { DType::F16 } else { DType::F32 }).map_err(|e| format!("{}: {e}", model_dir.display()))?;
        let started = Instant::now();
        for (k, item) in todo.iter().enumerate() {
            let t = Instant::now();
            let line = match label_one(&model, &tokenizer, &item.path, &item.name, &instruction, max_new_tokens) {
                Ok(mut record) => {
                    record["ms"] = json!((t.elapsed().as_secs_f64() * 1000.0).round());
                    record
                }
                Err(e) => json!({ "image": item.name, "error": e }),
            };
            // One write per line, so a killed run leaves at most one partial line (dropped on resume).
            out.write_all(format!("{line}\n").as_bytes()).and_then(|_| out.flush()).map_err(|e| format!("{}: {e}", out_path.display()))?;
            let per = started.elapsed().as_secs_f64() / (k + 1) as f64;
            let found = line["instances"].as_array().map_or_else(|| "failed".to_string(), |a| format!("{} instances", a.len()));
            eprintln!("[{}/{}] {}: {found}, {:.0} ms; {:.1} images/min, {:.0} s left", k + 1, todo.len(), item.name,
                t.elapsed().as_secs_f64() * 1000.0, 60.0 / per, per * (todo.len() - k - 1) as f64);
        }
    }
    if let Some(coco) = coco {
        let output = read_output(&out_path)?;
        let records = join(&[(out_path.display().to_string(), output.records)])?;
        let (text, failed) = coco_text(&records, categories.unwrap_or_default())?;
        write_atomically(Path::new(&coco), &text)?;
        eprintln!("visionllm label: COCO dataset of {} images ({failed} failed, left out) -> {coco}", records.len() - failed);
    }
    Ok(())
}

/// The names already in the output; a partial last line (a killed run) is cut off first.
fn resume(out_path: &Path) -> Result<std::collections::HashSet<String>, String> {
    if !out_path.exists() {
        return Ok(Default::default());
    }
    let output = read_output(out_path)?;
    if output.partial_tail {
        eprintln!("visionllm label: {} ends in a partial line (the run was killed while writing it): removing it", out_path.display());
        let file = std::fs::OpenOptions::new().write(true).open(out_path).map_err(|e| format!("{}: {e}", out_path.display()))?;
        file.set_len(output.valid_bytes).map_err(|e| format!("{}: {e}", out_path.display()))?;
    }
    Ok(output.records.into_iter().map(|r| r.image).collect())
}

/// One image: the instruction as the app runs it, greedy with log-probabilities for box scores.
fn label_one(model: &Florence2, tokenizer: &Florence2Tokenizer, path: &Path, name: &str, instruction: &str, max_new_tokens: usize) -> Result<Value, String> {
    let img = open_image(&path.to_string_lossy())?;
    let (width, height) = (img.width(), img.height());
    let image = RgbImage { rgb: img.as_raw(), width, height };
    let request = Instruction { text: instruction, region: None, decoding: Decoding::GreedyWithScores, max_new_tokens };
    let run = pollster::block_on(model.run_instruction(tokenizer, image, &request, &mut |_| ControlFlow::Continue(()))).map_err(|e| e.to_string())?;
    Ok(label_line(name, ImageSize::new(width, height), &run.routed.options, &run.answers))
}
