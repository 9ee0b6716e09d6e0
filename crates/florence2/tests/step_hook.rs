//! `generate_with`'s step hook: it sees every step of greedy and beam search, the greedy ids it
//! sees are the answer's prefixes, and `Break` stops the loop there with the answer so far.

mod common;

use std::ops::ControlFlow;

use common::Case;
use visionllm_florence2::Decoding;
use visionllm_gpu::DType;

#[test]
fn the_hook_sees_each_step_and_can_stop_greedy_and_beam_search() {
    let case = Case::open("tiny224");
    let model = case.model(DType::F32);
    let features = case.features(&model);
    let ids = case.ids("input_ids");
    let want = case.ids("greedy_ids");

    // Greedy to the end: one call per token, each the prefix so far, time never going back.
    let mut seen: Vec<(usize, Vec<u32>, f64)> = Vec::new();
    let full = pollster::block_on(model.generate_with(&ids, &features, &Decoding::Greedy, want.len() - 1, &mut |s| {
        seen.push((s.new_tokens, s.ids.to_vec(), s.elapsed.as_secs_f64()));
        ControlFlow::Continue(())
    }))
    .unwrap();
    assert_eq!(full.ids, want);
    assert!(!full.stopped);
    assert_eq!(seen.len(), want.len() - 1);
    for (i, (n, prefix, _)) in seen.iter().enumerate() {
        assert_eq!(*n, i + 1);
        assert_eq!(prefix[..], want[..i + 2]);
    }
    assert!(seen.windows(2).all(|w| w[0].2 <= w[1].2));

    // Stopped after 3 tokens: the first 3 tokens of the full answer, marked stopped.
    let mut calls = 0;
    let stopped = pollster::block_on(model.generate_with(&ids, &features, &Decoding::Greedy, want.len() - 1, &mut |s| {
        calls += 1;
        if s.new_tokens == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    }))
    .unwrap();
    assert_eq!(calls, 3);
    assert!(stopped.stopped);
    assert_eq!(stopped.ids[..], want[..4]);

    // Beam search reports its best running hypothesis each step; stopping keeps it, unscored.
    let beam_want = case.ids("beam3_ids");
    let mut beam_steps = Vec::new();
    let beams = pollster::block_on(model.generate_with(&ids, &features, &Decoding::florence_beams(3), 20, &mut |s| {
        beam_steps.push(s.ids.to_vec());
        ControlFlow::Continue(())
    }))
    .unwrap();
    assert_eq!(beams.ids, beam_want);
    assert!(beam_steps.iter().enumerate().all(|(i, h)| h.len() == i + 2), "one more token per step");
    let mut at_two = Vec::new();
    let cut = pollster::block_on(model.generate_with(&ids, &features, &Decoding::florence_beams(3), 20, &mut |s| {
        at_two = s.ids.to_vec();
        if s.new_tokens == 2 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    }))
    .unwrap();
    assert!(cut.stopped && cut.score.is_none());
    assert_eq!(cut.ids, at_two);
    assert_eq!(cut.ids, beam_steps[1], "the same hypothesis the full search had at that step");
}
