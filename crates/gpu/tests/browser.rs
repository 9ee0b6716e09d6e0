//! The kernels in wasm on the browser's WebGPU (SwiftShader in headless Chromium here), compared
//! with the same CPU twins as natively. Run with `cargo test --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use visionllm_gpu::{conformance, Gpu, Overrides};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn gpu() -> std::sync::Arc<Gpu> {
    let gpu = Gpu::new(Overrides::NONE).await.expect("navigator.gpu adapter (start Chromium with --enable-unsafe-webgpu)");
    console_log!("adapter: {}", gpu.caps.describe());
    gpu
}

#[wasm_bindgen_test]
async fn matmul_in_browser() {
    let n = conformance::matmul::check_matmul(&*gpu().await, 11).await.unwrap();
    console_log!("matmul: {n} cases match the CPU twin");
}

#[wasm_bindgen_test]
async fn quantized_gemv_in_browser() {
    let n = conformance::qmatmul::check_qmatmul(&*gpu().await, 12).await.unwrap();
    console_log!("qmatmul/qgemv: {n} cases match the CPU twin");
}

#[wasm_bindgen_test]
async fn attention_in_browser() {
    let gpu = gpu().await;
    let n = conformance::attention::check_window_attention(&gpu, 13).await.unwrap()
        + conformance::attention::check_attention(&gpu, 14).await.unwrap();
    console_log!("attention: {n} cases match the CPU twin");
}
