//! `visionllm run` on a Qwen3-VL checkpoint (config.json `model_type` "qwen3_vl"): the user's
//! prompt goes to the model as it is, laid out by the checkpoint's chat template; the answer is
//! parsed as JSON grounding (boxes and points in image pixels).

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use visionllm_gpu::{DType, Device, Recorder, Tensor};
use visionllm_qwen3vl::generate::MAX_NEW_TOKENS;
use visionllm_qwen3vl::instruct::BOXES_ONLY_NOTE;
use visionllm_qwen3vl::{Grid, Prompt, Qwen3Vl};
use visionllm_tasks::chat_request::ChatAnswer;
use visionllm_tasks::label_record::instance_json;
use visionllm_tasks::parse::grounding_json::parse_grounding;
use visionllm_tasks::ImageSize;

use crate::args::Args;
use crate::run_cmd::open_image;
use crate::scene_cmd::parse_number;

/// The `model_type` of config.json in `dir`, when it has one (a missing or unreadable config is
/// reported by the model's own loader with its path).
pub fn model_type(dir: &Path) -> Option<String> {
    use visionllm_weights::limits::{read_text, FileKind};
    let text = read_text(&dir.join("config.json"), FileKind::Config).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value.get("model_type")?.as_str().map(str::to_owned)
}

pub fn run(args: &mut Args, model_dir: &Path) -> Result<(), String> {
    let image_path = args.required("--image")?;
    // --instruction: what the app asks (`tasks::chat_request`: the instruction as the user
    // message, a system message asking for JSON boxes or points when it asks for places) and
    // prints the instances the app draws; --prompt: the user message alone, as given.
    let instruction = args.value("--instruction")?;
    let prompt_args = match &instruction {
        Some(_) if args.has("--prompt") || args.has("--system") => {
            return Err("--instruction chooses the messages: it cannot be combined with --prompt or --system".into());
        }
        // Refused before the model loads when empty or over-long.
        Some(text) => Qwen3Vl::chat_request(text).map(|_| None).map_err(|e| e.to_string())?,
        None => Some((args.required("--prompt")?, args.value("--system")?)),
    };
    // Greedy is the only decoding this family has; the flag is accepted so one command line
    // works for both families.
    let _ = args.flag("--greedy");
    let max_new = parse_number("--max-new-tokens", args.value("--max-new-tokens")?, 256)?;
    if max_new == 0 || max_new > MAX_NEW_TOKENS {
        return Err(format!("--max-new-tokens {max_new}: must be 1..={MAX_NEW_TOKENS}"));
    }
    let dump = args.value("--dump")?.map(std::path::PathBuf::from);
    let json = args.flag("--json");
    let f16 = args.flag("--f16");
    let backend = crate::backend::BackendArgs::take(args)?;
    std::mem::take(args).finish()?;

    let mut timings = BTreeMap::new();
    let mut clock = Instant::now();
    let mut lap = |name: &'static str, device: &Device| {
        crate::backend::wait_idle(device);
        timings.insert(name, clock.elapsed().as_secs_f64() * 1000.0);
        clock = Instant::now();
    };
    let (device, backend_reason) = backend.open()?;
    let model = Qwen3Vl::load_dir(device.clone(), model_dir, if f16 { DType::F16 } else { DType::F32 }).map_err(|e| e.to_string())?;
    lap("load", &device);

    let img = open_image(&image_path)?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let size = ImageSize { width: w as u32, height: h as u32 };
    let Some((prompt_text, system)) = prompt_args else {
        // The app's path for family #2 (`Qwen3Vl::run_instruction`), so both print the same.
        let instruction = instruction.unwrap_or_default();
        let run = pollster::block_on(model.run_instruction(img.as_raw(), size, &instruction, max_new, &mut |_| ControlFlow::Continue(()))).map_err(|e| e.to_string())?;
        crate::backend::wait_idle(&device);
        timings.insert("preprocess", run.timings.preprocess_ms);
        timings.insert("generate", run.timings.first_token_ms + run.timings.decode_ms);
        if let Some(dir) = dump {
            let (patches, grid) = model.pixel_values(img.as_raw(), w, h).map_err(|e| e.to_string())?;
            write_dump(&model, &patches, grid, &run.prompt, &dir)?;
        }
        let note = (run.request.answer == (ChatAnswer::Boxes { segment: true })).then_some(BOXES_ONLY_NOTE);
        let text_answer = run.request.answer == ChatAnswer::Text;
        let instances: Vec<serde_json::Value> = run.reply.instances.iter().map(instance_json).collect();
        let out = serde_json::json!({
            "instruction": run.request.user,
            "explanation": run.explanation,
            "note": note,
            "system": run.request.system,
            "instances": instances,
            "text": if text_answer { serde_json::json!(run.reply.generated_text) } else { serde_json::Value::Null },
            "generated_text": run.reply.generated_text,
            "token_ids": run.ids,
            "timings_ms": timings,
            "backend": device.backend_name(),
            "backend_reason": backend_reason,
            "device": device.describe(),
        });
        println!("{}", if json { out.to_string() } else { serde_json::to_string_pretty(&out).map_err(|e| e.to_string())? });
        return Ok(());
    };
    let (patches, grid) = model.pixel_values(img.as_raw(), w, h).map_err(|e| e.to_string())?;
    let prompt = model.prompt(system.as_deref(), &prompt_text, grid).map_err(|e| e.to_string())?;
    lap("preprocess", &device);

    let generated = pollster::block_on(model.generate_from_prompt(&patches, &prompt, max_new, &mut |_| ControlFlow::Continue(()))).map_err(|e| e.to_string())?;
    lap("generate", &device);
    let text = model.chat.decode(&generated.ids).map_err(|e| e.to_string())?;
    let result = parse_grounding(&text, size);

    if let Some(dir) = dump {
        write_dump(&model, &patches, grid, &prompt, &dir)?;
    }
    let decode_s = timings["generate"] / 1000.0;
    if json {
        let out = serde_json::json!({
            "model_type": "qwen3_vl",
            "token_ids": generated.ids,
            "prompt_len": generated.prompt_len,
            "text": text,
            "result": result,
            "timings_ms": timings,
            "tokens_per_s": generated.ids.len() as f64 / decode_s.max(1e-9),
            "backend": device.backend_name(),
            "backend_reason": backend_reason,
            "device": device.describe(),
        });
        println!("{out}");
    } else {
        println!("{text}");
        eprintln!("parsed: {}", serde_json::to_string(&result).map_err(|e| e.to_string())?);
        eprintln!("device: {} ({backend_reason})", device.describe());
        eprintln!("timings (ms): {timings:?}");
    }
    Ok(())
}

