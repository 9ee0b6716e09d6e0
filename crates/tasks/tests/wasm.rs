//! The same task layer in the browser (wasm32, headless Chromium via `cargo test --target
//! wasm32-unknown-unknown`): tokenizer.json loads from bytes, prompt ids and every reference
//! parser case match, as natively.
#![cfg(target_arch = "wasm32")]

use serde_json::Value;
use visionllm_tasks::{apply, parse, post_process_generation, route, Florence2Tokenizer, ImageSize, Task, TaskCall};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn cases() -> Value {
    serde_json::from_str(include_str!("fixtures/parser_cases.json")).unwrap()
}

#[wasm_bindgen_test]
fn tokenizer_loads_and_encodes_like_python() {
    let tok = Florence2Tokenizer::from_bytes(include_bytes!("fixtures/tokenizer_tiny.json")).unwrap();
    for case in cases()["prompt_cases"].as_array().unwrap().iter().filter(|c| c.get("ids").is_some()) {
        let ids: Vec<u64> =
            tok.encode_task(case["text"].as_str().unwrap()).unwrap().into_iter().map(u64::from).collect();
        let expected: Vec<u64> = case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        assert_eq!(ids, expected);
        assert_eq!(tok.decode(&tok.encode_prompt("a<loc_3>").unwrap()).unwrap(), "<s>a<loc_3></s>");
    }
    let call = TaskCall::new(Task::OpenVocabularyDetection, Some(" a red car ".into()));
    let text = "<OPEN_VOCABULARY_DETECTION> a red car ";
    assert_eq!(tok.encoder_input_ids_for_call(&call, 2).unwrap(), tok.encoder_input_ids(text, 2).unwrap());
}

#[wasm_bindgen_test]
fn parsers_match_the_reference() {
    for case in cases()["parser_cases"].as_array().unwrap() {
        let size = ImageSize::new(
            case["image_size"][0].as_u64().unwrap() as u32,
            case["image_size"][1].as_u64().unwrap() as u32,
        );
        let got = post_process_generation(case["task"].as_str().unwrap(), case["text"].as_str().unwrap(), size);
        assert_eq!(got, case["expected"]);
    }
}

#[wasm_bindgen_test]
fn router_runs() {
    assert_eq!(route("find everything", None).unwrap().tasks[0].task, Task::ObjectDetection);
    // Non-ASCII text used to cut a character in two and abort the wasm instance.
    for text in ["café", "find 猫と犬", "日本", "segment the café"] {
        assert!(route(text, None).is_ok(), "{text}");
    }
}

#[wasm_bindgen_test]
fn apply_filters_what_was_not_asked_for() {
    let routed = route("find the dogs", None).unwrap();
    let call = &routed.tasks[0];
    let answer =
        parse(call.task, "dog<loc_1><loc_2><loc_3><loc_4>cat<loc_5><loc_6><loc_7><loc_8>", ImageSize::new(1000, 1000));
    let found = apply(&routed.options, call, &answer);
    assert_eq!(found.iter().map(|i| i.label.as_str()).collect::<Vec<_>>(), ["dog"]);
}
