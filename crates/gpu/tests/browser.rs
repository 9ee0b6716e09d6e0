//! The kernels in wasm on the browser's WebGPU (SwiftShader in headless Chromium here), and on the
//! CPU backend in the same browser (what a page without WebGPU runs), compared with the same CPU
//! twins as natively. Run with `cargo test --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use visionllm_gpu::{conformance, Device, Gpu, Overrides, Tiling};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn gpu() -> Device {
    let gpu = Gpu::new(Overrides::NONE).await.expect("navigator.gpu adapter (start Chromium with --enable-unsafe-webgpu)");
    console_log!("adapter: {}", gpu.caps.describe());
    // A software adapter (SwiftShader here) gets the barrier-free kernels unless forced.
    assert_eq!(gpu.caps.tiling, Tiling::for_adapter(gpu.caps.adapter.is_software), "{}", gpu.caps.describe());
    Device::Gpu(gpu)
}

/// The CPU backend (WebAssembly SIMD, one thread) in Chromium: the whole suite.
#[wasm_bindgen_test]
async fn every_kernel_on_the_cpu_backend_in_browser() {
    let n = conformance::check_every_kernel(&Device::cpu(), 71).await.unwrap();
    console_log!("cpu backend in Chromium: {n} cases match the twins");
}

#[wasm_bindgen_test]
async fn matmul_in_browser() {
    let n = conformance::matmul::check_matmul(&gpu().await, 11).await.unwrap();
    console_log!("matmul: {n} cases match the CPU twin");
}

#[wasm_bindgen_test]
async fn quantized_gemv_in_browser() {
    let n = conformance::qmatmul::check_qmatmul(&gpu().await, 12).await.unwrap();
    console_log!("qmatmul/qgemv: {n} cases match the CPU twin");
}

#[wasm_bindgen_test]
async fn attention_in_browser() {
    let gpu = gpu().await;
    let n = conformance::attention::check_window_attention(&gpu, 13).await.unwrap()
        + conformance::attention::check_attention(&gpu, 14).await.unwrap();
    console_log!("attention: {n} cases match the CPU twin");
}

/// The rest of the suite, so the browser is held to the same standard as the native adapter.
#[wasm_bindgen_test]
async fn every_other_kernel_in_browser() {
    let device = gpu().await;
    let g = &device;
    let mut n = 0;
    n += conformance::attention::check_causal_attention(g, 21).await.unwrap();
    n += conformance::attention::check_channel_attention(g, 22).await.unwrap();
    n += conformance::conv::check_conv(g, 23).await.unwrap();
    n += conformance::linear::check_linear(g, 31).await.unwrap();
    n += conformance::logprobs::check_logprobs(g, 32).await.unwrap();
    n += conformance::copy::check_copy(g, 24).await.unwrap();
    n += conformance::elementwise::check_elementwise(g, 25).await.unwrap();
    n += conformance::embedding::check_embedding(g, 26).await.unwrap();
    n += conformance::norm::check_layernorm(g, 27).await.unwrap();
    n += conformance::norm::check_rmsnorm(g, 33).await.unwrap();
    n += conformance::rope::check_rope(g, 34).await.unwrap();
    n += conformance::pool::check_mean_pool(g, 28).await.unwrap();
    n += conformance::softmax::check_softmax(g, 29).await.unwrap();
    n += conformance::topk::check_topk(g, 30).await.unwrap();
    console_log!("other kernels: {n} cases match the CPU twins");
}

/// The workgroup kernels, which a real GPU gets, through the browser's own shader compiler.
#[wasm_bindgen_test]
async fn workgroup_kernels_in_browser() {
    let gpu = Gpu::new(Overrides { tiling: Some(Tiling::Workgroup), ..Overrides::NONE }).await.unwrap();
    assert_eq!(gpu.caps.tiling, Tiling::Workgroup);
    let device = Device::Gpu(gpu);
    let g = &device;
    let mut n = conformance::matmul::check_matmul(g, 41).await.unwrap();
    n += conformance::qmatmul::check_qmatmul(g, 42).await.unwrap();
    n += conformance::attention::check_window_attention(g, 43).await.unwrap();
    n += conformance::attention::check_causal_attention(g, 44).await.unwrap();
    n += conformance::norm::check_layernorm(g, 45).await.unwrap();
    n += conformance::norm::check_rmsnorm(g, 46).await.unwrap();
    console_log!("workgroup kernels: {n} cases match the CPU twins");
}
