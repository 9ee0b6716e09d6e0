//! Every stage against the reference's activations (f32, 1e-4 relative as defined by
//! `visionllm_gpu::conformance::compare`), and the generated ids exactly.

mod common;

use common::{run_and_compare, Case};
use visionllm_florence2::generate::Decoding;
use visionllm_gpu::DType;

const RTOL: f32 = 1e-4;

fn stages(case_name: &str) {
    let case = Case::open(case_name);
    let model = case.model(DType::F32);
    let pixels = case.pixel_values();
    let ids = case.ids("input_ids");
    let n = run_and_compare(&case, model.gpu(), RTOL, |n| n.replace("decoder.", "decoder.step0."), |rec, tap| {
        let features = model.image_features(rec, &pixels, tap).unwrap();
        let encoded = model.encode(rec, &ids, &features, tap).unwrap();
        model.first_step_logits(rec, &encoded, tap).unwrap();
    });
    assert!(n >= 10, "only {n} tensors compared");
}

/// Generate for the case's prompt and image with `decoding`.
fn generate(case: &Case, decoding: &Decoding, max_new_tokens: usize) -> visionllm_florence2::generate::Generated {
    let model = case.model(DType::F32);
    let features = case.features(&model);
    common::generate(&model, &case.ids("input_ids"), &features, decoding, max_new_tokens).unwrap()
}

fn greedy_ids(case_name: &str) {
    let case = Case::open(case_name);
    let want = case.ids("greedy_ids");
    assert_eq!(generate(&case, &Decoding::Greedy, want.len() - 1).ids, want);
}

/// 3 beams with the published defaults: ids exactly, sequence score within f32 noise.
fn beam_ids(case_name: &str) {
    let case = Case::open(case_name);
    let max_new = case.info["beam3_kwargs"]["max_new_tokens"].as_u64().unwrap() as usize;
    let got = generate(&case, &Decoding::florence_beams(3), max_new);
    assert_eq!(got.ids, case.ids("beam3_ids"));
    let want_score = case.f32("beam3_score")[0];
    let score = got.score.unwrap();
    assert!((score - want_score).abs() <= 1e-4 * (1.0 + want_score.abs()), "score {score} vs {want_score}");
}

#[test]
fn tiny224_beam_ids_match_reference() {
    beam_ids("tiny224");
}

#[test]
fn tiny768_beam_ids_match_reference() {
    beam_ids("tiny768");
}

#[test]
fn geom2_photo_beam_ids_match_reference() {
    beam_ids("geom2_photo");
}

#[test]
fn tiny224_stages_match_reference() {
    stages("tiny224");
}

#[test]
fn tiny224_greedy_ids_match_reference() {
    greedy_ids("tiny224");
}

#[test]
fn tiny768_stages_match_reference() {
    stages("tiny768");
}

#[test]
fn tiny768_greedy_ids_match_reference() {
    greedy_ids("tiny768");
}

#[test]
fn geom2_photo_stages_match_reference() {
    stages("geom2_photo");
}

#[test]
fn geom2_photo_greedy_ids_match_reference() {
    greedy_ids("geom2_photo");
}
