//! Whatever arrives from outside (config.json, preprocessor_config.json, image sizes, typed
//! instructions in any Unicode) gives a value or a clear error, never a panic.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use visionllm_qwen3vl::chat::ChatPrompt;
use visionllm_qwen3vl::preprocess::{smart_resize, ImageProcessor};
use visionllm_qwen3vl::Qwen3VlConfig;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../../tests/fixtures/qwen3vl/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A real config with one number somewhere replaced by an arbitrary one.
fn mutate(doc: &mut serde_json::Value, path_choice: usize, value: i64) {
    let mut numbers = Vec::new();
    fn collect(v: &serde_json::Value, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            serde_json::Value::Object(m) => m.iter().for_each(|(k, v)| collect(v, [path.clone(), vec![k.clone()]].concat(), out)),
            serde_json::Value::Number(_) => out.push(path),
            _ => {}
        }
    }
    collect(doc, Vec::new(), &mut numbers);
    let path = &numbers[path_choice % numbers.len()];
    let mut at = doc;
    for k in path {
        at = &mut at[k.as_str()];
    }
    *at = serde_json::json!(value);
}

proptest! {
    #[test]
    fn config_never_panics(text in "\\PC{0,300}") {
        let _ = Qwen3VlConfig::from_json(&text);
        let _ = ImageProcessor::from_json(&text);
    }

    #[test]
    fn a_mutated_config_is_accepted_only_when_consistent(choice in 0usize..200, value in prop_oneof![-5i64..5, 0i64..100_000, Just(i64::MAX), Just(1 << 40)]) {
        for case in ["tiny", "odd", "photo"] {
            let mut doc: serde_json::Value = serde_json::from_str(&fixture(&format!("{case}/config.json"))).unwrap();
            mutate(&mut doc, choice, value);
            if let Ok(cfg) = Qwen3VlConfig::from_json(&doc.to_string()) {
                let t = &cfg.text_config;
                prop_assert_eq!(t.num_attention_heads % t.num_key_value_heads, 0);
                prop_assert_eq!(t.rope_parameters.mrope_section.iter().sum::<usize>(), t.head_dim / 2);
                prop_assert!(cfg.vision_config.deepstack_visual_indexes.iter().all(|&i| i < cfg.vision_config.depth));
            }
            let mut pre: serde_json::Value = serde_json::from_str(&fixture(&format!("{case}/preprocessor_config.json"))).unwrap();
            mutate(&mut pre, choice, value);
            if let Ok(p) = ImageProcessor::from_json(&pre.to_string()) {
                prop_assert!(p.min_pixels <= p.max_pixels);
            }
        }
    }

    #[test]
    fn smart_resize_never_panics_and_keeps_its_promises(h in 0usize..100_000, w in 0usize..100_000, min in 0usize..100_000, max in 0usize..50_000_000) {
        if let Ok((rh, rw)) = smart_resize(h, w, 32, min, max) {
            prop_assert!(rh % 32 == 0 && rw % 32 == 0 && rh >= 32 && rw >= 32);
        }
    }

    #[test]
    fn any_instruction_gives_ids_or_an_error(text in "\\PC{0,200}", system in proptest::option::of("\\PC{0,40}")) {
        let chat = ChatPrompt::new(fixture("tiny/chat_template.jinja"), fixture("tiny/tokenizer.json").as_bytes(), 460).unwrap();
        if let Ok(ids) = chat.input_ids(system.as_deref(), &text, 6) {
            prop_assert_eq!(ids.iter().filter(|&&t| t == 460).count(), 6);
        }
    }
}
