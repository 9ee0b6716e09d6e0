//! `visionllm run`: one image, one task, one answer; with timings per phase.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use visionllm_florence2::generate::Decoding;
use visionllm_florence2::Florence2;
use visionllm_gpu::{DType, Device, Recorder, Tensor};
use visionllm_tasks::tokenizer::Florence2Tokenizer;
use visionllm_tasks::{post_process_generation, ImageSize};
use visionllm_tasks::image_header::MAX_SIDE;
use visionllm_weights::limits::{read_text, FileKind};

use crate::args::Args;
use crate::backend::{wait_idle, BackendArgs};
use crate::scene_cmd::parse_number;

pub const USAGE: &str = "\
USAGE: visionllm run --model DIR --image FILE --task TASK [--text INPUT] [--tokenizer FILE]
                     [--greedy | --beams N] [--max-new-tokens N] [--dump DIR] [--json] [--f16]
       visionllm run --model DIR --image FILE --instruction \"TEXT\" [--region x1,y1,x2,y2]
                     [--tokenizer FILE] [--greedy | --beams N] [--max-new-tokens N] [--json] [--f16]
       visionllm run --model QWEN3VL_DIR --image FILE --prompt \"TEXT\" [--system \"TEXT\"]
                     [--greedy] [--max-new-tokens N] [--dump DIR] [--json] [--f16]
       visionllm run --model QWEN3VL_DIR --image FILE --instruction \"TEXT\" [--max-new-tokens N] [--json]
       (all of them also take [--backend cpu|gpu|auto] [--threads N])

Runs a Florence-2 checkpoint (native transformers layout: config.json + model.safetensors) on the
GPU (WebGPU/Vulkan/Metal/DX12 through wgpu) or the CPU backend and prints the parsed answer.

