//! An instruction on an image, end to end, the same for the browser worker and `visionllm run
//! --instruction`: route the words to task calls (crates/tasks), look at the image once, then for
//! each call build its prompt, generate through the one generation path and parse the answer.
//! What the answer *means* (class filter, instance limit, box or mask) is `tasks::apply`, which
//! the caller runs on each `CallAnswer`, so the app and the CLI draw the same instances.
//!
//! `on_event` hears every stage and every decoder step and may stop the job at either.

use std::ops::ControlFlow;

use visionllm_gpu::Recorder;
use visionllm_tasks::box_scores::{walk, TokenKinds, WalkedBox};
use visionllm_tasks::{parse, route, Florence2Tokenizer, ImageSize, Region, Routed, TaskAnswer, TaskCall};
use web_time::Instant;

use crate::generate::{Decoding, Step};
use crate::model::{Florence2, ModelError, Result};

/// An image as interleaved RGB bytes.
#[derive(Clone, Copy, Debug)]
pub struct RgbImage<'a> {
    pub rgb: &'a [u8],
    pub width: u32,
    pub height: u32,
}

/// How an instruction is run.
#[derive(Clone, Debug)]
pub struct Instruction<'a> {
    pub text: &'a str,
    /// A box the user drew, in image pixels.
    pub region: Option<visionllm_tasks::BoundingBox>,
    pub decoding: Decoding,
    /// Per call; the model's positions cap it further.
    pub max_new_tokens: usize,
}

/// The stages of a job, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStage {
    Preprocess,
    Vision,
    /// Encoding and decoding call `call` of `calls`.
    Call { call: usize, calls: usize },
}

/// What `on_event` hears.
#[derive(Debug)]
pub enum JobEvent<'a> {
    /// The instruction was routed; nothing has run yet.
    Routed(&'a Routed),
    /// A stage begins.
    Stage(JobStage),
    /// A decoder step of call `call`.
    Step { call: usize, task_call: &'a TaskCall, step: &'a Step<'a> },
    /// Call `call` finished with this answer.
    Answered { call: usize, answer: &'a CallAnswer },
}

/// One task call's answer (while decoding, in the app: the text so far, parsed). Serializable: the
/// worker sends it to the page as is.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CallAnswer {
    pub call: TaskCall,
    /// The decoded text, special tokens kept (what the parser reads).
    pub generated_text: String,
    pub answer: TaskAnswer,
    pub new_tokens: usize,
    /// The beam search's sequence score, where beams ran.
    pub score: Option<f32>,
    /// With `Decoding::GreedyWithScores`: every box the generated ids hold, with the model's own
    /// confidence (exp of the mean log-probability of its label and location tokens; see
    /// `visionllm_tasks::box_scores`), to give instances and COCO results their scores.
    #[serde(default)]
    pub scored_boxes: Vec<WalkedBox>,
}

/// Milliseconds per stage, summed over calls. Serializable: the worker sends it to the page as is.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobTimings {
    pub preprocess_ms: f64,
    pub vision_ms: f64,
    pub encoder_ms: f64,
    pub decode_ms: f64,
    pub decode_tokens: usize,
}

impl JobTimings {
    /// Decoded tokens per second (0 before any decoding).
    pub fn tokens_per_s(&self) -> f64 {
        if self.decode_ms > 0.0 {
            self.decode_tokens as f64 * 1000.0 / self.decode_ms
        } else {
            0.0
        }
    }
}

