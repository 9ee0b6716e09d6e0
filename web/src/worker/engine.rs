//! One job: image pixels + instruction -> `Florence2::run_instruction` (routing, the vision tower
//! once, then prompt, generation and parse per task call: the same path as `visionllm run
//! --instruction`). This file only turns the job's events into messages: progress per stage,
//! the answer so far while decoding (`JobUpdate`), and a stop when the page cancels.

use std::ops::ControlFlow;

use visionllm_florence2::{Decoding, Instruction, JobEvent, JobStage, RgbImage};
use visionllm_tasks::{parse, BoundingBox, Florence2Tokenizer, ImageSize, Routed};

use super::chat_engine::{run_chat_job, ChatJob};
use super::model_loader::{Family, LoadedModel};
use super::{now_ms, post, progress, WorkerState};
use crate::instruction_limit::max_new_tokens;
use crate::messages::{DecodingMode, FromWorker, JobResult, JobStatus, Progress, Stage, TaskRun, Timings, UPDATE_INTERVAL_MS};

pub struct JobInput {
    pub job: u64,
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
    pub instruction: String,
    pub region: Option<BoundingBox>,
    pub decoding: DecodingMode,
}

fn rgba_to_rgb(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect()
}

/// One throwaway run right after a model loads, so that the first instruction a user types does
/// not pay for compiling the pipelines: SwiftShader compiles each compute pipeline on its first
/// use, which made the demo model's first answer after a page load 3.1 s against 1.85 s warm.
/// A gray image, `<OD>`, fast decoding, two new tokens: the vision tower, the encoder, a first
/// decoder step (it also projects the cross-attention keys and values) and a later one, i.e. every
/// pipeline fast decoding uses; beam search's few extra kernels compile on their first use.
/// Family #2 the same way: a gray image at the processor's smallest size, a one-word question,
/// two new tokens (the vision tower with DeepStack, a prefill and a decode step); but not a large
/// one on a software adapter (`software`), where compiling is cheap beside the work itself:
/// Qwen3-VL-2B's warm-up took about 7 minutes on SwiftShader (a 563 s load against 137 s), a wait
/// the first answer would pay anyway.
pub async fn warm_up(loaded: &LoadedModel, software: bool) -> Result<(), String> {
    /// Weights above this are "large" for a software adapter (the tiny test models are ~1 MB).
    const SOFTWARE_WARM_UP_MAX_BYTES: u64 = 64 << 20;
    const SIDE: u32 = 64;
    let rgb = vec![128u8; (SIDE * SIDE * 3) as usize];
    let (model, tokenizer) = match &loaded.family {
        Family::Florence2 { model, tokenizer } => (model, tokenizer),
        Family::Qwen3Vl(_) if software && loaded.weight_bytes > SOFTWARE_WARM_UP_MAX_BYTES => return Ok(()),
        Family::Qwen3Vl(model) => {
            let (patches, grid) = model.pixel_values(&rgb, SIDE as usize, SIDE as usize).map_err(|e| e.to_string())?;
            let prompt = model.prompt(None, "hi", grid).map_err(|e| e.to_string())?;
            let mut ignore = |_: &visionllm_qwen3vl::Step| ControlFlow::Continue(());
            return model.generate_from_prompt(&patches, &prompt, 2, &mut ignore).await.map(|_| ()).map_err(|e| e.to_string());
        }
    };
    let image = RgbImage { rgb: &rgb, width: SIDE, height: SIDE };
    let request = Instruction { text: "<OD>", region: None, decoding: decoding_for(DecodingMode::Fast), max_new_tokens: 2 };
    let mut ignore = |_: JobEvent| ControlFlow::Continue(());
    model.run_instruction(tokenizer, image, &request, &mut ignore).await.map(|_| ()).map_err(|e| e.to_string())
}

/// Fast is greedy with each token's log-probability (the same ids as plain greedy, one more small
/// readback per token), so that boxes carry the model's own score into the COCO exports, as
/// `visionllm label` gives them.
pub fn decoding_for(mode: DecodingMode) -> Decoding {
    match mode {
        DecodingMode::Fast => Decoding::GreedyWithScores,
        DecodingMode::Accurate => Decoding::florence_beams(mode.beams()),
    }
}

/// What the job has shown so far, to build `JobUpdate`s from.
struct Live {
    job: u64,
    /// The page's answer length limit (the progress bar's total).
    max_new_tokens: usize,
    input_text: String,
    size: ImageSize,
    decoding: DecodingMode,
    routed: Option<Routed>,
    runs: Vec<TaskRun>,
    timings: Timings,
    /// Decode time and tokens of the calls that finished, so the live rate covers the job.
    finished_decode: (f64, usize),
    last_update: f64,
    /// The current call's decode time so far.
    call_elapsed_ms: f64,
}

impl Live {
    fn result(&self, runs: Vec<TaskRun>, status: JobStatus, timings: Timings) -> Option<JobResult> {
        let routed = self.routed.as_ref()?;
        Some(JobResult {
            instruction: self.input_text.clone(),
            explanation: routed.explanation.clone(),
            fallback: routed.fallback,
            options: routed.options.clone(),
            image_width: self.size.width,
            image_height: self.size.height,
            decoding: self.decoding,
            status,
            runs,
            timings,
            chat: None,
        })
    }

