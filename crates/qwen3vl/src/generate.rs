//! Greedy generation through modelkit's loop (the one Florence-2 uses): the vision tower and the
//! prefill in one submission, then one decode step per token, the argmax read back each step (the
//! next step needs it), stopping at an end-of-sequence id, the token budget or the step hook.

use visionllm_gpu::Recorder;
use visionllm_modelkit::{greedy, GreedyLimits, ModelError, OnStep, Result, StepReporter};

use crate::model::{Prompt, Qwen3Vl};
use crate::positions::Grid;

/// Largest budget of new tokens one call takes.
pub const MAX_NEW_TOKENS: usize = 4096;

pub struct Generated {
    /// Generated ids only (the prompt excluded), the end-of-sequence id included when reached.
    pub ids: Vec<u32>,
    pub prompt_len: usize,
    /// The step hook asked to stop (a cancelled job): `ids` are those made until then.
    pub stopped: bool,
}

impl Qwen3Vl {
    /// Greedy ids for an instruction about the image's patches; `on_step` sees the ids so far
    /// after each token (a streaming answer) and may stop generation.
    pub async fn generate_greedy(&self, patches: &[f32], grid: Grid, system: Option<&str>, instruction: &str, max_new_tokens: usize, on_step: OnStep<'_>) -> Result<Generated> {
        let prompt = self.prompt(system, instruction, grid)?;
        self.generate_from_prompt(patches, &prompt, max_new_tokens, on_step).await
    }

    /// [`Self::generate_greedy`] for a prompt already made. `Step::ids` are the generated ids.
    pub async fn generate_from_prompt(&self, patches: &[f32], prompt: &Prompt, max_new_tokens: usize, on_step: OnStep<'_>) -> Result<Generated> {
        if max_new_tokens == 0 || max_new_tokens > MAX_NEW_TOKENS {
            return Err(ModelError::Input(format!("max new tokens {max_new_tokens}: must be 1..={MAX_NEW_TOKENS}")));
        }
        let mut rec = Recorder::new(self.device());
        let image = self.image_features(&mut rec, patches, prompt.grid, &mut |_, _| {})?;
        let mut state = self.start(&mut rec, prompt, max_new_tokens);
        // The first step is the prompt with the image; every later one the last id at its position.
        let mut step = |rec: &mut Recorder, ids: &[u32]| match ids.last() {
            None => self.prefill(rec, &mut state, prompt, &image, &mut |_, _| {}),
            Some(&last) => self.decode_step(rec, &mut state, prompt, ids.len() - 1, last),
        };
        let limits = GreedyLimits { max_len: max_new_tokens, stop_ids: self.eos_ids(), scores: false };
        let mut reporter = StepReporter::new(on_step);
        let run = greedy(rec, Vec::new(), limits, &mut reporter, &mut step).await?;
        Ok(Generated { ids: run.ids, prompt_len: prompt.ids.len(), stopped: run.stopped })
    }
}
