//! What every family's generation shares (as candle-nn's `KvCache` and `LogitsProcessor` serve
//! every candle model): the self-attention KV cache, the step hook that lets a caller show a
//! growing answer and stop between tokens, and the greedy loop. The loop is written once, on the
//! backend boundary: it records a step through the family's closure, takes the argmax (and, when
//! asked, that token's log-probability) on the device, reads back one id (and one f32) and goes on.
//! Florence-2's beam search uses the cache and the hook too; Qwen3-VL decodes greedily.

use std::ops::ControlFlow;

use visionllm_gpu::ops::attention::kv_cache_append;
use visionllm_gpu::ops::{embedding, logprobs, topk};
use visionllm_gpu::{DType, Recorder, Tensor};
use web_time::{Duration, Instant};

use crate::{ModelError, Result};

/// One K and one V cache [max_len, width] per decoder layer, the first `len` rows filled. Every
/// layer appends the same rows in one step; `advance` then moves `len` past them.
#[derive(Clone)]
pub struct KvCache {
    layers: Vec<(Tensor, Tensor)>,
    len: usize,
    max_len: usize,
}

impl KvCache {
    /// Empty caches for `layers` layers of `width` columns and up to `max_len` positions.
    pub fn new(rec: &mut Recorder, layers: usize, max_len: usize, width: usize, dtype: DType) -> KvCache {
        let layers = (0..layers).map(|_| (rec.zeros(&[max_len, width], dtype), rec.zeros(&[max_len, width], dtype))).collect();
        KvCache { layers, len: 0, max_len }
    }

    /// Positions filled.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `n` more positions fit; the error says where the step stood.
    pub fn check_room(&self, n: usize) -> Result<()> {
        if n == 0 || self.len.checked_add(n).is_none_or(|end| end > self.max_len) {
            return Err(ModelError::Input(format!("a step of {n} tokens at position {} exceeds the {} positions of the cache", self.len, self.max_len)));
        }
        Ok(())
    }

    /// Writes `k` and `v` [n, width] of `layer` at the next rows and returns that layer's caches,
    /// valid for `len() + n` rows until `advance(n)`.
    pub fn append(&self, rec: &mut Recorder, layer: usize, k: &Tensor, v: &Tensor) -> Result<(&Tensor, &Tensor)> {
        let (kc, vc) = self.layers.get(layer).ok_or_else(|| ModelError::Input(format!("layer {layer} of a {}-layer cache", self.layers.len())))?;
        kv_cache_append(rec, kc, k, self.len)?;
        kv_cache_append(rec, vc, v, self.len)?;
        Ok((kc, vc))
    }

    /// Every layer appended `n` rows: they are part of the sequence now.
    pub fn advance(&mut self, n: usize) -> Result<()> {
        self.check_room(n)?;
        self.len += n;
        Ok(())
    }

    /// A copy whose caches are new buffers (beam search reorders beams by copying).
    pub fn fork(&self, rec: &mut Recorder) -> Result<KvCache> {
        let dup = |rec: &mut Recorder, t: &Tensor| -> Result<Tensor> {
            let n = rec.alloc(&t.shape, t.dtype);
            rec.copy_into(t, &n, 0)?;
            Ok(n)
        };
        let layers = self.layers.iter().map(|(k, v)| Ok((dup(rec, k)?, dup(rec, v)?))).collect::<Result<_>>()?;
        Ok(KvCache { layers, len: self.len, max_len: self.max_len })
    }
}

/// What the step hook sees after each decoder step.
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    /// The answer so far as the family returns it (Florence-2: decoder start token first; Qwen3-VL:
    /// the generated ids only). For beam search the best hypothesis still running (it may change
    /// completely at the next step).
    pub ids: &'a [u32],
    /// Steps taken (tokens generated per hypothesis).
    pub new_tokens: usize,
    /// Time since the decoder started.
    pub elapsed: Duration,
}

/// The step hook: runs after every step; `Break` stops generation after that token (the app's
/// Cancel), and the answer is what was made until then.
pub type OnStep<'a> = &'a mut dyn FnMut(&Step) -> ControlFlow<()>;

/// Counts steps and time for the hook, so every decoding reports the same way.
pub struct StepReporter<'f> {
    started: Instant,
    steps: usize,
    on_step: OnStep<'f>,
}

impl<'f> StepReporter<'f> {
    /// The clock starts now.
    pub fn new(on_step: OnStep<'f>) -> Self {
        StepReporter { started: Instant::now(), steps: 0, on_step }
    }

    pub fn report(&mut self, ids: &[u32]) -> ControlFlow<()> {
        self.steps += 1;
        (self.on_step)(&Step { ids, new_tokens: self.steps, elapsed: self.started.elapsed() })
    }

    /// Time since the reporter was made.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Where greedy decoding stops.
#[derive(Clone, Copy, Debug)]
pub struct GreedyLimits<'a> {
    /// The answer holds at most this many ids (what it started with included).
    pub max_len: usize,
    /// Ids that end the answer (kept in it).
    pub stop_ids: &'a [u32],
    /// Also read back the log-probability (log-softmax of the logits) of each chosen id.
    pub scores: bool,
}

