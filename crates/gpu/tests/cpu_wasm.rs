//! The conformance suite on the CPU backend compiled to wasm32 (simd128, one thread), in Node: no
//! page and no GPU needed. The browser's own run of the CPU backend is
//! `crates/florence2/tests/browser_generation.rs`. Run with `cargo test --target
//! wasm32-unknown-unknown --test cpu_wasm`.
#![cfg(target_arch = "wasm32")]

use visionllm_gpu::{conformance, Device};
use wasm_bindgen_test::*;

#[wasm_bindgen_test]
async fn every_kernel_on_the_cpu_backend_in_wasm() {
    let d = &Device::cpu();
    let mut n = 0;
    n += conformance::matmul::check_matmul(d, 51).await.unwrap();
    n += conformance::qmatmul::check_qmatmul(d, 52).await.unwrap();
    n += conformance::linear::check_linear(d, 53).await.unwrap();
    n += conformance::attention::check_window_attention(d, 54).await.unwrap();
    n += conformance::attention::check_attention(d, 55).await.unwrap();
    n += conformance::attention::check_causal_attention(d, 56).await.unwrap();
    n += conformance::attention::check_channel_attention(d, 57).await.unwrap();
    n += conformance::conv::check_conv(d, 58).await.unwrap();
    n += conformance::norm::check_layernorm(d, 59).await.unwrap();
    n += conformance::norm::check_rmsnorm(d, 60).await.unwrap();
    n += conformance::rope::check_rope(d, 61).await.unwrap();
    n += conformance::elementwise::check_elementwise(d, 62).await.unwrap();
    n += conformance::softmax::check_softmax(d, 63).await.unwrap();
    n += conformance::pool::check_mean_pool(d, 64).await.unwrap();
    n += conformance::embedding::check_embedding(d, 65).await.unwrap();
    n += conformance::copy::check_copy(d, 66).await.unwrap();
    n += conformance::topk::check_topk(d, 67).await.unwrap();
    n += conformance::logprobs::check_logprobs(d, 68).await.unwrap();
    console_log!("cpu backend in wasm: {n} cases match the twins");
}
