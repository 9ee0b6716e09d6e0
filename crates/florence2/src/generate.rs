//! Generation, the one path every caller takes (the browser worker, `visionllm run`, `visionllm
//! eval`, the reference tests): encode the prompt with the image features, then decode with plain
//! greedy (argmax on the GPU, one token id read back per step), greedy with each token's
//! log-probability (one id and one f32 read back per step) or beam search with the reference's
//! semantics (transformers 5 `_beam_search`). After every step `on_step` sees the answer so far
//! and may stop the loop, which is how the app shows a growing answer and cancels between tokens.

use std::ops::ControlFlow;

use visionllm_gpu::ops::{embedding, logprobs, topk};
use visionllm_gpu::{Recorder, Tensor};
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

/// What `on_step` sees after each decoder step.
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    /// The answer so far, decoder start token first: for greedy every id chosen, for beam search
    /// the best hypothesis still running (it may change completely at the next step).
    pub ids: &'a [u32],
    /// Steps taken (tokens generated per hypothesis).
    pub new_tokens: usize,
    /// Time since the decoder started (the encoder's time is not included).
    pub elapsed: Duration,
}

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

/// Counts steps and time for `on_step`, so greedy and beam search report the same way.
pub(crate) struct StepReporter<'f> {
    started: Instant,
    steps: usize,
    on_step: &'f mut dyn FnMut(&Step) -> ControlFlow<()>,
}

impl StepReporter<'_> {
    pub(crate) fn report(&mut self, ids: &[u32]) -> ControlFlow<()> {
        self.steps += 1;
        (self.on_step)(&Step { ids, new_tokens: self.steps, elapsed: self.started.elapsed() })
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
        let mut reporter = StepReporter { started: Instant::now(), steps: 0, on_step };
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
        generated.decode_time = reporter.started.elapsed();
        Ok(generated)
    }

    async fn greedy(&self, mut rec: Recorder<'_>, mut state: DecoderState, max_len: usize, scores: bool, reporter: &mut StepReporter<'_>) -> Result<Generated> {
        let t = &self.cfg.text_config;
        let mut ids = vec![t.decoder_start_token_id];
        let mut logprobs_out = Vec::new();
        let mut stopped = false;
        while ids.len() < max_len {
            let logits = self.language.step(&mut rec, &mut state, &ids[ids.len() - 1..], &mut |_, _| {})?;
            // The id is the argmax of the logits themselves (not of the log-probs, where rounding
            // could tie two logits), so the ids never depend on `scores`.
            let next = topk::argmax(&mut rec, &logits)?;
            let staged_logprob = if scores {
                let (_, vocab) = logits.dims2();
                let lp = logprobs::search_log_probs(&mut rec, &logits, &[0.0], None, &[])?;
                let picked = embedding::embedding(&mut rec, &lp.reshape(&[vocab, 1]), &next)?;
                Some(rec.stage_read(&picked)?)
            } else {
                None
            };
            let staged = rec.stage_read(&next)?;
            rec.submit();
            let id = staged.read_u32(&self.device).await?[0];
            if let Some(s) = staged_logprob {
                let lp = s.read_f32(&self.device).await?[0];
                if !lp.is_finite() {
                    return Err(ModelError::Numerics(format!("log-probability {lp} at step {}: the logits overflowed", ids.len() - 1)));
                }
                logprobs_out.push(lp);
            }
            self.device.check_alive()?;
            ids.push(id);
            if reporter.report(&ids).is_break() {
                stopped = true;
                break;
            }
            if id == t.eos_token_id {
                break;
            }
            rec = Recorder::new(&self.device);
        }
        Ok(Generated {
            ids,
            score: None,
            token_logprobs: scores.then_some(logprobs_out),
            stopped,
            encode_time: Duration::ZERO,
            decode_time: Duration::ZERO,
        })
    }
}