#[derive(Clone, Debug)]
pub struct InstructionRun {
    pub routed: Routed,
    /// One per call that finished (fewer when stopped).
    pub answers: Vec<CallAnswer>,
    /// `on_event` stopped the job; `answers` holds the calls that finished before.
    pub stopped: bool,
    pub timings: JobTimings,
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

impl Florence2 {
    /// Run `instruction` on `image` with `tokenizer` (the model's tokenizer.json).
    pub async fn run_instruction(
        &self,
        tokenizer: &Florence2Tokenizer,
        image: RgbImage<'_>,
        instruction: &Instruction<'_>,
        on_event: &mut dyn FnMut(JobEvent) -> ControlFlow<()>,
    ) -> Result<InstructionRun> {
        let size = ImageSize::new(image.width, image.height);
        // Before any GPU work: a refused instruction (too long, a region off the image) costs nothing.
        let region = instruction.region.map(|bbox| Region { bbox, image_size: size });
        let routed = route(instruction.text, region).map_err(|e| ModelError::Input(e.to_string()))?;
        self.run_routed(tokenizer, image, routed, &instruction.decoding, instruction.max_new_tokens, on_event).await
    }

    /// Run task calls chosen by the caller rather than by the router: the vision tower once, then
    /// each call of `routed` in order. The app's masks for family #2's boxes come this way (one
    /// `<REGION_TO_SEGMENTATION>` per box, `visionllm_tasks::box_masks`).
    pub async fn run_routed(
        &self,
        tokenizer: &Florence2Tokenizer,
        image: RgbImage<'_>,
        routed: Routed,
        decoding: &Decoding,
        max_new_tokens: usize,
        on_event: &mut dyn FnMut(JobEvent) -> ControlFlow<()>,
    ) -> Result<InstructionRun> {
        let size = ImageSize::new(image.width, image.height);
        decoding.check().map_err(ModelError::Input)?;
        let mut run = InstructionRun { routed, answers: Vec::new(), stopped: false, timings: JobTimings::default() };
        if on_event(JobEvent::Routed(&run.routed)).is_break() || on_event(JobEvent::Stage(JobStage::Preprocess)).is_break() {
            run.stopped = true;
            return Ok(run);
        }
        let t = Instant::now();
        let (w, h) = (image.width as usize, image.height as usize);
        let pixels = self.pixel_values(image.rgb, w, h)?;
        run.timings.preprocess_ms = ms_since(t);

        if on_event(JobEvent::Stage(JobStage::Vision)).is_break() {
            run.stopped = true;
            return Ok(run);
        }
        let t = Instant::now();
        let mut rec = Recorder::new(&self.device);
        let features = self.image_features(&mut rec, &pixels, &mut |_, _| {})?;
        rec.submit();
        self.device.idle().await?;
        run.timings.vision_ms = ms_since(t);

        let calls = run.routed.tasks.clone();
        for (i, call) in calls.iter().enumerate() {
            if on_event(JobEvent::Stage(JobStage::Call { call: i, calls: calls.len() })).is_break() {
                run.stopped = true;
                return Ok(run);
            }
            let ids = tokenizer.encoder_input_ids_for_call(call, features.dims2().0).map_err(|e| ModelError::Input(e.to_string()))?;
            let generated = self
                .generate_with(&ids, &features, decoding, max_new_tokens, &mut |step| {
                    on_event(JobEvent::Step { call: i, task_call: call, step })
                })
                .await?;
            run.timings.encoder_ms += generated.encode_time.as_secs_f64() * 1000.0;
            run.timings.decode_ms += generated.decode_time.as_secs_f64() * 1000.0;
            run.timings.decode_tokens += generated.new_tokens();
            if generated.stopped {
                run.stopped = true;
                return Ok(run);
            }
            let generated_text = tokenizer.decode(&generated.ids).map_err(|e| ModelError::Input(e.to_string()))?;
            let answer = parse(call.task, &generated_text, size);
            let scored_boxes = match &generated.token_logprobs {
                Some(logprobs) => walk(generated.ids.get(1..).unwrap_or_default(), logprobs, &TokenKinds::new(tokenizer)),
                None => Vec::new(),
            };
            let answer = CallAnswer { call: call.clone(), generated_text, answer, new_tokens: generated.new_tokens(), score: generated.score, scored_boxes };
            let stop = on_event(JobEvent::Answered { call: i, answer: &answer });
            run.answers.push(answer);
            if stop.is_break() && i + 1 < calls.len() {
                run.stopped = true;
                return Ok(run);
            }
        }
        Ok(run)
    }
}
