//! Greedy generation: prefill, then one decode step per token, the argmax read back each step
//! (the next step needs it), stopping at an end-of-sequence id or the token budget.

use std::ops::ControlFlow;

use visionllm_gpu::ops::topk::argmax;
use visionllm_gpu::Recorder;
use visionllm_modelkit::{ModelError, Result};

use crate::model::{Prompt, Qwen3Vl};
use crate::positions::Grid;

/// Largest budget of new tokens one call takes.
pub const MAX_NEW_TOKENS: usize = 4096;

pub struct Generated {
    /// Generated ids only (the prompt excluded), the end-of-sequence id included when reached.
    pub ids: Vec<u32>,
    pub prompt_len: usize,
    /// The callback asked to stop (a cancelled job): `ids` are those made until then.
    pub stopped: bool,
}

/// Sees each generated id as it comes (a streaming answer) with all ids so far; `Break` stops
/// generation after that token (the worker's Cancel).
pub type OnToken<'a> = &'a mut dyn FnMut(u32, &[u32]) -> ControlFlow<()>;

impl Qwen3Vl {
    /// Greedy ids for an instruction about the image's patches; `on_token` sees each id as it
    /// comes (a streaming answer) and may stop generation.
    pub async fn generate_greedy(&self, patches: &[f32], grid: Grid, system: Option<&str>, instruction: &str, max_new_tokens: usize, on_token: OnToken<'_>) -> Result<Generated> {
        let prompt = self.prompt(system, instruction, grid)?;
        self.generate_from_prompt(patches, &prompt, max_new_tokens, on_token).await
    }

    /// [`Self::generate_greedy`] for a prompt already made.
    pub async fn generate_from_prompt(&self, patches: &[f32], prompt: &Prompt, max_new_tokens: usize, on_token: OnToken<'_>) -> Result<Generated> {
        if max_new_tokens == 0 || max_new_tokens > MAX_NEW_TOKENS {
            return Err(ModelError::Input(format!("max new tokens {max_new_tokens}: must be 1..={MAX_NEW_TOKENS}")));
        }
        let device = self.device().clone();
        let mut rec = Recorder::new(&device);
        let image = self.image_features(&mut rec, patches, prompt.grid, &mut |_, _| {})?;
        let mut state = self.start(&mut rec, prompt, max_new_tokens);
        let logits = self.prefill(&mut rec, &mut state, prompt, &image, &mut |_, _| {})?;
        let mut next = read_argmax(rec, &logits).await?;
        let mut ids = Vec::new();
        let mut stopped = false;
        loop {
            ids.push(next);
            if on_token(next, &ids).is_break() {
                stopped = true;
                break;
            }
            if self.eos_ids().contains(&next) || ids.len() == max_new_tokens {
                break;
            }
            let mut rec = Recorder::new(&device);
            let logits = self.decode_step(&mut rec, &mut state, prompt, ids.len() - 1, next)?;
            next = read_argmax(rec, &logits).await?;
        }
        Ok(Generated { ids, prompt_len: prompt.ids.len(), stopped })
    }
}

async fn read_argmax(mut rec: Recorder<'_>, logits: &visionllm_gpu::Tensor) -> Result<u32> {
    let best = argmax(&mut rec, logits)?;
    let staged = rec.stage_read(&best)?;
    let device = rec.device();
    rec.submit();
    let v = staged.read_u32(device).await?;
    v.first().copied().ok_or_else(|| ModelError::Numerics("argmax returned nothing".into()))
}
