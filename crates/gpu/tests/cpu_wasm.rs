//! The conformance suite on the CPU backend compiled to wasm32 (simd128, one thread), in Node: no
//! page and no GPU needed. `tests/browser.rs` runs the same suite on it in Chromium, and
//! `crates/florence2/tests/browser_generation.rs` the worker's generation path. Run with
//! `cargo test --target wasm32-unknown-unknown --test cpu_wasm`.
#![cfg(target_arch = "wasm32")]

use visionllm_gpu::{conformance, Device};
use wasm_bindgen_test::*;

#[wasm_bindgen_test]
async fn every_kernel_on_the_cpu_backend_in_wasm() {
    let n = conformance::check_every_kernel(&Device::cpu(), 51).await.unwrap();
    console_log!("cpu backend in wasm (Node): {n} cases match the twins");
}
