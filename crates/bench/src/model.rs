//! `model`: Florence-2 end to end, stage by stage. `--size base|large`: full-size random weights
//! (random_model.rs), `<OD>`, greedy and 3 beams, one JSON object per decoding (one per line,
//! told apart by `"decoding"`). `--size demo`: the embedded demo model (real weights) on a demo
//! scene, `<OPEN_VOCABULARY_DETECTION>red circles`, greedy.

use std::path::{Path, PathBuf};

use serde_json::Value;
use visionllm_florence2::{Decoding, Florence2};
use visionllm_gpu::{DType, Device};
use visionllm_tasks::Florence2Tokenizer;
use visionllm_weights::{Checkpoint, Stored};

use crate::kernels::device_name;
use crate::random_model;
use crate::stages::{self, device_bytes, peak_rss_bytes, Peak};
use crate::timing::{median, ms, round3};

pub struct Opts {
    pub size: String,
    pub image: Option<usize>,
    pub tokens: Option<usize>,
    pub runs: Option<usize>,
    /// Input side of the untimed warm-up run (compiles the pipelines); 0: none.
    pub warmup_image: usize,
    /// Activations; `None`: f32 where the model fits the adapter's binding limit, else f16.
    pub dtype: Option<DType>,
    pub weights: Stored,
    pub json: bool,
}

/// Activation dtype as the `precision` field writes it.
fn name(d: DType) -> &'static str {
    if d == DType::F16 {
        "f16"
    } else {
        "f32"
    }
}

pub fn run(device: &Device, o: &Opts) -> Result<(), String> {
    if o.dtype == Some(DType::F16) && !device.supports_f16() {
        return Err(format!("--dtype f16 needs a GPU with shader-f16, not {}", device.describe()));
    }
    if o.size == "demo" {
        return demo(device, o.dtype.unwrap_or(DType::F32), o);
    }
    let size = random_model::size(&o.size).ok_or_else(|| format!("--size {}: base, large or demo", o.size))?;
    let dtype = o.dtype.unwrap_or_else(|| auto_dtype(device, &size, o.weights));
    let tok = Florence2Tokenizer::from_bytes(random_model::TOKENIZER).map_err(|e| e.to_string())?;
    let t = std::time::Instant::now();
    let (bytes, elements) = random_model::safetensors(&size, tok.eos_id())?;
    let source = Source::new(&size, &tok, bytes, o.weights)?;
    eprintln!("random {} weights: {elements} values in {:.1} s", o.size, t.elapsed().as_secs_f64());
    let image = o.image.unwrap_or(768);
    let tokens = o.tokens.unwrap_or(20);
    let decodings = [("greedy", Decoding::Greedy), ("beam3", Decoding::florence_beams(3))];

    if o.warmup_image > 0 {
        let model = source.load(device, o.warmup_image, dtype)?;
        let pixels = model.pixel_values(&random_model::image(o.warmup_image), o.warmup_image, o.warmup_image).map_err(|e| e.to_string())?;
        let (features, _) = stages::vision(&model, &pixels)?;
        let ids = tok.encoder_input_ids("<OD>", features.dims2().0).map_err(|e| e.to_string())?;
        for (_, d) in &decodings {
            stages::generate(&model, &ids, &features, d, 2, &mut Peak::default())?;
        }
        drop((features, model));
        device.trim();
        if let Some(g) = device.gpu() {
            g.profiler.take();
        }
        eprintln!("warm-up at {} done", o.warmup_image);
    }

    let t = std::time::Instant::now();
    let model = source.load(device, image, dtype)?;
    // Uploads go through staging memory the device frees once they are done: wait, so the
    // memory figures count the model, not its upload.
    pollster::block_on(device.idle()).map_err(|e| e.to_string())?;
    eprintln!("loaded at {image} in {:.1} s, {:?} bytes on the device", t.elapsed().as_secs_f64(), device_bytes(device));
    let rgb = random_model::image(image);
    let pixels = model.pixel_values(&rgb, image, image).map_err(|e| e.to_string())?;
    let mut rows: Vec<Vec<Measured>> = (0..decodings.len()).map(|_| Vec::new()).collect();
    for _ in 0..o.runs.unwrap_or(1) {
        let mut peak = Peak::default();
        peak.sample(device);
        let (features, vision_ms) = stages::vision(&model, &pixels)?;
        peak.sample(device);
        eprintln!("vision {vision_ms:.0} ms");
        stages::print_profile(device, "vision");
        let ids = tok.encoder_input_ids("<OD>", features.dims2().0).map_err(|e| e.to_string())?;
        for (i, (label, d)) in decodings.iter().enumerate() {
            let mut p = peak;
            let dec = stages::generate(&model, &ids, &features, d, tokens, &mut p)?;
            eprintln!("{label}: encoder {:.0} ms, {} tokens in {:.0} ms", dec.encoder_ms, dec.tokens(), dec.decode_ms);
            stages::print_profile(device, label);
            let mut v = dec.json();
            v["prompt_tokens"] = ids.len().into();
            rows[i].push(Measured { vision_ms, fields: v, peak: p });
        }
    }
    let precision = format!("{}/{}", name(dtype), source.weights(dtype));
    for ((label, _), runs) in decodings.iter().zip(rows) {
        let mut out = summarise(&runs);
        stamp(&mut out, device);
        out["image"] = image.into();
        out["precision"] = precision.clone().into();
        out["decoding"] = (*label).into();
        out["model"] = format!("florence2-{} (random weights)", o.size).into();
        emit(&out, o.json);
    }
    Ok(())
}

