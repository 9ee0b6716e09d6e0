//! The f16 path (f16 storage of weights and activations, f32 arithmetic inside every kernel)
//! against the reference's f32 activations, where the adapter has shader-f16 (lavapipe has).
//!
//! Tolerance, stated and justified: one f16 rounding is at most 2^-11 ≈ 4.9e-4 relative; each
//! stored activation and weight is rounded once per op, and errors add up through the network's
//! sequence of ~40 (tiny224) stored intermediates and residual sums, growing roughly with the
//! square root of the count for independent roundings and linearly in the worst case. We require
//! every stage within 2e-2 relative (in `compare`'s sense: |err| ≤ rtol·(|want| + rms(want))), about
//! 40 single roundings; measured: at most 0.56 of that bound (~1.1e-2, vision stage 2).

mod common;

use common::{run_and_compare, Case};
use visionllm_gpu::DType;

const RTOL_F16: f32 = 2e-2;

#[test]
fn tiny224_f16_stages_within_stated_tolerance() {
    let case = Case::open("tiny224");
    let model = case.model(DType::F32);
    if !model.gpu().caps.f16 {
        eprintln!("skipped: the adapter has no shader-f16 ({})", model.gpu().caps.describe());
        return;
    }
    drop(model);
    let model = case.model(DType::F16);
    let pixels = case.pixel_values();
    let ids = case.ids("input_ids");
    let n = run_and_compare(&case, model.gpu(), RTOL_F16, |n| n.replace("decoder.", "decoder.step0."), |rec, tap| {
        let features = model.image_features(rec, &pixels, tap).unwrap();
        let encoded = model.encode(rec, &ids, &features, tap).unwrap();
        model.first_step_logits(rec, &encoded, tap).unwrap();
    });
    assert!(n >= 10);
}
