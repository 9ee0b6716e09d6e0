//! The f16 path (f16 storage of weights and activations, f32 arithmetic inside every kernel)
//! against the reference's f32 activations. The test adapter must have shader-f16 (lavapipe, CI's
//! adapter, has it): without it the test fails rather than passing unchecked.
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
    let device = common::gpu();
    assert!(device.supports_f16(), "this test needs an adapter with shader-f16 (lavapipe has it): {device:?}");
    let model = case.model_on(&device, DType::F16);
    let pixels = case.pixel_values();
    let ids = case.ids("input_ids");
    let compared = run_and_compare(&case, &device, RTOL_F16, |n| n.replace("decoder.", "decoder.step0."), |rec, tap| {
        let features = model.image_features(rec, &pixels, tap).unwrap();
        let encoded = model.encode(rec, &ids, &features, tap).unwrap();
        model.first_step_logits(rec, &encoded, tap).unwrap();
    });
    assert_eq!(compared, case.stage_names(), "every stage the reference recorded");
}
