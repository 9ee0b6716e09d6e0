//! `visionllm route`: what an instruction does, without a model. Prints the task calls (with the
//! exact prompt each sends), the options (box or mask, class filter, most instances) and the
//! one-line explanation the app shows; or a clear error and a non-zero exit.

use visionllm_tasks::{route, BoundingBox, ImageSize, Region};

use crate::args::Args;

pub const USAGE: &str = "\
USAGE: visionllm route \"INSTRUCTION\" [--region x1,y1,x2,y2] [--image-size WxH]

Shows how an instruction is understood: one JSON object with the task calls, their prompts, the
options and the explanation. Exits 0, or prints why the instruction was refused and exits 2.

  --region      a drawn box in pixels of the image (for \"what is this?\" questions)
  --image-size  the image's size (default 1000x1000, where pixels equal Florence-2's 1000 bins)";

pub fn run(args: &mut Args) -> Result<(), String> {
    let region = args.value("--region")?;
    let size_text = args.value("--image-size")?;
    let instruction = args.positional().ok_or("missing the instruction (quote it: visionllm route \"find the dogs\")")?;
    std::mem::take(args).finish()?;
    let size = match size_text {
        Some(s) => ImageSize::parse(&s).ok_or_else(|| format!("--image-size {s:?} is not WxH (e.g. 640x480)"))?,
        None => ImageSize::new(1000, 1000),
    };
    let region = region.map(|r| parse_region(&r).map(|bbox| Region { bbox, image_size: size })).transpose()?;
    let routed = route(&instruction, region).map_err(|e| e.to_string())?;
    let calls = routed
        .tasks
        .iter()
        .map(|call| serde_json::json!({ "task": call.task.token(), "text_input": call.text_input, "prompt": call.prompt() }))
        .collect::<Vec<_>>();
    let out = serde_json::json!({
        "instruction": instruction,
        "tasks": calls,
        "options": routed.options,
        "explanation": routed.explanation,
        "fallback": routed.fallback,
    });
    println!("{out}");
    Ok(())
}

/// "x1,y1,x2,y2" in pixels: four finite numbers.
pub(crate) fn parse_region(text: &str) -> Result<BoundingBox, String> {
    let values: Vec<f32> = text.split(',').map(|v| v.trim().parse::<f32>()).collect::<Result<_, _>>().map_err(|_| bad_region(text))?;
    match values.as_slice() {
        &[x1, y1, x2, y2] if values.iter().all(|v| v.is_finite()) => Ok(BoundingBox::new(x1, y1, x2, y2)),
        _ => Err(bad_region(text)),
    }
}

fn bad_region(text: &str) -> String {
    format!("--region {:?} is not four numbers x1,y1,x2,y2 (pixels)", text.chars().take(80).collect::<String>())
}
