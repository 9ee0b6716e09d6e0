//! One job on model family #2 (Qwen3-VL) through `Qwen3Vl::run_instruction`, the path the CLI
//! takes too: the instruction goes to the model as written (`tasks::chat_request` only adds a
//! system message asking for JSON boxes or points when the instruction asks for places); the
//! answer streams token by token as `JobUpdate`s, its JSON grounding parsed as it grows (a box
//! shows once its object closes); Cancel stops after the current token. Asked to segment, the
//! final boxes go to a stored Florence-2 for their masks (`segmenter`).

use std::ops::ControlFlow;

use visionllm_qwen3vl::instruct::explanation;
use visionllm_qwen3vl::{ChatReply, Qwen3Vl, Step};
use visionllm_tasks::chat_request::{ChatAnswer, ChatRequest};
use visionllm_tasks::{Geometry, ImageSize, RouteOptions};

use super::segmenter::masks_for_boxes;
use super::{now_ms, post, progress, WorkerState};
use visionllm_florence2::RgbImage;
use crate::messages::{ChatRun, DecodingMode, FromWorker, JobResult, JobStatus, Progress, Stage, Timings, UPDATE_INTERVAL_MS};

pub struct ChatJob<'a> {
    pub job: u64,
    pub rgb: &'a [u8],
    pub size: ImageSize,
    pub instruction: &'a str,
    pub max_new_tokens: usize,
    /// For the masks' Florence-2 calls (family #2 itself decodes greedily).
    pub decoding: DecodingMode,
}

fn chat_run(request: &ChatRequest, reply: ChatReply, new_tokens: usize) -> ChatRun {
    ChatRun { system: request.system.map(str::to_owned), answer: request.answer, generated_text: reply.generated_text, instances: reply.instances, new_tokens, note: None }
}

fn result(job: &ChatJob, request: &ChatRequest, chat: ChatRun, status: JobStatus, timings: Timings) -> JobResult {
    JobResult {
        instruction: job.instruction.to_string(),
        explanation: explanation(request.answer),
        fallback: false,
        options: RouteOptions { geometry: Geometry::Box, max_instances: None, class_filter: Vec::new() },
        image_width: job.size.width,
        image_height: job.size.height,
        decoding: DecodingMode::Fast,
        status,
        runs: Vec::new(),
        timings,
        chat: Some(chat),
    }
}

/// `Ok(None)` when the job was cancelled (the page keeps what the last update showed).
pub async fn run_chat_job(state: &WorkerState, model: &Qwen3Vl, job: ChatJob<'_>) -> Result<Option<JobResult>, String> {
    let request = Qwen3Vl::chat_request(job.instruction).map_err(|e| e.to_string())?;
    progress(Progress { job: Some(job.job), stage: Stage::Vision, done: 0, total: Some(1), elapsed_ms: 0.0 });
    let mut last_update = f64::NEG_INFINITY;
    let mut on_step = |step: &Step| {
        let t = now_ms();
        if t - last_update >= UPDATE_INTERVAL_MS {
            last_update = t;
            let elapsed_ms = step.elapsed.as_secs_f64() * 1000.0;
            progress(Progress { job: Some(job.job), stage: Stage::Decode, done: step.ids.len() as u64, total: Some(job.max_new_tokens as u64), elapsed_ms });
            if let Ok(text) = model.chat.decode(step.ids) {
                let mut live = Timings::default();
                live.decode_tokens = step.ids.len();
                live.decode_ms = elapsed_ms;
                let chat = chat_run(&request, ChatReply::read(text, job.size), step.ids.len());
                post(&FromWorker::JobUpdate { job: job.job, result: result(&job, &request, chat, JobStatus::Running, live) }, None);
            }
        }
        if state.cancelled(job.job) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    };
    let run = model.run_instruction(job.rgb, job.size, job.instruction, job.max_new_tokens, &mut on_step).await.map_err(|e| e.to_string())?;
    if run.stopped {
        return Ok(None);
    }
    // The vision tower and prefill run before the first token: charged to "vision".
    let timings = Timings {
        preprocess_ms: run.timings.preprocess_ms,
        vision_ms: run.timings.first_token_ms,
        decode_ms: run.timings.decode_ms,
        decode_tokens: run.ids.len(),
        ..Timings::default()
    };
    // `?test-hooks`: an answer the test chose replaces the (random) model's, after it streamed,
    // so a test can check the parse and the drawing of a known JSON answer.
    let reply = match state.injected_answer.borrow_mut().take() {
        Some(injected) => ChatReply::read(injected, job.size),
        None => run.reply,
    };
    let mut chat = chat_run(&request, reply, run.ids.len());
    if request.answer == (ChatAnswer::Boxes { segment: true }) {
        // The boxes show while their masks are made.
        post(&FromWorker::JobUpdate { job: job.job, result: result(&job, &request, chat.clone(), JobStatus::Running, timings.clone()) }, None);
        let image = RgbImage { rgb: job.rgb, width: job.size.width, height: job.size.height };
        let Some(masked) = masks_for_boxes(state, job.job, image, &chat.instances, job.decoding, job.max_new_tokens).await else { return Ok(None) };
        chat.instances = masked.instances;
        chat.note = Some(masked.note);
    }
    Ok(Some(result(&job, &request, chat, JobStatus::Done, timings)))
}
