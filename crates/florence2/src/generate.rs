//! Generation, the one path every caller takes (the browser worker, `visionllm run`, `visionllm
//! eval`, the reference tests): encode the prompt with the image features, then decode with plain
//! greedy (modelkit's loop, shared with Qwen3-VL: argmax on the device, one token id read back
//! per step), greedy with each token's log-probability (one id and one f32 read back per step) or
//! beam search with the reference's semantics (transformers 5 `_beam_search`). After every step
//! `on_step` sees the answer so far and may stop the loop, which is how the app shows a growing
//! answer and cancels between tokens.

use std::ops::ControlFlow;

use visionllm_gpu::ops::topk;
use visionllm_gpu::{Recorder, Tensor};
use visionllm_modelkit::{greedy, GreedyLimits, StepReporter};
use web_time::{Duration, Instant};

use crate::language::DecoderState;
use crate::model::{Florence2, ModelError, Result};

/// How to decode.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoding {
    /// Argmax each step; no forced tokens, no n-gram blocking; stops at eos or the limit.
    Greedy,
    /// Greedy, and also the log-probability (log-softmax of the logits) of every generated token,
    /// e.g. for box scores. The ids are those of `Greedy`.
    GreedyWithScores,
    /// Beam search as Florence-2 publishes it: forced bos/eos, n-gram blocking, early stopping.
    Beam { num_beams: usize, no_repeat_ngram_size: usize, length_penalty: f32 },
}

/// Most beams: the top-k kernel keeps 2·beams candidates per step and takes k <= 16. Checked
/// before any decoder state is forked, so `--beams 100000` is a message, not 100000 KV caches.
pub const MAX_BEAMS: usize = topk::MAX_K / 2;

impl Decoding {
    /// Whether this setting can run; the error says what to change.
    pub fn check(&self) -> std::result::Result<(), String> {
        match self {
            Decoding::Beam { num_beams, .. } if *num_beams == 0 || *num_beams > MAX_BEAMS => {
                Err(format!("{num_beams} beams: beam search takes 1 to {MAX_BEAMS} beams"))
            }
            Decoding::Beam { length_penalty, .. } if !length_penalty.is_finite() => Err("the length penalty must be a finite number".into()),
            _ => Ok(()),
        }
    }

    pub fn florence_beams(num_beams: usize) -> Self {
        Decoding::Beam { num_beams, no_repeat_ngram_size: 3, length_penalty: 1.0 }
    }
}

/// What `on_step` sees after each decoder step (modelkit's, shared with Qwen3-VL): `ids` is the
/// answer so far, decoder start token first.
pub use visionllm_modelkit::Step;

/// The generated sequence as the reference's `generate` returns it: decoder start token first.
#[derive(Clone, Debug)]
pub struct Generated {
    pub ids: Vec<u32>,
    /// For beam search: the sequence score (sum of log-probs / length^penalty).
    pub score: Option<f32>,
    /// For `GreedyWithScores`: the log-probability of each generated token (`ids[1..]`).
    pub token_logprobs: Option<Vec<f32>>,
    /// `on_step` stopped the loop: `ids` is the answer as far as it got (for beams, the best
    /// running hypothesis), without a score.
    pub stopped: bool,
    /// The encoder's time, waited for on the GPU.
    pub encode_time: Duration,
    /// The decoder's time, every step included.
    pub decode_time: Duration,
}

impl Generated {
    pub fn new_tokens(&self) -> usize {
        self.ids.len().saturating_sub(1)
    }
}

impl Florence2 {
    /// Encode `input_ids` (the prompt with one image token per feature row) with the image
    /// features and decode up to `max_new_tokens` (capped by the model's positions). `on_step`
    /// runs after every step; `ControlFlow::Break` stops the loop there (`Generated::stopped`).
    pub async fn generate_with(
        &self,
        input_ids: &[u32],
        features: &Tensor,
        decoding: &Decoding,
        max_new_tokens: usize,
        on_step: &mut dyn FnMut(&Step) -> ControlFlow<()>,
    ) -> Result<Generated> {
        decoding.check().map_err(ModelError::Input)?;
        if max_new_tokens == 0 {
            return Err(ModelError::Input("at least one new token must be allowed".into()));
        }
        let started = Instant::now();
        let mut rec = Recorder::new(&self.device);
        let encoded = self.encode(&mut rec, input_ids, features, &mut |_, _| {})?;
        rec.submit();
        self.device.idle().await?;
        let encode_time = started.elapsed();

        // The positions bound every buffer the loop sizes (KV caches, ids), whatever was asked.
        let max_len = max_new_tokens.saturating_add(1).min(self.cfg.text_config.max_position_embeddings);
        let mut reporter = StepReporter::new(on_step);
        let mut rec = Recorder::new(&self.device);
        let state = self.language.start(&mut rec, &encoded, max_len)?;
        let mut generated = match decoding {
            Decoding::Greedy => self.greedy(rec, state, max_len, false, &mut reporter).await?,
            Decoding::GreedyWithScores => self.greedy(rec, state, max_len, true, &mut reporter).await?,
            Decoding::Beam { num_beams, no_repeat_ngram_size, length_penalty } => {
                let search = crate::beam::BeamSearch { num_beams: *num_beams, ngram: *no_repeat_ngram_size, length_penalty: *length_penalty, max_len };
                search.run(self, rec, state, &mut reporter).await?
            }
        };
        generated.encode_time = encode_time;
        generated.decode_time = reporter.elapsed();
        Ok(generated)
    }

    /// Greedy decoding through modelkit's loop: each step feeds the last id to the decoder.
    async fn greedy(&self, rec: Recorder<'_>, mut state: DecoderState, max_len: usize, scores: bool, reporter: &mut StepReporter<'_>) -> Result<Generated> {
        let t = &self.cfg.text_config;
        let limits = GreedyLimits { max_len, stop_ids: &[t.eos_token_id], scores };
        let mut step = |rec: &mut Recorder, ids: &[u32]| self.language.step(rec, &mut state, &ids[ids.len() - 1..], &mut |_, _| {});
        let run = greedy(rec, vec![t.decoder_start_token_id], limits, reporter, &mut step).await?;
        Ok(Generated { ids: run.ids, score: None, token_logprobs: run.token_logprobs, stopped: run.stopped, encode_time: Duration::ZERO, decode_time: Duration::ZERO })
    }
}
