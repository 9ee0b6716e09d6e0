//! Every stage against the reference's activations (f32, 1e-4 relative as defined by
//! `visionllm_gpu::conformance::compare`), and the generated ids exactly, on every backend (the
//! CPU backend and the native GPU adapter).

mod common;

use common::{devices, run_and_compare, Case};
use visionllm_florence2::generate::Decoding;
use visionllm_gpu::DType;

const RTOL: f32 = 1e-4;

/// Every activation the reference recorded for one forward pass must be compared: a tap the model
/// no longer records would otherwise drop out of the test unnoticed.
fn stages(case_name: &str) {
    let case = Case::open(case_name);
    let pixels = case.pixel_values();
    let ids = case.ids("input_ids");
    let want = case.stage_names();
    assert!(want.len() >= 10, "the fixture has only {want:?}");
    for device in devices() {
        let model = case.model_on(&device, DType::F32);
        let compared = run_and_compare(&case, &device, RTOL, |n| n.replace("decoder.", "decoder.step0."), |rec, tap| {
            let features = model.image_features(rec, &pixels, tap).unwrap();
            let encoded = model.encode(rec, &ids, &features, tap).unwrap();
            model.first_step_logits(rec, &encoded, tap).unwrap();
        });
        assert_eq!(compared, want, "on {device:?}: the stages compared are not the reference's");
    }
}

/// Generate for the case's prompt and image with `decoding`, once per backend.
fn generate(case: &Case, decoding: &Decoding, max_new_tokens: usize) -> Vec<(String, visionllm_florence2::generate::Generated)> {
    devices()
        .into_iter()
        .map(|device| {
            let model = case.model_on(&device, DType::F32);
            let features = case.features(&model);
            (format!("{device:?}"), common::generate(&model, &case.ids("input_ids"), &features, decoding, max_new_tokens).unwrap())
        })
        .collect()
}

fn greedy_ids(case_name: &str) {
    let case = Case::open(case_name);
    let want = case.ids("greedy_ids");
    for (device, got) in generate(&case, &Decoding::Greedy, want.len() - 1) {
        assert_eq!(got.ids, want, "on {device}");
    }
}

/// 3 beams with the published defaults: ids exactly, sequence score within f32 noise.
fn beam_ids(case_name: &str) {
    let case = Case::open(case_name);
    let max_new = case.info["beam3_kwargs"]["max_new_tokens"].as_u64().unwrap() as usize;
    let want_score = case.f32("beam3_score")[0];
    for (device, got) in generate(&case, &Decoding::florence_beams(3), max_new) {
        assert_eq!(got.ids, case.ids("beam3_ids"), "on {device}");
        let score = got.score.unwrap();
        assert!((score - want_score).abs() <= 1e-4 * (1.0 + want_score.abs()), "on {device}: score {score} vs {want_score}");
    }
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
