//! `visionllm run --instruction "..."`: what the app does for an instruction, without a browser.
//! The same `Florence2::run_instruction` as the app's worker (routing, the vision tower once, one
//! generation per task call) and the same `tasks::apply` as the page, so the instances printed
//! are the instances the app draws.

use std::ops::ControlFlow;
use std::path::PathBuf;

use serde_json::{json, Value};
use visionllm_florence2::{Florence2, Instruction, JobEvent, JobStage, RgbImage};
use visionllm_gpu::DType;
use visionllm_tasks::apply;
use visionllm_tasks::label_record::instance_json;

use crate::args::Args;
use crate::backend::{work_counts, BackendArgs};
use crate::run_cmd::{decoding, max_new_tokens, open_image, tokenizer};

/// Submits and dispatches of the vision stage and per decoder step (between the first and the
/// last step of the first call: the steady state of decoding).
fn gpu_work(marks: &[(&str, (u64, u64))]) -> Value {
    let at = |name: &str| marks.iter().position(|(n, _)| *n == name);
    let vision = match (at("vision"), at("call")) {
        (Some(v), Some(c)) => json!({ "submits": marks[c].1 .0 - marks[v].1 .0, "dispatches": marks[c].1 .1 - marks[v].1 .1 }),
        _ => Value::Null,
    };
    let steps: Vec<(u64, u64)> = marks.iter().skip_while(|(n, _)| *n != "step").take_while(|(n, _)| *n == "step").map(|m| m.1).collect();
    let per_token = match (steps.first(), steps.last()) {
        (Some(a), Some(b)) if steps.len() > 1 => {
            let n = (steps.len() - 1) as f64;
            json!({ "submits": (b.0 - a.0) as f64 / n, "dispatches": (b.1 - a.1) as f64 / n })
        }
        _ => Value::Null,
    };
    json!({ "vision": vision, "per_decoder_step": per_token })
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
    let profile = args.flag("--profile");
    let backend = BackendArgs::take(args)?;
    for task_only in ["--task", "--text", "--dump"] {
        if args.has(task_only) {
            return Err(format!("{task_only} cannot be combined with --instruction (the instruction chooses the tasks)"));
        }
    }
    std::mem::take(args).finish()?;

    let (device, backend_reason) = backend.open()?;
    let tokenizer = tokenizer(&tokenizer_path)?;
    let model = Florence2::load_dir(device.clone(), &model_dir, if f16 { DType::F16 } else { DType::F32 }).map_err(|e| format!("{}: {e}", model_dir.display()))?;
    let img = open_image(&image_path)?;
    let image = RgbImage { rgb: img.as_raw(), width: img.width(), height: img.height() };
    let request = Instruction { text: &instruction, region, decoding, max_new_tokens };
    if let Some(gpu) = device.gpu() {
        gpu.profiler.set_enabled(profile);
    }
    // GPU submits and dispatches at each stage boundary and decoder step, for the per-stage counts.
    let mut marks: Vec<(&'static str, (u64, u64))> = Vec::new();
    let mut on_event = |event: JobEvent| {
        let name = match event {
            JobEvent::Stage(JobStage::Vision) => Some("vision"),
            JobEvent::Stage(JobStage::Call { .. }) => Some("call"),
            JobEvent::Step { .. } => Some("step"),
            _ => None,
        };
        if let Some(name) = name {
            marks.push((name, work_counts(&device)));
        }
        ControlFlow::Continue(())
    };
    let run = pollster::block_on(model.run_instruction(&tokenizer, image, &request, &mut on_event)).map_err(|e| e.to_string())?;
    let kernels = device.gpu().map(|g| g.profiler.take()).unwrap_or_default();

    let options = &run.routed.options;
    let instances: Vec<Value> = run.answers.iter().flat_map(|a| apply(options, &a.call, &a.answer)).map(|i| instance_json(&i)).collect();
    let texts: Vec<String> = run.answers.iter().filter_map(|a| a.answer.text()).collect();
    let calls: Vec<Value> = run
        .answers
        .iter()
        .map(|a| json!({ "task": a.call.task.token(), "text_input": a.call.text_input, "generated_text": a.generated_text, "new_tokens": a.new_tokens, "score": a.score }))
        .collect();
    let t = &run.timings;
    let mut out = json!({
        "instruction": instruction,
        "explanation": run.routed.explanation,
        "fallback": run.routed.fallback,
        "instances": instances,
        "text": if texts.is_empty() { Value::Null } else { json!(texts.join("\n")) },
        "calls": calls,
        "timings_ms": { "preprocess": t.preprocess_ms, "vision": t.vision_ms, "encoder": t.encoder_ms, "decode": t.decode_ms },
        "decode_tokens": t.decode_tokens,
        "gpu_work": gpu_work(&marks),
        "backend": device.backend_name(),
        "backend_reason": backend_reason,
        "device": device.describe(),
    });
    if profile {
        out["profile"] = json!(kernels.iter().map(|k| json!({ "kernel": k.name, "dispatches": k.dispatches, "ms": k.ms })).collect::<Vec<_>>());
    }
    if compact {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?);
    }
    Ok(())
}
