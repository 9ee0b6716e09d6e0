//! One job on model family #2 (Qwen3-VL): the instruction goes to the model as written
//! (`tasks::chat_request` only adds a system message asking for JSON boxes or points when the
//! instruction asks for places); the answer streams token by token as `JobUpdate`s, its JSON
//! grounding parsed as it grows (a box shows once its object closes); Cancel stops after the
//! current token. Asked to segment, the final boxes go to a stored Florence-2 for their masks
//! (`segmenter`).

use std::ops::ControlFlow;

use visionllm_qwen3vl::Qwen3Vl;
use visionllm_tasks::chat_request::{chat_request, grounded_instances, ChatAnswer, ChatRequest};
use visionllm_tasks::parse::grounding_json::parse_grounding;
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

fn explanation(request: &ChatRequest) -> String {
    let asked = match request.answer {
        ChatAnswer::Boxes { .. } => "for JSON boxes (bbox_2d)",
        ChatAnswer::Points => "for JSON points (point_2d)",
        ChatAnswer::Text => "for a text answer",
    };
    format!("Qwen3-VL reads the instruction as written; asked {asked}")
}

fn chat_run(request: &ChatRequest, text: String, size: ImageSize, new_tokens: usize) -> ChatRun {
    let instances = grounded_instances(&parse_grounding(&text, size));
    ChatRun { system: request.system.map(str::to_owned), answer: request.answer, generated_text: text, instances, new_tokens, note: None }
}

fn result(job: &ChatJob, request: &ChatRequest, chat: ChatRun, status: JobStatus, timings: Timings) -> JobResult {
    JobResult {
        instruction: job.instruction.to_string(),
        explanation: explanation(request),
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
    let request = chat_request(job.instruction)?;
    let stage = |stage: Stage| progress(Progress { job: Some(job.job), stage, done: 0, total: Some(1), elapsed_ms: 0.0 });
    let mut timings = Timings::default();
    let t0 = now_ms();
    stage(Stage::Preprocess);
    let (w, h) = (job.size.width as usize, job.size.height as usize);
    let (patches, grid) = model.pixel_values(job.rgb, w, h).map_err(|e| e.to_string())?;
    let prompt = model.prompt(request.system, &request.user, grid).map_err(|e| e.to_string())?;
    timings.preprocess_ms = now_ms() - t0;
    stage(Stage::Vision);

    let started = now_ms();
    let mut last_update = f64::NEG_INFINITY;
    let mut first_token_at = None;
    let mut on_token = |_: u32, ids: &[u32]| {
        let t = now_ms();
        first_token_at.get_or_insert(t);
        if t - last_update >= UPDATE_INTERVAL_MS {
            last_update = t;
            progress(Progress { job: Some(job.job), stage: Stage::Decode, done: ids.len() as u64, total: Some(job.max_new_tokens as u64), elapsed_ms: t - started });
            if let Ok(text) = model.chat.decode(ids) {
                let mut live = Timings::default();
                live.decode_tokens = ids.len();
                live.decode_ms = t - started;
                let chat = chat_run(&request, text, job.size, ids.len());
                post(&FromWorker::JobUpdate { job: job.job, result: result(&job, &request, chat, JobStatus::Running, live) }, None);
            }
        }
        if state.cancelled(job.job) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    };
    let generated = model.generate_from_prompt(&patches, &prompt, job.max_new_tokens, &mut on_token).await.map_err(|e| e.to_string())?;
    if generated.stopped {
        return Ok(None);
    }
    let end = now_ms();
    // The vision tower and prefill run before the first token: charged to "vision".
    let first = first_token_at.unwrap_or(end);
    timings.vision_ms = first - started;
    timings.decode_ms = end - first;
    timings.decode_tokens = generated.ids.len();
    let mut text = model.chat.decode(&generated.ids).map_err(|e| e.to_string())?;
    // `?test-hooks`: an answer the test chose replaces the (random) model's, after it streamed,
    // so a test can check the parse and the drawing of a known JSON answer.
    if let Some(injected) = state.injected_answer.borrow_mut().take() {
        text = injected;
    }
    let mut chat = chat_run(&request, text, job.size, generated.ids.len());
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
