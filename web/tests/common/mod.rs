//! Shared by the page-logic tests: a finished job as the worker sends it, and the random
//! source of the property tests over arbitrary text.
#![allow(dead_code)] // each test file uses part of it

use visionllm_tasks::box_scores::WalkedBox;
use visionllm_tasks::{parse, route, ImageSize, TaskCall};
use visionllm_web::messages::{DecodingMode, JobResult, JobStatus, TaskRun, Timings};

/// `instruction` routed as the app routes it, on an image of `size`, answered by `runs`: each
/// task call with its generated text and the scores of its boxes (empty: no scores decoded).
pub fn job_of(instruction: &str, size: ImageSize, runs: Vec<(TaskCall, &str, Vec<WalkedBox>)>) -> JobResult {
    let routed = route(instruction, None).expect("the test instructions route");
    JobResult {
        instruction: instruction.into(),
        explanation: routed.explanation,
        fallback: routed.fallback,
        options: routed.options,
        image_width: size.width,
        image_height: size.height,
        decoding: DecodingMode::Fast,
        status: JobStatus::Done,
        runs: runs
            .into_iter()
            .map(|(call, text, scored_boxes)| TaskRun { answer: parse(call.task, text, size), call, generated_text: text.into(), new_tokens: 5, score: None, scored_boxes })
            .collect(),
        timings: Timings::default(),
        chat: None,
    }
}

/// xorshift64: a fixed, seedable stream for the property tests (the same cases every run).
pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}
