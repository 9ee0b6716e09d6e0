//! `visionllm run --instruction "..."`: what the app does for an instruction, without a browser.
//! The same `Florence2::run_instruction` as the app's worker (routing, the vision tower once, one
//! generation per task call) and the same `tasks::apply` as the page, so the instances printed
//! are the instances the app draws.

use std::ops::ControlFlow;
use std::path::PathBuf;

use serde_json::{json, Value};
use visionllm_florence2::{Florence2, Instruction, JobEvent, RgbImage};
use visionllm_gpu::{DType, Gpu, Overrides};
use visionllm_tasks::{apply, Instance, Shape};

use crate::args::Args;
use crate::run_cmd::{decoding, max_new_tokens, open_image, tokenizer};

/// `{"label", "box": [x1, y1, x2, y2], "polygons"?, "quad"?, "score"?}` in image pixels.
pub fn instance_json(instance: &Instance) -> Value {
    let mut out = json!({ "label": instance.label });
    if let Some(b) = instance.bounds() {
        out["box"] = json!([b.x1, b.y1, b.x2, b.y2]);
    }
    match &instance.shape {
        Shape::Box(_) => {}
        Shape::Polygons(parts) => out["polygons"] = json!(parts.iter().map(|p| p.points.iter().map(|q| [q.x, q.y]).collect::<Vec<_>>()).collect::<Vec<_>>()),
        Shape::Quad(q) => out["quad"] = json!(q.iter().map(|p| [p.x, p.y]).collect::<Vec<_>>()),
    }
    if let Some(score) = instance.score {
        out["score"] = json!(score);
    }
    out
}

pub fn run(args: &mut Args) -> Result<(), String> {
    let model_dir = PathBuf::from(args.required("--model")?);
    let image_path = args.required("--image")?;
    let instruction = args.required("--instruction")?;
    let region = args.value("--region")?.map(|r| crate::route_cmd::parse_region(&r)).transpose()?;
    let tokenizer_path = args.value("--tokenizer")?.map(PathBuf::from).unwrap_or_else(|| model_dir.join("tokenizer.json"));
    let decoding = decoding(args)?;
    let max_new_tokens = max_new_tokens(args)?;
    let compact = args.flag("--json");
    let f16 = args.flag("--f16");
    for task_only in ["--task", "--text", "--dump"] {
        if args.has(task_only) {
            return Err(format!("{task_only} cannot be combined with --instruction (the instruction chooses the tasks)"));
        }
    }
    std::mem::take(args).finish()?;

    let gpu = Gpu::new_blocking(Overrides::NONE).map_err(|e| e.to_string())?;
    let tokenizer = tokenizer(&tokenizer_path)?;
    let model = Florence2::load_dir(gpu.clone(), &model_dir, if f16 { DType::F16 } else { DType::F32 }).map_err(|e| format!("{}: {e}", model_dir.display()))?;
    let img = open_image(&image_path)?;
    let image = RgbImage { rgb: img.as_raw(), width: img.width(), height: img.height() };
    let request = Instruction { text: &instruction, region, decoding, max_new_tokens };
    let mut on_event = |_: JobEvent| ControlFlow::Continue(());
    let run = pollster::block_on(model.run_instruction(&tokenizer, image, &request, &mut on_event)).map_err(|e| e.to_string())?;

    let options = &run.routed.options;
    let instances: Vec<Value> = run.answers.iter().flat_map(|a| apply(options, &a.call, &a.answer)).map(|i| instance_json(&i)).collect();
    let texts: Vec<String> = run.answers.iter().filter_map(|a| a.answer.text()).collect();
    let calls: Vec<Value> = run
        .answers
        .iter()
        .map(|a| json!({ "task": a.call.task.token(), "text_input": a.call.text_input, "generated_text": a.generated_text, "new_tokens": a.new_tokens, "score": a.score }))
        .collect();
    let t = &run.timings;
    let out = json!({
        "instruction": instruction,
        "explanation": run.routed.explanation,
        "fallback": run.routed.fallback,
        "instances": instances,
        "text": if texts.is_empty() { Value::Null } else { json!(texts.join("\n")) },
        "calls": calls,
        "timings_ms": { "preprocess": t.preprocess_ms, "vision": t.vision_ms, "encoder": t.encoder_ms, "decode": t.decode_ms },
        "decode_tokens": t.decode_tokens,
        "device": gpu.caps.describe(),
    });
    if compact {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?);
    }
    Ok(())
}
