//! Every kernel against its CPU twin on the native adapter (lavapipe in CI), once per capability
//! variant: everything on, subgroups forced off, f16 forced off.

use std::sync::Arc;

use visionllm_gpu::{conformance, Gpu, Overrides};

fn variants() -> Vec<(&'static str, Arc<Gpu>)> {
    let mut out = Vec::new();
    for (name, o) in [
        ("default", Overrides::NONE),
        ("no-subgroups", Overrides { no_f16: false, no_subgroups: true }),
        ("no-f16", Overrides { no_f16: true, no_subgroups: false }),
    ] {
        let gpu = Gpu::new_blocking(o).expect("a GPU adapter (install mesa-vulkan-drivers for lavapipe)");
        eprintln!("[{name}] {}", gpu.caps.describe());
        out.push((name, gpu));
    }
    out
}

macro_rules! conformance_test {
    ($name:ident, $check:path) => {
        #[test]
        fn $name() {
            for (variant, gpu) in variants() {
                let cases = pollster::block_on($check(&gpu, 7)).unwrap_or_else(|e| panic!("[{variant}] {e}"));
                assert!(cases > 0);
                eprintln!("[{variant}] {} cases passed", cases);
            }
        }
    };
}

conformance_test!(matmul, conformance::matmul::check_matmul);
