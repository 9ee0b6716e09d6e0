//! (beam search comes next)
use crate::generate::Generated;
use crate::language::DecoderState;
use crate::model::{Florence2, ModelError, Result};
use visionllm_gpu::Recorder;

pub(crate) async fn beam_search(_m: &Florence2, _rec: Recorder<'_>, _s: DecoderState, _max_len: usize, _beams: usize, _ngram: usize, _lp: f32) -> Result<Generated> {
    Err(ModelError::Input("beam search not implemented yet".into()))
}
