//! `qwen`: Qwen3-VL end to end on a checkpoint directory, the full-size random 2B that
//! `tests/e2e/make_random_checkpoint.py qwen3vl-2b DIR` writes (bf16, 4.26 GB). `--weights q4|q8`
//! (default q4) converts it first with the project's converter (into a temporary directory) as the
//! app's model list ships it; a directory the converter already wrote (`visionllm convert`, it
//! has a manifest.json) is loaded as it is, so the peak RSS is the model's, not the conversion's. One image (`random_model::image`, square, `--image-size`), one
//! instruction, greedy through the model's public path (`generate_from_prompt`), timed from its
//! step hook: the first step is the vision tower and the prefill (time to the first token), every
//! later one a decode step. The vision tower is also timed alone, so the prefill is the
//! difference. `prompt_ids` and `grid` go into the JSON so `pytorch_peer.py --size qwen3vl-2b`
//! runs the same prompt on the same shapes.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};
use visionllm_gpu::{DType, Device, Recorder};
use visionllm_qwen3vl::Qwen3Vl;
use visionllm_weights::Stored;

use crate::random_model;
use crate::stages::{peak_rss_bytes, Peak};
use crate::timing::{median, ms, round3};

pub struct Opts {
    pub source: PathBuf,
    pub weights: Stored,
    pub image: usize,
    pub tokens: usize,
    pub runs: usize,
    pub json: bool,
}

/// The instruction every run asks (boxes: the system message the app adds, so the prompt is the
/// app's).
const INSTRUCTION: &str = "find every car and person";

pub fn run(device: &Device, o: &Opts) -> Result<(), String> {
    if o.tokens < 2 {
        return Err(format!("--tokens {}: at least 2 (one prefill step and one decode step)", o.tokens));
    }
    let converted = Converted::new(&o.source, o.weights)?;
    let dir = converted.dir.as_deref().unwrap_or(&o.source);
    let t = Instant::now();
    let model = Qwen3Vl::load_dir(device.clone(), dir, DType::F32).map_err(|e| format!("{}: {e}", dir.display()))?;
    pollster::block_on(device.idle()).map_err(|e| e.to_string())?;
    let mut peak = Peak::default();
    peak.sample(device);
    eprintln!("loaded {} in {:.1} s", dir.display(), t.elapsed().as_secs_f64());

    let rgb = random_model::image(o.image);
    let request = Qwen3Vl::chat_request(INSTRUCTION).map_err(|e| e.to_string())?;
    let (patches, grid) = model.pixel_values(&rgb, o.image, o.image).map_err(|e| e.to_string())?;
    let prompt = model.prompt(request.system, &request.user, grid).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    // Run 0 warms up (first touch of the weights, the allocator's pools) and is not reported.
    for run in 0..=o.runs {
        let t = Instant::now();
        let mut rec = Recorder::new(device);
        model.image_features(&mut rec, &patches, grid, &mut |_, _| {}).map_err(|e| e.to_string())?;
        rec.submit();
        pollster::block_on(device.idle()).map_err(|e| e.to_string())?;
        let vision_ms = ms(t.elapsed());
        peak.sample(device);

        let tokens = if run == 0 { 2 } else { o.tokens };
        let mut step_ms = Vec::new();
        let started = Instant::now();
        let mut hook = |_: &visionllm_qwen3vl::Step| {
            step_ms.push(ms(started.elapsed()));
            ControlFlow::Continue(())
        };
        let generated = pollster::block_on(model.generate_from_prompt(&patches, &prompt, tokens, &mut hook)).map_err(|e| e.to_string())?;
        peak.sample(device);
        if run == 0 {
            eprintln!("warm-up done");
            continue;
        }
        let first = step_ms[0];
        let last = *step_ms.last().unwrap_or(&first);
        let decode_steps = step_ms.len().saturating_sub(1);
        let row = json!({
            "vision_ms": vision_ms,
            "first_token_ms": first,
            "prefill_ms": first - vision_ms,
            "decode_ms_per_token": if decode_steps > 0 { (last - first) / decode_steps as f64 } else { f64::NAN },
            "tokens": generated.ids.len(),
        });
        eprintln!("run {run}: {row}");
        rows.push(row);
    }
    let med = |key: &str| {
        let mut v: Vec<f64> = rows.iter().filter_map(|r| r[key].as_f64()).collect();
        round3(median(&mut v))
    };
    let mut out = json!({
        "model": "qwen3vl-2b (random weights)",
        "adapter": crate::kernels::device_name(device),
        "backend": device.backend_name(),
        "threads": match device { Device::Cpu(cpu) => Value::from(cpu.threads()), Device::Gpu(_) => Value::Null },
        "precision": format!("f32/{}", converted.stored_name(dir)),
        "decoding": "greedy",
        "image": o.image,
        "grid": [1, grid.h, grid.w],
        "prompt_tokens": prompt.ids.len(),
        "prompt_ids": prompt.ids,
        "tokens": rows.first().and_then(|r| r["tokens"].as_u64()),
        "peak_device_bytes": peak.0,
        "peak_rss_bytes": peak_rss_bytes(),
        "runs": rows.len(),
    });
    for key in ["vision_ms", "first_token_ms", "prefill_ms", "decode_ms_per_token"] {
        out[key] = med(key).into();
    }
    if o.json {
        println!("{out}");
    } else {
        for (k, v) in out.as_object().into_iter().flatten().filter(|(k, _)| *k != "prompt_ids") {
            println!("  {k:<22} {v}");
        }
    }
    Ok(())
}

/// The checkpoint as the converter writes it for `--weights q4|q8` (a temporary directory, removed
/// afterwards), or the source itself.
struct Converted {
    dir: Option<PathBuf>,
    weights: Stored,
}

impl Converted {
    fn new(source: &Path, weights: Stored) -> Result<Converted, String> {
        if !weights.is_quantized() || source.join("manifest.json").is_file() {
            return Ok(Converted { dir: None, weights });
        }
        let to = std::env::temp_dir().join(format!("visionllm-bench-qwen-{}", std::process::id()));
        let t = Instant::now();
        let opts = visionllm_weights::conversion_plan::Options::quant(weights);
        visionllm_weights::convert::convert_dir(source, &to, &opts).map_err(|e| format!("converting {}: {e}", source.display()))?;
        eprintln!("converted to {weights:?} in {:.1} s", t.elapsed().as_secs_f64());
        Ok(Converted { dir: Some(to), weights })
    }

    fn stored_name(&self, dir: &Path) -> String {
        match &self.dir {
            Some(_) => format!("{:?}", self.weights).to_lowercase(),
            None => crate::model::stored_matmul(dir).unwrap_or_else(|| "f32 (from the source's bf16/f16)".into()),
        }
    }
}

impl Drop for Converted {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
