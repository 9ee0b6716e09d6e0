//! Decoding settings from outside (the CLI's --beams / --max-new-tokens, a page's request) are
//! checked before any decoder state exists: 100000 beams is a message, not 100000 KV caches, and
//! an absurd token limit is capped by the model's positions (the generation still starts with
//! the reference's greedy ids).

mod common;

use common::Case;
use visionllm_florence2::generate::{Decoding, MAX_BEAMS};
use visionllm_florence2::model::ModelError;
use visionllm_gpu::DType;

#[test]
fn beam_counts_and_token_limits_are_bounded_before_allocation() {
    let case = Case::open("tiny224");
    let model = case.model(DType::F32);
    let features = case.features(&model);
    let ids = case.ids("input_ids");
    for beams in [0, MAX_BEAMS + 1, 100_000, usize::MAX] {
        let err = common::generate(&model, &ids, &features, &Decoding::florence_beams(beams), 20).unwrap_err();
        assert!(matches!(&err, ModelError::Input(m) if m.contains("beams")), "{beams} beams: {err}");
    }
    let err = common::generate(&model, &ids, &features, &Decoding::Greedy, 0).unwrap_err();
    assert!(matches!(err, ModelError::Input(_)), "{err}");
    // usize::MAX new tokens: capped by the positions; the first 20 are the reference's greedy
    // ids (it stopped at 20 new tokens, not at eos).
    let want = case.ids("greedy_ids");
    let got = common::generate(&model, &ids, &features, &Decoding::Greedy, usize::MAX).unwrap();
    assert!(got.ids.starts_with(&want), "{:?} vs {want:?}", got.ids);
    assert!(got.ids.len() <= model.config().text_config.max_position_embeddings, "{} ids", got.ids.len());
    // A prompt longer than the model's positions (a long instruction on a small model) is a
    // message that says what to do, not a GPU fault.
    let mut long = ids.clone();
    long.extend(std::iter::repeat_n(ids[ids.len() - 2], model.config().text_config.max_position_embeddings));
    let err = common::generate(&model, &long, &features, &Decoding::Greedy, 4).unwrap_err();
    assert!(err.to_string().contains("shorten the instruction"), "{err}");
    // The largest beam count allowed runs.
    assert!(common::generate(&model, &ids, &features, &Decoding::florence_beams(MAX_BEAMS), 4).is_ok());
}
