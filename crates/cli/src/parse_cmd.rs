//! `visionllm parse`: generated text -> the JSON transformers' `post_process_generation` returns.

use crate::args::Args;
use std::io::Read;
use visionllm_tasks::export::{coco_results, Categories};
use visionllm_tasks::{parse, post_process_generation, ImageSize, Task};

pub const USAGE: &str = "\
USAGE: visionllm parse --task <TASK> --image-size <W>x<H> --text <TEXT> [--json | --coco] [--pretty]

Parses Florence-2 generated text (decoded with special tokens kept) for a task token such as
'<OD>' and prints {\"<OD>\": {\"bboxes\": [[x1,y1,x2,y2], ...], \"labels\": [...]}}, shaped exactly like
transformers' Florence2Processor.post_process_generation, coordinates in original-image pixels.

  --task        task token, e.g. '<OD>', '<OCR_WITH_REGION>' (unknown tokens parse as plain text)
  --image-size  original image size, width x height, e.g. 640x480
  --text        the generated text; '-' reads it from stdin
  --json        transformers-shaped JSON (the default)
  --coco        COCO results JSON instead (image_id 0, score 1.0)
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
    let json_flag = args.flag("--json");
    let coco = args.flag("--coco");
    let pretty = args.flag("--pretty");
    std::mem::take(args).finish()?;
    if json_flag && coco {
        return Err("--json and --coco are exclusive".into());
    }
    if Task::from_token(&task).is_none() {
        eprintln!(
            "visionllm parse: unknown task {task:?}, parsing as plain text (as the reference does)"
        );
    }
    let value = if coco {
        let answer = Task::from_token(&task).map(|t| parse(t, &text, size));
        let results = answer
            .map(|a| coco_results(0, &a, size, &mut Categories::default(), 1.0))
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
