//! `visionllm parse`: generated text -> the JSON transformers' `post_process_generation` returns.

use crate::args::Args;
use std::io::Read;
use visionllm_tasks::export::{coco_results, Categories};
use visionllm_tasks::{parse, post_process_generation, ImageSize, Task};

pub const USAGE: &str = "\
USAGE: visionllm parse --task <TASK> --image-size <W>x<H> --text <TEXT> [--json | --coco [--categories FILE]] [--pretty]

Parses Florence-2 generated text (decoded with special tokens kept) for a task token such as
'<OD>' and prints {\"<OD>\": {\"bboxes\": [[x1,y1,x2,y2], ...], \"labels\": [...]}}, shaped exactly like
transformers' Florence2Processor.post_process_generation, coordinates in original-image pixels.

  --task        task token, e.g. '<OD>', '<OCR_WITH_REGION>' (unknown tokens parse as plain text)
  --image-size  original image size, width x height, e.g. 640x480
  --text        the generated text; '-' reads it from stdin
  --json        transformers-shaped JSON (the default)
  --coco        COCO results JSON instead (image_id 0; score 1.0: parsing text sees no
                log-probabilities). Labels that are COCO classes get COCO's ids (person 1, car 3,
                ... toothbrush 90), others the next free ids
  --categories  a categories list (a COCO file's \"categories\", or the list itself) whose ids
                labels take first, e.g. your dataset's annotation file
  --pretty      indent the JSON";

pub fn run(args: &mut Args) -> Result<(), String> {
    let task = args.required("--task")?;
    let size_text = args.required("--image-size")?;
    let size = ImageSize::parse(&size_text)
        .ok_or_else(|| format!("--image-size {size_text:?} is not WxH (e.g. 640x480)"))?;
    let mut text = args.required("--text")?;
    if text == "-" {
        text.clear();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("reading stdin: {e}"))?;
    }
    let categories = args.value("--categories")?;
    let json_flag = args.flag("--json");
    let coco = args.flag("--coco");
    let pretty = args.flag("--pretty");
    std::mem::take(args).finish()?;
    if json_flag && coco {
        return Err("--json and --coco are exclusive".into());
    }
    if categories.is_some() && !coco {
        return Err("--categories goes with --coco".into());
    }
    let mut table = match categories {
        Some(path) => Categories::with_coco(read_categories(&path)?),
        None => Categories::coco(),
    };
    if Task::from_token(&task).is_none() {
        eprintln!(
            "visionllm parse: unknown task {task:?}, parsing as plain text (as the reference does)"
        );
    }
    let value = if coco {
        let answer = Task::from_token(&task).map(|t| parse(t, &text, size));
        let results = answer
            .map(|a| coco_results(0, &a, size, &mut table, &[], 1.0))
            .unwrap_or_default();
        serde_json::to_value(results).map_err(|e| e.to_string())?
    } else {
        post_process_generation(&task, &text, size)
    };
    let out = if pretty {
        serde_json::to_string_pretty(&value)
    } else {
        serde_json::to_string(&value)
    };
    println!("{}", out.map_err(|e| e.to_string())?);
    Ok(())
}

/// Most bytes a categories file may have (COCO's own annotation files are far larger, but their
/// categories are read from the same file: 1 GiB bounds a file this reads whole).
const MAX_CATEGORIES_FILE_BYTES: u64 = 1 << 30;

/// A categories list from `path` (checked: size, text, `Categories::from_json`).
pub fn read_categories(path: &str) -> Result<Categories, String> {
    let len = std::fs::metadata(path).map_err(|e| format!("--categories {path}: {e}"))?.len();
    if len > MAX_CATEGORIES_FILE_BYTES {
        return Err(format!("--categories {path}: {len} bytes, at most {MAX_CATEGORIES_FILE_BYTES}"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("--categories {path}: {e}"))?;
    Categories::from_json(&text).map_err(|e| format!("--categories {path}: {e}"))
}
