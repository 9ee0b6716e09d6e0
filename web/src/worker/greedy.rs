//! Greedy decoding with a stop button: the same steps as `Florence2::decode` with
//! `Decoding::Greedy`, but the loop lives here so each token can report progress and a `Cancel`
//! can stop it between tokens. (Beam search would need the same hook inside crates/florence2.)

use visionllm_florence2::Florence2;
use visionllm_gpu::ops::topk;
use visionllm_gpu::{Recorder, Tensor};

use super::{now_ms, progress};
use crate::messages::{Progress, Stage};

pub enum Decoded {
    Ids(Vec<u32>),
    Cancelled,
}

/// Decode from the encoder output; `is_cancelled` is asked after every token.
pub async fn decode_greedy(
    model: &Florence2,
    encoded: &Tensor,
    max_new_tokens: usize,
    job: u64,
    is_cancelled: &dyn Fn() -> bool,
) -> Result<Decoded, String> {
    let text = &model.cfg.text_config;
    let max_len = (max_new_tokens + 1).min(text.max_position_embeddings);
    let gpu = &model.gpu;
    let mut rec = Recorder::new(gpu);
    let mut state = model.language.start(&mut rec, encoded, max_len).map_err(|e| e.to_string())?;
    let mut ids = vec![text.decoder_start_token_id];
    let started = now_ms();
    let mut last_report = 0.0;
    while ids.len() < max_len {
        let logits = model.language.step(&mut rec, &mut state, &ids[ids.len() - 1..], &mut |_, _| {}).map_err(|e| e.to_string())?;
        let next = topk::argmax(&mut rec, &logits).map_err(|e| e.to_string())?;
        let staged = rec.stage_read(&next);
        rec.submit();
        let id = staged.read_u32(gpu).await.map_err(|e| e.to_string())?[0];
        gpu.check_alive().map_err(|e| e.to_string())?;
        ids.push(id);
        if is_cancelled() {
            return Ok(Decoded::Cancelled);
        }
        let t = now_ms();
        if t - last_report > 100.0 {
            last_report = t;
            let done = ids.len() as u64 - 1;
            progress(Progress { job: Some(job), stage: Stage::Decode, done, total: Some(max_len as u64 - 1), elapsed_ms: t - started });
        }
        if id == text.eos_token_id {
            break;
        }
        rec = Recorder::new(gpu);
    }
    Ok(Decoded::Ids(ids))
}
