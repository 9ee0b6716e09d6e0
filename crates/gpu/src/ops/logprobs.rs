//! Log-softmax for search with the adjustments a logits processor makes: a per-row bias (a beam's
//! running score), one forced token, and banned (row, token) pairs. What generation needs from the
//! scores without reading the vocabulary back: a top-k over the result follows on the GPU.

use crate::dtype::DType;
use crate::error::{shape_err, Result};
use crate::kernel;
use crate::pipeline::Kernel;
use crate::recorder::Recorder;
use crate::tensor::Tensor;

use super::{float_dtype, variant_for};

const LOGPROBS: Kernel = kernel!("logprobs");

/// logits [R, V] -> f32 [R, V]: `logits - logsumexp(row) + bias[r]`; with `forced`, every token
/// but the forced one is -inf and the forced one is `bias[r]`; `banned` pairs are -inf (-f32::MAX).
pub fn search_log_probs(rec: &mut Recorder, logits: &Tensor, bias: &[f32], forced: Option<u32>, banned: &[(u32, u32)]) -> Result<Tensor> {
    let dtype = float_dtype(rec, "search_log_probs", &[logits])?;
    let (rows, cols) = logits.dims2();
    if bias.len() != rows || rows == 0 || cols == 0 || forced.is_some_and(|f| f as usize >= cols) {
        return Err(shape_err("search_log_probs", format!("logits {:?}, {} biases, forced {forced:?}", logits.shape, bias.len())));
    }
    if let Some(c) = rec.cpu() {
        let out = visionllm_cpu::logprobs::search_log_probs(logits.cpu_read("search_log_probs")?.f32(), rows, cols, bias, forced, banned);
        return Ok(c.from_f32(&[rows, cols], out));
    }
    let tb = rec.upload_f32(&[rows], bias);
    let mut pairs: Vec<u32> = banned.iter().flat_map(|&(r, t)| [r, t]).collect();
    if pairs.is_empty() {
        // A binding cannot be empty; the kernel reads `params[3]` = 0 pairs of it.
        pairs.extend([u32::MAX, u32::MAX]);
    }
    let tban = rec.upload_u32(&[pairs.len()], &pairs);
    let out = rec.alloc(&[rows, cols], DType::F32);
    let params = [rows as u32, cols as u32, forced.unwrap_or(u32::MAX), banned.len() as u32];
    let pipeline = rec.gpu().pipeline(&LOGPROBS, "main", &variant_for(rec.gpu(), dtype));
    rec.dispatch(&pipeline, &params, &[logits, &tb, &tban, &out], [rows as u32, 1, 1]);
    Ok(out)
}
