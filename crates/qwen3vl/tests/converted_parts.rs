//! The converted format for Qwen3-VL, with the embedding stored in row parts (as the 2B model's
//! 175 MB Q4 table must be, for WebGPU's 128 MiB bindings). Parts are forced here with a tiny
//! part limit so the fixture's 462-token table becomes many parts and every prompt gathers from
//! several of them: converted to f32 (exact), the model still gives the reference's greedy ids
//! and last logits; converted to Q4, the split model's logits equal the whole-table model's.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::path::Path;

use common::{Case, CASES};
use visionllm_gpu::{conformance, DType, Device, Recorder};
use visionllm_qwen3vl::positions::Grid;
use visionllm_qwen3vl::Qwen3Vl;
use visionllm_weights::conversion_plan::part_name;
use visionllm_weights::convert::{convert_dir, Options};
use visionllm_weights::{Checkpoint, Stored};

const EMBED: &str = "model.language_model.embed_tokens.weight";

fn convert(case: &Case, quant: Stored, max_part_bytes: u64) -> std::path::PathBuf {
    let to = std::env::temp_dir().join(format!("visionllm-qwen-parts-{}-{}-{quant:?}-{max_part_bytes}", std::process::id(), case.name));
    let _ = std::fs::remove_dir_all(&to);
    let opts = Options { max_part_bytes, ..Options::quant(quant) };
    let report = convert_dir(&case.dir, &to, &opts).unwrap();
    eprintln!("{}", report.table());
    to
}

fn grid(case: &Case) -> Grid {
    let thw = case.ids("image_grid_thw");
    Grid { h: thw[1] as usize, w: thw[2] as usize }
}

/// Greedy ids and the prefill's last logits of the model in `dir` on the case's image.
fn run(device: &Device, dir: &Path, case: &Case, max_new: usize) -> (Vec<u32>, Vec<f32>) {
    let model = Qwen3Vl::load_dir(device.clone(), dir, DType::F32).unwrap();
    let patches = case.f32("pixel_values");
    let prompt = model.prompt(case.system().as_deref(), &case.prompt_text(), grid(case)).unwrap();
    let mut rec = Recorder::new(device);
    let image = model.image_features(&mut rec, &patches, prompt.grid, &mut |_, _| {}).unwrap();
    let mut state = model.start(&mut rec, &prompt, 1);
    let logits = model.prefill(&mut rec, &mut state, &prompt, &image, &mut |_, _| {}).unwrap();
    let staged = rec.stage_read(&logits).unwrap();
    rec.submit();
    let logits = pollster::block_on(staged.read_f32(device)).unwrap();
    let mut streamed = Vec::new();
    let generated = pollster::block_on(model.generate_from_prompt(&patches, &prompt, max_new, &mut |step| {
        streamed.push(*step.ids.last().expect("a step has made an id"));
        std::ops::ControlFlow::Continue(())
    }))
    .unwrap();
    assert_eq!(streamed, generated.ids, "the callback saw every id, in order");
    (generated.ids, logits)
}

#[test]
fn an_embedding_in_row_parts_gives_the_reference_answer() {
    for name in CASES {
        let case = Case::open(name);
        let greedy = case.ids("greedy_ids");
        let dir = convert(&case, Stored::F32, 4 << 10);
        let ckpt = Checkpoint::open_dir(&dir).unwrap();
        assert!(!ckpt.contains(EMBED), "{name}: the table should be stored in parts");
        let parts = (0..).take_while(|&i| ckpt.contains(&part_name(EMBED, i))).count();
        assert!(parts >= 5, "{name}: {parts} parts");
        let (ids, logits) = run(&common::gpu(), &dir, &case, greedy.len());
        assert_eq!(ids, greedy, "{name}: greedy ids");
        conformance::compare(&logits, &case.f32("prefill.last_logits"), 1e-4, name).unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn q4_in_parts_equals_q4_whole_on_both_backends() {
    let case = Case::open("tiny");
    let whole = convert(&case, Stored::Q4, u64::MAX);
    let split = convert(&case, Stored::Q4, 2 << 10);
    assert!(Checkpoint::open_dir(&whole).unwrap().contains(EMBED));
    assert!(Checkpoint::open_dir(&split).unwrap().contains(&part_name(EMBED, 3)));
    let gpu = common::gpu();
    let (ids_whole, logits_whole) = run(&gpu, &whole, &case, 8);
    let (ids_split, logits_split) = run(&gpu, &split, &case, 8);
    // Quantization is per row, so the parts hold the very same values; each logit is the same
    // dot product.
    assert_eq!(ids_split, ids_whole);
    conformance::compare(&logits_split, &logits_whole, 1e-6, "q4 split vs whole").unwrap();
    // The CPU backend's quantized kernels (blocks dequantized as they are read) compute the same
    // dot products as the GPU's: same ids, logits within f32 summation-order noise.
    let (ids_cpu, logits_cpu) = run(&Device::cpu(), &split, &case, 8);
    assert_eq!(ids_cpu, ids_whole, "Q4 on the CPU backend");
    conformance::compare(&logits_cpu, &logits_whole, 1e-4, "q4 cpu vs gpu").unwrap();
    let _ = std::fs::remove_dir_all(whole);
    let _ = std::fs::remove_dir_all(split);
}