/// f32 activations when the largest weight, the tied embedding / lm_head [vocab, d], fits one
/// storage binding in f32 (or is quantized); else f16 where the adapter has it (lavapipe binds
/// 128 MiB; base's table is 158 MB in f32, 79 MB in f16).
fn auto_dtype(device: &Device, size: &random_model::Size, weights: Stored) -> DType {
    let cfg: Value = serde_json::from_str(size.config).unwrap_or_default();
    let t = &cfg["text_config"];
    let table = t["vocab_size"].as_u64().unwrap_or(0) * t["d_model"].as_u64().unwrap_or(0) * 4;
    if weights.is_quantized() || table <= device.max_tensor_bytes() || !device.supports_f16() {
        DType::F32
    } else {
        DType::F16
    }
}

/// Where the random weights are loaded from: in memory as they are (f32/f16 weights), or
/// converted by the project's converter (`--weights q8|q4`) into a temporary directory.
struct Source {
    config: String,
    bytes: Vec<u8>,
    converted: Option<PathBuf>,
}

impl Source {
    fn new(size: &random_model::Size, tok: &Florence2Tokenizer, bytes: Vec<u8>, weights: Stored) -> Result<Source, String> {
        let config = random_model::config_json(size, tok.image_token_id())?;
        if !weights.is_quantized() {
            return Ok(Source { config, bytes, converted: None });
        }
        let root = std::env::temp_dir().join(format!("visionllm-bench-{}", std::process::id()));
        let (from, to) = (root.join("source"), root.join("converted"));
        std::fs::create_dir_all(&from).map_err(|e| e.to_string())?;
        std::fs::write(from.join("model.safetensors"), &bytes).map_err(|e| e.to_string())?;
        std::fs::write(from.join("config.json"), &config).map_err(|e| e.to_string())?;
        std::fs::write(from.join("tokenizer.json"), random_model::TOKENIZER).map_err(|e| e.to_string())?;
        let opts = visionllm_weights::conversion_plan::Options::quant(weights);
        visionllm_weights::convert::convert_dir(&from, &to, &opts).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_dir_all(&from);
        Ok(Source { config, bytes: Vec::new(), converted: Some(to) })
    }

    fn load(&self, device: &Device, image: usize, dtype: DType) -> Result<Florence2, String> {
        let cfg = visionllm_florence2::Florence2Config::from_json(&self.config)?;
        let ckpt = match &self.converted {
            Some(dir) => Checkpoint::open_dir(dir),
            None => Checkpoint::from_bytes(vec![("model.safetensors".into(), self.bytes.clone())]),
        }
        .map_err(|e| e.to_string())?;
        Florence2::load(device.clone(), cfg, image, &ckpt, dtype).map_err(|e| e.to_string())
    }

