//! Beam search with the reference's semantics (transformers 5 `_beam_search`, `early_stopping=True`):
//! each step scores `log_softmax(logits)` (with the n-gram bans and forced bos/eos of the logits
//! processors) plus each beam's running score, keeps the top 2·beams candidates over all beams, moves
//! candidates that end (eos or the length limit) among the first `beams` ranks into the finished
//! set with score / generated_length^length_penalty, and continues the best `beams` that did not
//! end. It stops once `beams` sequences are finished or every candidate ends.
//!
//! Log-probs and the top-k run on the GPU; only 2·beams (score, index) pairs are read per step.

use visionllm_gpu::ops::{copy, logprobs, topk};
use visionllm_gpu::Recorder;

use web_time::Duration;

use visionllm_modelkit::StepReporter;

use crate::generate::Generated;
use crate::language::DecoderState;
use crate::model::{Florence2, ModelError, Result};

/// A running score for beams that only fill the initial batch (as the reference's -1e9).
const FILLER: f32 = -1e9;

struct Beam {
    ids: Vec<u32>,
    score: f32,
    state: Option<DecoderState>,
}

/// Tokens that would repeat an n-gram already in `ids` (the reference's NoRepeatNGramLogitsProcessor).
pub fn banned_tokens(ids: &[u32], n: usize) -> Vec<u32> {
    if n == 0 || ids.len() + 1 < n {
        return Vec::new();
    }
    let prefix = &ids[ids.len() + 1 - n..];
    let mut out: Vec<u32> = ids.windows(n).filter(|w| &w[..n - 1] == prefix).map(|w| w[n - 1]).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// One beam search's settings (`Decoding::Beam`) and the length limit (decoder start included).
pub(crate) struct BeamSearch {
    pub num_beams: usize,
    pub ngram: usize,
    pub length_penalty: f32,
    pub max_len: usize,
}

impl BeamSearch {
    pub(crate) async fn run(&self, m: &Florence2, rec: Recorder<'_>, start: DecoderState, reporter: &mut StepReporter<'_>) -> Result<Generated> {
        let BeamSearch { num_beams, ngram, length_penalty, max_len } = *self;
        search(m, rec, start, max_len, num_beams, ngram, length_penalty, reporter).await
    }
}

#[allow(clippy::too_many_arguments)]
async fn search(m: &Florence2, rec: Recorder<'_>, start: DecoderState, max_len: usize, num_beams: usize, ngram: usize, length_penalty: f32, reporter: &mut StepReporter<'_>) -> Result<Generated> {
    let t = &m.cfg.text_config;
    let vocab = t.vocab_size;
    let k = 2 * num_beams;
    let mut rec = rec;
    let mut running: Vec<Beam> = (0..num_beams)
        .map(|b| {
            let state = if b == 0 { start.clone() } else { m.language.fork(&mut rec, &start)? };
            Ok(Beam { ids: vec![t.decoder_start_token_id], score: if b == 0 { 0.0 } else { FILLER }, state: Some(state) })
        })
        .collect::<Result<_>>()?;
    // Finished: up to `num_beams` (score, ids), best first.
    let mut finished: Vec<(f32, Vec<u32>)> = Vec::new();
    let mut cur_len = 1;
    loop {
        // Score every running beam's next token.
        let mut rows = Vec::with_capacity(num_beams);
        for beam in running.iter_mut() {
            let state = beam.state.as_mut().expect("running beams own a state");
            rows.push(m.language.step(&mut rec, state, &beam.ids[beam.ids.len() - 1..], &mut |_, _| {})?);
        }
        let refs: Vec<&visionllm_gpu::Tensor> = rows.iter().collect();
        let logits = copy::concat(&mut rec, &refs, 0)?;
        let forced = if cur_len == max_len - 1 {
            Some(t.eos_token_id)
        } else if cur_len == 1 {
            Some(t.bos_token_id)
        } else {
            None
        };
        let banned: Vec<(u32, u32)> =
            running.iter().enumerate().flat_map(|(b, beam)| banned_tokens(&beam.ids, ngram).into_iter().map(move |tok| (b as u32, tok))).collect();
        let bias: Vec<f32> = running.iter().map(|b| b.score).collect();
        let scores = logprobs::search_log_probs(&mut rec, &logits, &bias, forced, &banned)?;
        let (values, indices) = topk::topk(&mut rec, &scores.reshape(&[1, num_beams * vocab]), k)?;
        let (sv, si) = (rec.stage_read(&values)?, rec.stage_read(&indices)?);
        rec.submit();
        let values = sv.read_f32(&m.device).await?;
        let indices = si.read_u32(&m.device).await?;
        m.device.check_alive()?;
        if !values.first().is_some_and(|v| v.is_finite() && *v > -1e30) {
            return Err(ModelError::Numerics(format!(
                "no finite candidate at step {cur_len} (best score {:?}): the logits overflowed; f16 activations overflow on some models, try f32",
                values.first()
            )));
        }
        rec = Recorder::new(&m.device);

        // Candidates in rank order: (parent beam, token, accumulated score, ends here).
        let candidates: Vec<(usize, u32, f32, bool)> = values
            .iter()
            .zip(&indices)
            .map(|(&s, &i)| {
                let (parent, token) = (i as usize / vocab, (i as usize % vocab) as u32);
                (parent, token, s, token == t.eos_token_id || cur_len + 1 >= max_len)
            })
            .collect();
        // Finished hypotheses: only the first `num_beams` ranks may finish, while slots remain.
        if finished.len() < num_beams {
            for &(parent, token, score, ends) in candidates.iter().take(num_beams) {
                if ends && score > FILLER / 2.0 {
                    let mut ids = running[parent].ids.clone();
                    ids.push(token);
                    finished.push((score / (cur_len as f32).powf(length_penalty), ids));
                }
            }
            finished.sort_by(|a, b| b.0.total_cmp(&a.0));
            finished.truncate(num_beams);
        }
        if finished.len() == num_beams || candidates.iter().all(|c| c.3) {
            break;
        }
        // The best `num_beams` candidates that continue (ended ones sink by the reference's -1e9).
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by(|&a, &b| {
            let key = |i: usize| candidates[i].2 + if candidates[i].3 { FILLER } else { 0.0 };
            key(b).total_cmp(&key(a))
        });
        let mut next = Vec::with_capacity(num_beams);
        for &c in order.iter().take(num_beams) {
            let (parent, token, score, ends) = candidates[c];
            // The first child of a parent takes its state; later children copy the caches.
            let state = match running[parent].state.take() {
                Some(s) => s,
                None => {
                    let source = next.iter().find_map(|b: &Beam| (b.ids[..b.ids.len() - 1] == running[parent].ids[..]).then(|| b.state.clone())).flatten().expect("a sibling holds the parent's state");
                    m.language.fork(&mut rec, &source)?
                }
            };
            let mut ids = running[parent].ids.clone();
            ids.push(token);
            next.push(Beam { ids, score: score + if ends { FILLER } else { 0.0 }, state: Some(state) });
        }
        running = next;
        cur_len += 1;
        // The best hypothesis still running is what a reader sees grow.
        if reporter.report(&running[0].ids).is_break() {
            return Ok(generated(running[0].ids.clone(), None, true));
        }
    }
    let (score, ids) = finished.into_iter().next().unwrap_or_else(|| (running[0].score, running[0].ids.clone()));
    Ok(generated(ids, Some(score), false))
}

fn generated(ids: Vec<u32>, score: Option<f32>, stopped: bool) -> Generated {
    Generated { ids, score, token_logprobs: None, stopped, encode_time: Duration::ZERO, decode_time: Duration::ZERO }
}

#[cfg(test)]
mod tests {
    use super::banned_tokens;

    #[test]
    fn ngram_bans_follow_the_reference_rule() {
        // [2, 0, 5, 7, 0, 5]: prefix (0, 5) occurred before followed by 7.
        assert_eq!(banned_tokens(&[2, 0, 5, 7, 0, 5], 3), vec![7]);
        assert_eq!(banned_tokens(&[2, 0], 3), Vec::<u32>::new());
        assert_eq!(banned_tokens(&[2, 0, 5, 0, 5, 9, 0], 2), vec![5]);
        assert_eq!(banned_tokens(&[1, 1, 1], 3), vec![1]);
        assert_eq!(banned_tokens(&[1, 2, 3], 0), Vec::<u32>::new());
    }
}
