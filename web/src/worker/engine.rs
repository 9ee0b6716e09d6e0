//! One job: image pixels + instruction -> routed task calls -> model -> parsed answers.
//! The vision tower runs once per image; each task call (an instruction may need several, e.g.
//! one open-vocabulary detection per phrase) runs the encoder and the decoder.

use visionllm_florence2::preprocess;
use visionllm_gpu::{Gpu, Recorder};
use visionllm_tasks::{parse, route, BoundingBox, ImageSize, Region};

use super::greedy::{decode_greedy, Decoded};
use super::model_loader::LoadedModel;
use super::{now_ms, progress, WorkerState};
use crate::messages::{JobResult, Progress, Stage, TaskRun, Timings};

/// The answer length limit; the model's positions cap it further (256 for the test model).
const MAX_NEW_TOKENS: usize = 1024;

pub struct JobInput {
    pub job: u64,
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
    pub instruction: String,
    pub region: Option<BoundingBox>,
}

/// Resolves when the GPU has finished everything submitted so far, so a stage's time is its own.
async fn gpu_idle(gpu: &Gpu) {
    let (tx, rx) = futures_channel::oneshot::channel();
    gpu.queue.on_submitted_work_done(move || {
        let _ = tx.send(());
    });
    let _ = rx.await;
}

fn rgba_to_rgb(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect()
}

/// `Ok(None)` when the job was cancelled.
pub async fn run_job(state: &WorkerState, loaded: &LoadedModel, input: JobInput) -> Result<Option<JobResult>, String> {
    let JobInput { job, width, height, rgba, instruction, region } = input;
    // The page checked the image, but the message is the worker's input: sizes within the
    // image limit, and the pixel count in checked arithmetic (w * h * 4 overflows 32 bits).
    let max = crate::image_limits::MAX_SIDE;
    let (w, h) = (usize::try_from(width).unwrap_or(usize::MAX), usize::try_from(height).unwrap_or(usize::MAX));
    let want = w.checked_mul(h).and_then(|n| n.checked_mul(4));
    if w == 0 || h == 0 || width > max || height > max || want != Some(rgba.len()) {
        return Err(format!("{} bytes of pixels for a {width}x{height} image (at most {max} per side)", rgba.len()));
    }
    let model = &loaded.model;
    let gpu = &model.gpu;
    let size = ImageSize::new(width, height);
    let stage = |stage: Stage, done: u64, total: u64, since: f64| {
        progress(Progress { job: Some(job), stage, done, total: Some(total), elapsed_ms: now_ms() - since });
    };
    let mut timings = Timings::default();
    // Before any GPU work: a refused instruction (too long, a region off the image) costs nothing.
    let routed = route(&instruction, region.map(|bbox| Region { bbox, image_size: size })).map_err(|e| e.to_string())?;

    let t = now_ms();
    stage(Stage::Preprocess, 0, 1, t);
    let pixels = preprocess::pixel_values(&rgba_to_rgb(&rgba), w, h, loaded.input_size);
    drop(rgba);
    timings.preprocess_ms = now_ms() - t;

    let t = now_ms();
    stage(Stage::Vision, 0, 1, t);
    let mut rec = Recorder::new(gpu);
    let features = model.image_features(&mut rec, &pixels, loaded.input_size, &mut |_, _| {}).map_err(|e| e.to_string())?;
    rec.submit();
    gpu_idle(gpu).await;
    gpu.check_alive().map_err(|e| e.to_string())?;
    timings.vision_ms = now_ms() - t;
    if state.cancelled(job) {
        return Ok(None);
    }

    let mut runs = Vec::new();
    for (i, call) in routed.tasks.iter().enumerate() {
        let task_text = call.task_text();
        let ids = loaded.tokenizer.encoder_input_ids(&task_text, features.dims2().0).map_err(|e| e.to_string())?;
        let t = now_ms();
        stage(Stage::Encoder, i as u64, routed.tasks.len() as u64, t);
        let mut rec = Recorder::new(gpu);
        let encoded = model.language.encode(&mut rec, &ids, model.cfg.image_token_id, &features, &mut |_, _| {}).map_err(|e| e.to_string())?;
        rec.submit();
        gpu_idle(gpu).await;
        timings.encoder_ms += now_ms() - t;
        if state.cancelled(job) {
            return Ok(None);
        }

        let t = now_ms();
        let ids = match decode_greedy(model, &encoded, MAX_NEW_TOKENS, job, &|| state.cancelled(job)).await? {
            Decoded::Ids(ids) => ids,
            Decoded::Cancelled => return Ok(None),
        };
        timings.decode_ms += now_ms() - t;
        let new_tokens = ids.len() - 1;
        timings.decode_tokens += new_tokens;
        let generated_text = loaded.tokenizer.decode(&ids).map_err(|e| e.to_string())?;
        let answer = parse(call.task, &generated_text, size);
        runs.push(TaskRun { task_text, task_token: call.task.token().to_string(), generated_text, answer, new_tokens });
    }
    Ok(Some(JobResult {
        instruction,
        explanation: routed.explanation,
        fallback: routed.fallback,
        options: routed.options,
        image_width: width,
        image_height: height,
        runs,
        timings,
    }))
}