    fn stage(&mut self, stage: Stage, done: u64, total: u64) {
        progress(Progress { job: Some(self.job), stage, done, total: Some(total), elapsed_ms: 0.0 });
    }

    /// A decoder step: progress, and the answer so far parsed as if it were complete (a box
    /// shows once its four location tokens exist).
    fn step(&mut self, tokenizer: &Florence2Tokenizer, call: usize, task_call: &visionllm_tasks::TaskCall, ids: &[u32], new_tokens: usize, elapsed_ms: f64) {
        self.call_elapsed_ms = elapsed_ms;
        let t = now_ms();
        if t - self.last_update < UPDATE_INTERVAL_MS {
            return;
        }
        self.last_update = t;
        progress(Progress { job: Some(self.job), stage: Stage::Decode, done: new_tokens as u64, total: Some(self.max_new_tokens as u64), elapsed_ms });
        let Ok(text) = tokenizer.decode(ids) else { return };
        let answer = parse(task_call.task, &text, self.size);
        let mut runs = self.runs.clone();
        runs.truncate(call);
        runs.push(TaskRun { call: task_call.clone(), generated_text: text, answer, new_tokens, score: None, scored_boxes: Vec::new() });
        let mut timings = self.timings.clone();
        timings.decode_ms = self.finished_decode.0 + elapsed_ms;
        timings.decode_tokens = self.finished_decode.1 + new_tokens;
        if let Some(result) = self.result(runs, JobStatus::Running, timings) {
            post(&FromWorker::JobUpdate { job: self.job, result }, None);
        }
    }
}

/// `Ok(None)` when the job was cancelled (the page keeps what the last update showed).
pub async fn run_job(state: &WorkerState, loaded: &LoadedModel, input: JobInput) -> Result<Option<JobResult>, String> {
    let JobInput { job, width, height, rgba, instruction, region, decoding } = input;
    // The page checked the image, but the message is the worker's input: sizes within the
    // image limit, and the pixel count in checked arithmetic (w * h * 4 overflows 32 bits).
    let max = crate::image_limits::MAX_SIDE;
    let (w, h) = (usize::try_from(width).unwrap_or(usize::MAX), usize::try_from(height).unwrap_or(usize::MAX));
    let want = w.checked_mul(h).and_then(|n| n.checked_mul(4));
    if w == 0 || h == 0 || width > max || height > max || want != Some(rgba.len()) {
        return Err(format!("{} bytes of pixels for a {width}x{height} image (at most {max} per side)", rgba.len()));
    }
    let rgb = rgba_to_rgb(&rgba);
    drop(rgba);
    let size = ImageSize::new(width, height);
    let limit = max_new_tokens(&state.overrides.borrow());
    let (model, tokenizer) = match &loaded.family {
        Family::Florence2 { model, tokenizer } => (model, tokenizer),
        Family::Qwen3Vl(model) => {
            let job = ChatJob { job, rgb: &rgb, size, instruction: &instruction, max_new_tokens: limit, decoding };
            return run_chat_job(state, model, job).await;
        }
    };
    let mut live = Live {
        job,
        max_new_tokens: limit,
        input_text: instruction.clone(),
        size,
        decoding,
        routed: None,
        runs: Vec::new(),
        timings: Timings::default(),
        finished_decode: (0.0, 0),
        last_update: f64::NEG_INFINITY,
        call_elapsed_ms: 0.0,
    };
    let request = Instruction { text: &instruction, region, decoding: decoding_for(decoding), max_new_tokens: limit };
    let image = RgbImage { rgb: &rgb, width, height };
    let mut on_event = |event: JobEvent| {
        match event {
            JobEvent::Routed(routed) => live.routed = Some(routed.clone()),
            JobEvent::Stage(JobStage::Preprocess) => live.stage(Stage::Preprocess, 0, 1),
            JobEvent::Stage(JobStage::Vision) => live.stage(Stage::Vision, 0, 1),
            JobEvent::Stage(JobStage::Call { call, calls }) => live.stage(Stage::Encoder, call as u64, calls as u64),
            JobEvent::Step { call, task_call, step } => {
                live.step(tokenizer, call, task_call, step.ids, step.new_tokens, step.elapsed.as_secs_f64() * 1000.0)
            }
            JobEvent::Answered { call, answer } => {
                live.runs.truncate(call);
                live.runs.push(answer.clone());
                live.finished_decode.0 += live.call_elapsed_ms;
                live.finished_decode.1 += answer.new_tokens;
                // Shown at once: the final parse replaces the last partial one.
                live.last_update = f64::NEG_INFINITY;
            }
        }
        if state.cancelled(job) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    };
    let run = model.run_instruction(tokenizer, image, &request, &mut on_event).await.map_err(|e| e.to_string())?;
    if run.stopped {
        return Ok(None);
    }
    Ok(live.result(run.answers, JobStatus::Done, run.timings))
}