/// activations.safetensors with f32 tensors: `vision.image_embeds` [image tokens, d] (after the
/// merger), `prefill.last_hidden_state` [prompt length, d] (after the final norm) and
/// `prefill.last_logits` [vocab]; the vision tower and prefill run again here, only for the dump.
fn write_dump(model: &Qwen3Vl, patches: &[f32], grid: Grid, prompt: &Prompt, dir: &Path) -> Result<(), String> {
    let mut rec = Recorder::new(model.device());
    let mut taps: Vec<(String, Tensor)> = Vec::new();
    let mut keep = |name: &str, t: &Tensor| {
        if name == "vision.image_embeds" || name == "prefill.last_hidden_state" {
            taps.push((name.to_owned(), t.clone()));
        }
    };
    let image = model.image_features(&mut rec, patches, grid, &mut keep).map_err(|e| e.to_string())?;
    let mut state = model.start(&mut rec, prompt, 1);
    let logits = model.prefill(&mut rec, &mut state, prompt, &image, &mut keep).map_err(|e| e.to_string())?;
    let mut taps: Vec<(String, Vec<usize>, Tensor)> = taps.into_iter().map(|(n, t)| {
        let (rows, cols) = t.dims2();
        (n, vec![rows, cols], t)
    }).collect();
    taps.push(("prefill.last_logits".into(), vec![model.vocab_size()], logits));
    crate::run_cmd::write_activations(rec, dir, taps)
}