With --instruction it runs exactly what the app runs for that instruction (routing, one call per
task, the options applied) and prints the instances the app draws:
{\"explanation\", \"instances\": [{\"label\", \"box\": [x1, y1, x2, y2], \"polygons\", \"quad\"}], \"text\"}
(boxes in image pixels; polygons for masks, quad for text lines; text for captions and OCR).
--greedy is the app's \"fast\" decoding, the default 3 beams its \"accurate\".

  --model           checkpoint directory
  --image           PNG, JPEG, WebP, BMP or GIF
  --task            task token, e.g. '<OD>', '<CAPTION_TO_PHRASE_GROUNDING>'
  --instruction     free text, e.g. \"find the red circles\" (instead of --task)
  --region          with --instruction: a drawn box in image pixels
  --profile         with --instruction: time every GPU dispatch on its own (slower) and add
                    \"profile\": [{kernel, dispatches, ms}] (most time first); \"gpu_work\" always
                    gives the submits and dispatches of the vision stage and per decoder step
  --text            the task's text input, if it takes one
  --tokenizer       tokenizer.json (default: DIR/tokenizer.json)
  --greedy          plain argmax: no forced tokens, no n-gram blocking
  --beams N         beam search with Florence-2's published settings (default: 3 beams)
  --max-new-tokens  default 1024 (capped by the model's positions)
  --dump DIR        write DIR/activations.safetensors (image features, encoder output, step-0 logits)
  --json            one JSON object: token_ids, text, result, timings_ms
  --f16             f16 activations (needs a GPU with shader-f16)
  --backend B       cpu, gpu or auto (default): auto runs on the GPU unless the only adapter is a
                    software one (lavapipe, SwiftShader) or there is none, then on the CPU backend
  --threads N       CPU backend threads (default: the available cores)

A Qwen3-VL checkpoint (config.json model_type \"qwen3_vl\") takes --prompt as it is: the user
message, laid out by the checkpoint's chat template with the image; greedy decoding (default 256
new tokens). --json prints token_ids (generated only), text and result (the JSON grounding answer's
boxes and points in image pixels); --dump writes vision.image_embeds, prefill.last_hidden_state and
prefill.last_logits. With --instruction it asks what the app asks (the instruction as written; a
system message asking for JSON boxes or points when it asks to find, locate, count, segment or
point) and prints {\"instruction\", \"explanation\", \"instances\", \"text\"} like Florence-2's.";

struct Timer(Instant, BTreeMap<&'static str, f64>);

impl Timer {
    fn lap(&mut self, name: &'static str, device: &Device) {
        // Wait for the device so each phase is charged its own work.
        wait_idle(device);
        self.1.insert(name, self.0.elapsed().as_secs_f64() * 1000.0);
        self.0 = Instant::now();
    }
}

/// A tokenizer.json, refused by its size before it is read.
pub(crate) fn tokenizer(path: &Path) -> Result<Florence2Tokenizer, String> {
    Florence2Tokenizer::from_bytes(read_text(path, FileKind::Tokenizer)?.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Decode an image after reading the size its header declares, so a small file declaring
/// 60000 x 60000 pixels is refused without decoding (the decoder is limited too, in case a
/// format hides its size).
pub(crate) fn open_image(path: &str) -> Result<image::RgbImage, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut prefix = Vec::new();
    file.take(visionllm_tasks::image_header::PREFIX_BYTES as u64).read_to_end(&mut prefix).map_err(|e| format!("{path}: {e}"))?;
    let (w, h) = visionllm_tasks::image_header::declared_size(&prefix).map_err(|e| format!("{path}: {e}"))?;
    if w == 0 || h == 0 {
        return Err(format!("{path}: the image is empty ({w}x{h})"));
    }
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(format!("{path} declares {w}x{h} pixels; the limit is {MAX_SIDE} per side: resize it first"));
    }
    let mut reader = image::ImageReader::open(path).map_err(|e| format!("{path}: {e}"))?.with_guessed_format().map_err(|e| format!("{path}: {e}"))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(1 << 30);
    reader.limits(limits);
    Ok(reader.decode().map_err(|e| format!("{path}: {e}"))?.to_rgb8())
}

pub fn run(args: &mut Args) -> Result<(), String> {
    if let Some(dir) = args.peek("--model") {
        let dir = PathBuf::from(dir);
        if crate::qwen_run::model_type(&dir).as_deref() == Some("qwen3_vl") {
            let _ = args.value("--model")?;
            return crate::qwen_run::run(args, &dir);
        }
    }
    if args.has("--instruction") {
        return crate::instruction_run::run(args);
    }
    let model_dir = PathBuf::from(args.required("--model")?);
    let image_path = args.required("--image")?;
    let task = args.required("--task")?;
    let text_input = args.value("--text")?.unwrap_or_default();
    let tokenizer_path = args.value("--tokenizer")?.map(PathBuf::from).unwrap_or_else(|| model_dir.join("tokenizer.json"));
    let decoding = decoding(args)?;
    let max_new = max_new_tokens(args)?;
    let dump = args.value("--dump")?.map(PathBuf::from);
    let json = args.flag("--json");
    let f16 = args.flag("--f16");
    let backend = BackendArgs::take(args)?;
    std::mem::take(args).finish()?;

    let mut timer = Timer(Instant::now(), BTreeMap::new());
    let (device, backend_reason) = backend.open()?;
    let tokenizer = tokenizer(&tokenizer_path)?;
    let model = Florence2::load_dir(device.clone(), &model_dir, if f16 { DType::F16 } else { DType::F32 }).map_err(|e| e.to_string())?;
    timer.lap("load", &device);

    let img = open_image(&image_path)?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let pixels = model.pixel_values(img.as_raw(), w, h).map_err(|e| e.to_string())?;
    timer.lap("preprocess", &device);

    let mut features_tap = None;
    let mut rec = Recorder::new(&device);
    let features = model.image_features(&mut rec, &pixels, &mut |n, t| {
        if n == "projector.image_features" {
            features_tap = Some(t.clone());
        }
    }).map_err(|e| e.to_string())?;
    rec.submit();
    timer.lap("vision", &device);

    // A task string from the command line is the reference's `task` argument: its task token is
    // found in it as the reference processor finds it.
    let ids = tokenizer.encoder_input_ids(&format!("{task}{text_input}"), features.dims2().0).map_err(|e| e.to_string())?;
    let generated = pollster::block_on(model.generate_with(&ids, &features, &decoding, max_new, &mut |_| ControlFlow::Continue(()))).map_err(|e| e.to_string())?;
    timer.1.insert("encoder", generated.encode_time.as_secs_f64() * 1000.0);
    timer.1.insert("decode", generated.decode_time.as_secs_f64() * 1000.0);
    let text = tokenizer.decode(&generated.ids).map_err(|e| e.to_string())?;
    let result = post_process_generation(&task, &text, ImageSize { width: w as u32, height: h as u32 });

    if let (Some(dir), Some(features_tap)) = (dump, features_tap) {
        write_dump(&model, &features, &ids, vec![("projector.image_features".into(), features_tap)], &dir)?;
    }
    let timings = &timer.1;
    let tokens_per_s = generated.new_tokens() as f64 / (timings["decode"] / 1000.0).max(1e-9);
    if json {
        let out = serde_json::json!({
            "token_ids": generated.ids,
            "text": text,
            "result": result,
            "score": generated.score,
            "timings_ms": timings,
            "decode_tokens_per_s": tokens_per_s,
            "backend": device.backend_name(),
            "backend_reason": backend_reason,
            "device": device.describe(),
        });
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?);
        eprintln!("text: {text}");
        eprintln!("device: {} ({backend_reason})", device.describe());
        eprintln!("timings (ms): {timings:?}; decode {tokens_per_s:.1} tokens/s");
    }
    Ok(())
}

/// `--greedy` or `--beams N` (default: Florence-2's published 3 beams), checked before the model
/// loads so a bad value is reported at once.
pub(crate) fn decoding(args: &mut Args) -> Result<Decoding, String> {
    let greedy = args.flag("--greedy");
    let beams = args.value("--beams")?;
    if greedy && beams.is_some() {
        return Err("--greedy and --beams are exclusive".into());
    }
    let decoding = if greedy { Decoding::Greedy } else { Decoding::florence_beams(parse_number("--beams", beams, 3)?) };
    decoding.check()?;
    Ok(decoding)
}

pub(crate) fn max_new_tokens(args: &mut Args) -> Result<usize, String> {
    parse_number("--max-new-tokens", args.value("--max-new-tokens")?, 1024)
}

/// activations.safetensors with f32 tensors [1, rows, cols]: the image features, the encoder's
/// output and the first decoder step's logits (the encoder runs again here, only for the dump).
fn write_dump(model: &Florence2, features: &Tensor, ids: &[u32], mut taps: Vec<(String, Tensor)>, dir: &Path) -> Result<(), String> {
    let mut rec = Recorder::new(model.device());
    let encoded = model.encode(&mut rec, ids, features, &mut |_, _| {}).map_err(|e| e.to_string())?;
    let logits = model.first_step_logits(&mut rec, &encoded, &mut |_, _| {}).map_err(|e| e.to_string())?;
    taps.push(("encoder.last_hidden_state".into(), encoded));
    taps.push(("decoder.step0.logits".into(), logits));
    let taps = taps.into_iter().map(|(n, t)| {
        let (rows, cols) = t.dims2();
        (n, vec![1, rows, cols], t)
    });
    write_activations(rec, dir, taps.collect())
}

/// Submits `rec`, reads each tensor back as f32 and writes DIR/activations.safetensors with each
/// under its name and the given shape (`visionllm run --dump`, both families).
pub(crate) fn write_activations(mut rec: Recorder, dir: &Path, taps: Vec<(String, Vec<usize>, Tensor)>) -> Result<(), String> {
    let device = rec.device();
    let staged: Vec<_> = taps.into_iter().map(|(n, shape, t)| Ok((n, shape, rec.stage_read(&t).map_err(|e| e.to_string())?))).collect::<Result<_, String>>()?;
    rec.submit();
    let mut tensors = Vec::new();
    for (name, shape, s) in staged {
        let values = pollster::block_on(s.read_f32(device)).map_err(|e| e.to_string())?;
        tensors.push((name, shape, values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()));
    }
    write_safetensors(dir, &tensors)
}

/// DIR/activations.safetensors from (name, shape, little-endian f32 bytes).
fn write_safetensors(dir: &Path, tensors: &[(String, Vec<usize>, Vec<u8>)]) -> Result<(), String> {
    let views = tensors
        .iter()
        .map(|(n, shape, b)| safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), b).map(|v| (n.clone(), v)).map_err(|e| format!("{n}: {e}")))
        .collect::<Result<Vec<_>, String>>()?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("activations.safetensors");
    safetensors::serialize_to_file(views, None, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}
