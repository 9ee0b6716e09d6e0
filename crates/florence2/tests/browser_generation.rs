//! Generation in the browser (headless Chromium's WebGPU, SwiftShader here) through the path the
//! app's worker takes: the PNG decoded, `Florence2::pixel_values`, the prompt from the tokenizer,
//! `image_features`, then `generate_with`, greedy and 3 beams; the ids must equal the reference's,
//! on both backends: the browser's WebGPU and the CPU backend compiled to wasm.
//! Run with `cargo test --target wasm32-unknown-unknown --test browser_generation`.
#![cfg(target_arch = "wasm32")]

use std::ops::ControlFlow;

use visionllm_florence2::{preprocess, Decoding, Florence2, Florence2Config};
use visionllm_gpu::{DType, Device, Gpu, Overrides, Recorder};
use visionllm_tasks::Florence2Tokenizer;
use visionllm_weights::Checkpoint;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

macro_rules! fixture {
    ($file:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/florence2/tiny224/", $file))
    };
}

/// An i64 tensor of the reference's expected.safetensors, as ids.
fn reference_ids(name: &str) -> Vec<u32> {
    let st = safetensors::SafeTensors::deserialize(fixture!("expected.safetensors")).unwrap();
    st.tensor(name).unwrap().data().chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap()) as u32).collect()
}

#[wasm_bindgen_test]
async fn greedy_and_beam_ids_equal_the_reference_in_the_browser() {
    let gpu = Gpu::new(Overrides::NONE).await.expect("navigator.gpu adapter (start Chromium with --enable-unsafe-webgpu)");
    console_log!("adapter: {}", gpu.caps.describe());
    generate_on(Device::Gpu(gpu)).await;
}

#[wasm_bindgen_test]
async fn greedy_and_beam_ids_equal_the_reference_on_the_cpu_backend_in_wasm() {
    generate_on(Device::cpu()).await;
}

async fn generate_on(device: Device) {
    let cfg = Florence2Config::from_json(std::str::from_utf8(fixture!("config.json")).unwrap()).unwrap();
    let input_size = preprocess::input_size(std::str::from_utf8(fixture!("preprocessor_config.json")).unwrap()).unwrap();
    let ckpt = Checkpoint::from_bytes(vec![("model.safetensors".into(), fixture!("model.safetensors").to_vec())]).unwrap();
    let model = Florence2::load(device.clone(), cfg, input_size, &ckpt, DType::F32).unwrap();
    let tokenizer = Florence2Tokenizer::from_bytes(fixture!("tokenizer.json")).unwrap();

    let img = image::load_from_memory(fixture!("image.png")).unwrap().to_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let pixels = model.pixel_values(img.as_raw(), w, h).unwrap();
    let mut rec = Recorder::new(&device);
    let features = model.image_features(&mut rec, &pixels, &mut |_, _| {}).unwrap();
    rec.submit();
    let ids = tokenizer.encoder_input_ids("<OD>", features.dims2().0).unwrap();
    assert_eq!(ids, reference_ids("input_ids"), "prompt ids");

    let want = reference_ids("greedy_ids");
    let mut steps = 0;
    let greedy = model
        .generate_with(&ids, &features, &Decoding::Greedy, want.len() - 1, &mut |_| {
            steps += 1;
            ControlFlow::Continue(())
        })
        .await
        .unwrap();
    assert_eq!(greedy.ids, want, "greedy ids");
    assert_eq!(steps, want.len() - 1);

    let want = reference_ids("beam3_ids");
    let beams = model.generate_with(&ids, &features, &Decoding::florence_beams(3), 20, &mut |_| ControlFlow::Continue(())).await.unwrap();
    assert_eq!(beams.ids, want, "3-beam ids");
    console_log!("{device:?}: greedy {} and 3-beam {} tokens equal the reference", greedy.new_tokens(), beams.new_tokens());
}
