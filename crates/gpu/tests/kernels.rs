//! Every kernel against its twin on every backend (candle's `test_device!` idea): the CPU backend,
//! and the native adapter (lavapipe in CI) once per capability variant: both tilings (registers is
//! lavapipe's own; workgroup is a real GPU's), each with f16 and with f16 forced off, and the
//! workgroup kernels also with subgroups forced off.
#![cfg(not(target_arch = "wasm32"))]

use visionllm_gpu::{conformance, Device, Gpu, Overrides, Tiling};

fn variants() -> Vec<(&'static str, Device)> {
    let mut out = vec![("cpu", Device::cpu())];
    let registers = Some(Tiling::Registers);
    let workgroup = Some(Tiling::Workgroup);
    for (name, o) in [
        ("registers", Overrides { tiling: registers, ..Overrides::NONE }),
        ("registers, no-f16", Overrides { no_f16: true, tiling: registers, ..Overrides::NONE }),
        ("workgroup", Overrides { tiling: workgroup, ..Overrides::NONE }),
        ("workgroup, no-subgroups, no-f16", Overrides { no_f16: true, no_subgroups: true, tiling: workgroup }),
    ] {
        let gpu = Gpu::new_blocking(o).expect("a GPU adapter (install mesa-vulkan-drivers for lavapipe)");
        eprintln!("[{name}] {}", gpu.caps.describe());
        out.push((name, Device::Gpu(gpu)));
    }
    out
}

macro_rules! conformance_test {
    ($name:ident, $check:path) => {
        #[test]
        fn $name() {
            for (variant, device) in variants() {
                let cases = pollster::block_on($check(&device, 7)).unwrap_or_else(|e| panic!("[{variant}] {e}"));
                assert!(cases > 0);
                eprintln!("[{variant}] {} cases passed", cases);
            }
        }
    };
}

conformance_test!(matmul, conformance::matmul::check_matmul);
conformance_test!(qmatmul, conformance::qmatmul::check_qmatmul);
conformance_test!(linear, conformance::linear::check_linear);
conformance_test!(window_attention, conformance::attention::check_window_attention);
conformance_test!(attention, conformance::attention::check_attention);
conformance_test!(causal_attention, conformance::attention::check_causal_attention);
conformance_test!(conv, conformance::conv::check_conv);
conformance_test!(layernorm, conformance::norm::check_layernorm);
conformance_test!(rmsnorm, conformance::norm::check_rmsnorm);
conformance_test!(rope, conformance::rope::check_rope);
conformance_test!(elementwise, conformance::elementwise::check_elementwise);
conformance_test!(softmax, conformance::softmax::check_softmax);
conformance_test!(mean_pool, conformance::pool::check_mean_pool);
conformance_test!(embedding, conformance::embedding::check_embedding);
conformance_test!(copy, conformance::copy::check_copy);
conformance_test!(topk, conformance::topk::check_topk);
conformance_test!(channel_attention, conformance::attention::check_channel_attention);
conformance_test!(logprobs, conformance::logprobs::check_logprobs);
