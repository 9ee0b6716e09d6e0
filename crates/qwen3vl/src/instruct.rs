//! An instruction on an image for family #2, end to end, the same for the browser worker and
//! `visionllm run --instruction` (as `Florence2::run_instruction` is for family #1): the words go
//! to the model as written (`tasks::chat_request` only adds a system message asking for JSON
//! boxes or points when they ask for places), greedy generation streams through the step hook,
//! and the answer is read as JSON grounding into the instances the app draws.

use visionllm_modelkit::{ModelError, OnStep, Result, Step};
use visionllm_tasks::chat_request::{chat_request, grounded_instances, ChatAnswer, ChatRequest};
use visionllm_tasks::parse::grounding_json::{parse_grounding, Grounded};
use visionllm_tasks::{ImageSize, Instance};
use web_time::Instant;

use crate::model::{Prompt, Qwen3Vl};

/// What the app and the CLI say about how an instruction was asked.
pub fn explanation(answer: ChatAnswer) -> String {
    let asked = match answer {
        ChatAnswer::Boxes { .. } => "for JSON boxes (bbox_2d)",
        ChatAnswer::Points => "for JSON points (point_2d)",
        ChatAnswer::Text => "for a text answer",
    };
    format!("Qwen3-VL reads the instruction as written; asked {asked}")
}

/// Said beside the boxes when masks were asked and no Florence-2 can draw them: Qwen3-VL answers
/// with boxes only.
pub const BOXES_ONLY_NOTE: &str = "masks need Florence-2's region-to-segmentation, which the app links when both models are stored; boxes only here";

/// The model's text and what it means.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatReply {
    pub generated_text: String,
    /// The JSON grounding objects found in the text (none for a text answer).
    pub grounded: Vec<Grounded>,
    /// The same as the canvas, exports and batch use them.
    pub instances: Vec<Instance>,
}

impl ChatReply {
    /// Reads `text` (the whole answer, or the answer so far: an object shows once it closes).
    pub fn read(generated_text: String, size: ImageSize) -> ChatReply {
        let grounded = parse_grounding(&generated_text, size);
        let instances = grounded_instances(&grounded);
        ChatReply { generated_text, grounded, instances }
    }
}

/// Milliseconds per stage of one instruction.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ChatTimings {
    /// Resize, patches, chat template and tokenizer.
    pub preprocess_ms: f64,
    /// The vision tower and the prefill: until the first token is read back.
    pub first_token_ms: f64,
    /// Every later token.
    pub decode_ms: f64,
}

/// One instruction's run.
pub struct ChatInstructionRun {
    pub request: ChatRequest,
    pub explanation: String,
    pub prompt: Prompt,
    /// Generated ids (the prompt excluded).
    pub ids: Vec<u32>,
    pub reply: ChatReply,
    /// The step hook stopped it: `ids` and `reply` are the answer until then.
    pub stopped: bool,
    pub timings: ChatTimings,
}

impl Qwen3Vl {
    /// The request an instruction makes (refused when empty or over-long, as the router does).
    pub fn chat_request(instruction: &str) -> Result<ChatRequest> {
        chat_request(instruction).map_err(ModelError::Input)
    }

    /// Runs `instruction` on the RGB image: preprocess, generate greedily up to `max_new_tokens`
    /// (`on_step` sees the generated ids after every token and may stop), read the answer.
    pub async fn run_instruction(&self, rgb: &[u8], size: ImageSize, instruction: &str, max_new_tokens: usize, on_step: OnStep<'_>) -> Result<ChatInstructionRun> {
        let request = Self::chat_request(instruction)?;
        let started = Instant::now();
        let (patches, grid) = self.pixel_values(rgb, size.width as usize, size.height as usize)?;
        let prompt = self.prompt(request.system, &request.user, grid)?;
        let preprocess_ms = ms(started);
        let generating = Instant::now();
        let mut first_token_ms = None;
        let mut hook = |step: &Step| {
            first_token_ms.get_or_insert_with(|| ms(generating));
            on_step(step)
        };
        let generated = self.generate_from_prompt(&patches, &prompt, max_new_tokens, &mut hook).await?;
        let total_ms = ms(generating);
        let first_token_ms = first_token_ms.unwrap_or(total_ms);
        let timings = ChatTimings { preprocess_ms, first_token_ms, decode_ms: total_ms - first_token_ms };
        let text = self.chat.decode(&generated.ids).map_err(|e| ModelError::Config(format!("the tokenizer could not decode the answer: {e}")))?;
        Ok(ChatInstructionRun {
            explanation: explanation(request.answer),
            request,
            prompt,
            ids: generated.ids,
            reply: ChatReply::read(text, size),
            stopped: generated.stopped,
            timings,
        })
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