/// What the greedy loop made.
#[derive(Clone, Debug)]
pub struct GreedyRun {
    /// The ids it started with, then every chosen id (a stop id included).
    pub ids: Vec<u32>,
    /// With `scores`: the log-probability of each chosen id.
    pub token_logprobs: Option<Vec<f32>>,
    /// The hook stopped the loop.
    pub stopped: bool,
}

/// The logits of the next position, recorded into the recorder given: the family's decoder fed
/// the ids so far (the last one, with a KV cache; or the whole prompt when it is the first step).
pub type RecordStep<'a, 'd> = &'a mut dyn FnMut(&mut Recorder<'d>, &[u32]) -> Result<Tensor>;

/// Greedy decoding from `ids`: record a step (into `rec` first, so what it already holds, an
/// image or an encoder pass, runs in the same submission), take the argmax of the logits on the
/// device, read back the id (and its log-probability), report, stop at a stop id, the limit or the
/// hook's `Break`. The id is the argmax of the logits themselves (not of the log-probs, where
/// rounding could tie two logits), so the ids never depend on `scores`.
pub async fn greedy<'d>(mut rec: Recorder<'d>, mut ids: Vec<u32>, limits: GreedyLimits<'_>, reporter: &mut StepReporter<'_>, step: RecordStep<'_, 'd>) -> Result<GreedyRun> {
    let device = rec.device();
    let mut logprobs_out = Vec::new();
    let mut stopped = false;
    while ids.len() < limits.max_len {
        let logits = step(&mut rec, &ids)?;
        let next = topk::argmax(&mut rec, &logits)?;
        let staged_logprob = if limits.scores {
            let (_, vocab) = logits.dims2();
            let lp = logprobs::search_log_probs(&mut rec, &logits, &[0.0], None, &[])?;
            let picked = embedding::embedding(&mut rec, &lp.reshape(&[vocab, 1]), &next)?;
            Some(rec.stage_read(&picked)?)
        } else {
            None
        };
        let staged = rec.stage_read(&next)?;
        rec.submit();
        let id = *staged.read_u32(device).await?.first().ok_or_else(|| ModelError::Numerics("the argmax returned nothing".into()))?;
        if let Some(s) = staged_logprob {
            let lp = *s.read_f32(device).await?.first().ok_or_else(|| ModelError::Numerics("the log-probability read back empty".into()))?;
            if !lp.is_finite() {
                return Err(ModelError::Numerics(format!("log-probability {lp} at step {}: the logits overflowed", logprobs_out.len())));
            }
            logprobs_out.push(lp);
        }
        device.check_alive()?;
        ids.push(id);
        if reporter.report(&ids).is_break() {
            stopped = true;
            break;
        }
        if limits.stop_ids.contains(&id) {
            break;
        }
        rec = Recorder::new(device);
    }
    Ok(GreedyRun { ids, token_logprobs: limits.scores.then_some(logprobs_out), stopped })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use visionllm_gpu::Device;

    use super::*;

    fn read(device: &Device, t: &Tensor) -> Vec<f32> {
        let mut rec = Recorder::new(device);
        let staged = rec.stage_read(t).unwrap();
        rec.submit();
        pollster::block_on(staged.read_f32(device)).unwrap()
    }

    #[test]
    fn rows_append_at_the_end_and_a_fork_goes_its_own_way() {
        let device = Device::cpu();
        let mut rec = Recorder::new(&device);
        let mut cache = KvCache::new(&mut rec, 2, 3, 2, DType::F32);
        let k = rec.upload_f32(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let v = rec.upload_f32(&[2, 2], &[5.0, 6.0, 7.0, 8.0]);
        assert!(cache.check_room(0).is_err(), "an empty step is refused");
        for layer in 0..2 {
            cache.append(&mut rec, layer, &k, &v).unwrap();
        }
        assert!(cache.append(&mut rec, 2, &k, &v).is_err(), "a third layer of a two-layer cache");
        cache.advance(2).unwrap();
        assert_eq!(cache.len(), 2);
        assert!(cache.check_room(2).is_err(), "two more rows than the three positions");
        let fork = cache.fork(&mut rec).unwrap();
        let k2 = rec.upload_f32(&[1, 2], &[9.0, 10.0]);
        cache.append(&mut rec, 0, &k2, &k2).unwrap();
        cache.advance(1).unwrap();
        rec.submit();
        assert_eq!(read(&device, &cache.layers[0].0), [1.0, 2.0, 3.0, 4.0, 9.0, 10.0]);
        assert_eq!(read(&device, &cache.layers[1].1), [5.0, 6.0, 7.0, 8.0, 0.0, 0.0], "layer 1 got no third row");
        assert_eq!(read(&device, &fork.layers[0].0), [1.0, 2.0, 3.0, 4.0, 0.0, 0.0], "the fork kept its own copy");
        assert_eq!((fork.len(), cache.len()), (2, 3));
        assert!(cache.advance(1).is_err(), "the cache is full");
    }
}
