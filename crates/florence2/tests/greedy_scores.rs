//! Greedy decoding with per-token log-probabilities: the same ids as plain greedy (the reference's),
//! every log-prob <= 0, and step 0's equal to a CPU log-softmax of the reference's step-0 logits.

mod common;

use common::Case;
use visionllm_florence2::generate::Decoding;
use visionllm_gpu::DType;

#[test]
fn tiny224_greedy_log_probs() {
    let case = Case::open("tiny224");
    let model = case.model(DType::F32);
    let features = case.features(&model);
    let want = case.ids("greedy_ids");
    let got = common::generate(&model, &case.ids("input_ids"), &features, &Decoding::GreedyWithScores, want.len() - 1).unwrap();
    assert_eq!(got.ids, want, "ids differ from plain greedy's reference ids");
    let lps = got.token_logprobs.expect("GreedyWithScores fills token_logprobs");
    assert_eq!(lps.len(), want.len() - 1);
    assert!(lps.iter().all(|&lp| lp.is_finite() && lp <= 0.0), "{lps:?}");

    // Step 0 on the CPU, in f64, from the reference's logits.
    let logits = case.f32("decoder.step0.logits");
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
    let lse = max + logits.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>().ln();
    let want0 = logits[want[1] as usize] as f64 - lse;
    assert!((lps[0] as f64 - want0).abs() <= 1e-4, "step 0 log-prob {} vs CPU {want0}", lps[0]);

    // Plain greedy reports none.
    let plain = common::generate(&model, &case.ids("input_ids"), &features, &Decoding::Greedy, 3).unwrap();
    assert!(plain.token_logprobs.is_none());
}