    /// How the matmul weights sit on the GPU: as converted, else in the activation dtype.
    fn weights(&self, act: DType) -> String {
        self.converted.as_deref().and_then(stored_matmul).unwrap_or_else(|| name(act).into())
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        if let Some(dir) = self.converted.as_ref().and_then(|d| d.parent()) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// How a converted checkpoint stores its matmul weights (`manifest.json`: quantization.matmul).
pub fn stored_matmul(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    let manifest: Value = serde_json::from_str(&text).ok()?;
    manifest["quantization"]["matmul"].as_str().map(str::to_string)
}

/// One run of one decoding: the vision time it shares, the per-decoding fields, its peak.
struct Measured {
    vision_ms: f64,
    fields: Value,
    peak: Peak,
}

/// Medians over runs of every timed field; the peak is the highest seen.
fn summarise(runs: &[Measured]) -> Value {
    let med = |f: &dyn Fn(&Measured) -> Option<f64>| {
        let mut v: Vec<f64> = runs.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| round3(median(&mut v)))
    };
    let mut out = runs[0].fields.clone();
    out["vision_ms"] = med(&|r| Some(r.vision_ms)).into();
    for key in ["encoder_ms", "decode_ms_per_token", "first_step_ms"] {
        out[key] = med(&|r| r.fields[key].as_f64()).into();
    }
    out["peak_device_bytes"] = runs.iter().filter_map(|r| r.peak.0).max().into();
    out["peak_rss_bytes"] = peak_rss_bytes().into();
    out["runs"] = runs.len().into();
    out
}

/// Which backend ran, on how many threads (the CPU backend's), and the adapter.
fn stamp(out: &mut Value, device: &Device) {
    out["adapter"] = device_name(device).into();
    out["backend"] = device.backend_name().into();
    out["threads"] = match device {
        Device::Cpu(cpu) => cpu.threads().into(),
        Device::Gpu(_) => Value::Null,
    };
}

fn emit(out: &Value, as_json: bool) {
    if as_json {
        println!("{out}");
        return;
    }
    println!("{} on {}", out["model"].as_str().unwrap_or(""), out["adapter"].as_str().unwrap_or(""));
    for key in ["backend", "threads", "decoding", "image", "precision", "vision_ms", "encoder_ms", "decode_ms_per_token", "first_step_ms", "tokens", "submits_per_token", "dispatches_per_token", "peak_device_bytes", "peak_rss_bytes", "runs"] {
        println!("  {key:<22} {}", out[key]);
    }
    if let Some(a) = out.get("answer") {
        println!("  {:<22} {a}", "answer");
    }
}

/// The demo model in `public/models/demo` (its own input size, its own tokenizer), greedy.
fn demo(device: &Device, dtype: DType, o: &Opts) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("public/models/demo");
    let task = "<OPEN_VOCABULARY_DETECTION>red circles";
    let model = Florence2::load_dir(device.clone(), &dir, dtype).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tok = Florence2Tokenizer::from_bytes(&std::fs::read(dir.join("tokenizer.json")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let img = image::open(root.join("public/examples/scene-1000006020.png")).map_err(|e| e.to_string())?.to_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let tokens = o.tokens.unwrap_or(1024);
    let runs = o.runs.unwrap_or(3);
    let mut measured = Vec::new();
    let mut answer = String::new();
    // Run 0 is the warm-up (pipelines compile there); the rest are measured.
    for run in 0..=runs {
        let t = std::time::Instant::now();
        let pixels = model.pixel_values(img.as_raw(), w, h).map_err(|e| e.to_string())?;
        let preprocess_ms = ms(t.elapsed());
        let mut peak = Peak::default();
        let (features, vision_ms) = stages::vision(&model, &pixels)?;
        peak.sample(device);
        let ids = tok.encoder_input_ids(task, features.dims2().0).map_err(|e| e.to_string())?;
        let dec = stages::generate(&model, &ids, &features, &Decoding::Greedy, tokens, &mut peak)?;
        answer = tok.decode(&dec.ids).map_err(|e| e.to_string())?;
        let total_ms = ms(t.elapsed());
        if run > 0 {
            stages::print_profile(device, "demo run");
            let mut v = dec.json();
            v["prompt_tokens"] = ids.len().into();
            v["preprocess_ms"] = preprocess_ms.into();
            v["total_ms"] = total_ms.into();
            measured.push(Measured { vision_ms, fields: v, peak });
        } else if let Some(g) = device.gpu() {
            g.profiler.take();
        }
    }
    let mut out = summarise(&measured);
    for key in ["preprocess_ms", "total_ms"] {
        let mut v: Vec<f64> = measured.iter().filter_map(|r| r.fields[key].as_f64()).collect();
        out[key] = round3(median(&mut v)).into();
    }
    stamp(&mut out, device);
    out["image"] = model.input_size().into();
    out["precision"] = format!("{}/{}", name(dtype), stored_matmul(&dir).unwrap_or_else(|| name(dtype).into())).into();
    out["decoding"] = "greedy".into();
    out["model"] = "demo (public/models/demo)".into();
    out["task"] = task.into();
    out["answer"] = answer.into();
    emit(&out, o.json);
    Ok(())
}
