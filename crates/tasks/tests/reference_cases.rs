//! The task layer against transformers' Florence2Processor, through the committed fixtures made
//! by tests/reference/tasks/make_parser_cases.py (CI never runs Python).
#![cfg(not(target_arch = "wasm32"))] // the browser runs tests/wasm.rs instead

use serde_json::Value;
use visionllm_tasks::parse::scan::DECIMAL_DIGIT_ZEROS;
use visionllm_tasks::parse::BANNED_GROUNDING_PHRASES;
use visionllm_tasks::{construct_prompt, post_process_generation, Florence2Tokenizer, ImageSize, Task, TaskCall};

fn cases() -> Value {
    serde_json::from_str(include_str!("fixtures/parser_cases.json")).expect("fixture parses")
}

fn tokenizer() -> Florence2Tokenizer {
    Florence2Tokenizer::from_bytes(include_bytes!("fixtures/tokenizer_tiny.json")).expect("tokenizer loads")
}

#[test]
fn every_parser_case_matches_the_reference() {
    let doc = cases();
    let parser_cases = doc["parser_cases"].as_array().unwrap();
    assert!(parser_cases.len() > 1000, "fixture too small");
    let mut failures = Vec::new();
    for case in parser_cases {
        let task = case["task"].as_str().unwrap();
        let text = case["text"].as_str().unwrap();
        let size = ImageSize::new(
            case["image_size"][0].as_u64().unwrap() as u32,
            case["image_size"][1].as_u64().unwrap() as u32,
        );
        let got = post_process_generation(task, text, size);
        if got != case["expected"] {
            failures.push(format!("{task} {size:?} {text:?}\n  expected {}\n  got      {got}", case["expected"]));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        parser_cases.len(),
        failures.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn every_task_is_covered_by_cases() {
    let doc = cases();
    for task in Task::ALL {
        let n = doc["parser_cases"].as_array().unwrap().iter().filter(|c| c["task"] == task.token()).count();
        assert!(n >= 50, "{} has only {n} cases", task.token());
    }
}

#[test]
fn prompts_and_prompt_ids_match_the_reference() {
    let doc = cases();
    let tok = tokenizer();
    for case in doc["prompt_cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        match construct_prompt(text) {
            Ok(prompt) => {
                assert_eq!(Some(prompt.as_str()), case["prompt"].as_str(), "prompt for {text:?}");
                let ids: Vec<u64> = tok.encode_task(text).unwrap().into_iter().map(u64::from).collect();
                let expected: Vec<u64> = case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
                assert_eq!(ids, expected, "ids for {text:?}");
            }
            Err(e) => assert_eq!(Some(e.to_string().as_str()), case["error"].as_str(), "error for {text:?}"),
        }
    }
}

/// A routed call builds its prompt from the task table, not from a task string: for every
/// reference case that is one task token and an input without another token, the call's prompt
/// and encoder ids are the reference's.
#[test]
fn call_prompts_and_ids_match_the_reference() {
    let doc = cases();
    let tok = tokenizer();
    let image = tok.image_token_id();
    let mut checked = 0;
    for case in doc["prompt_cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let Some(task) = Task::ALL.into_iter().find(|t| text.starts_with(t.token())) else { continue };
        let rest = &text[task.token().len()..];
        if Task::ALL.iter().any(|t| rest.contains(t.token())) || (!task.takes_input() && !rest.is_empty()) {
            continue; // the reference re-reads or refuses such text; a call never asks it to
        }
        let call = TaskCall::new(task, task.takes_input().then(|| rest.to_string()));
        assert_eq!(Some(call.prompt().as_str()), case["prompt"].as_str(), "prompt for {call:?}");
        let ids: Vec<u64> = tok.encoder_input_ids_for_call(&call, 2).unwrap().into_iter().map(u64::from).collect();
        let expected: Vec<u64> = [image, image]
            .into_iter()
            .map(u64::from)
            .chain(case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
            .collect();
        assert_eq!(ids, expected, "ids for {call:?}");
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} cases were calls");
}

#[test]
fn decoding_matches_python_and_round_trips() {
    let doc = cases();
    let tok = tokenizer();
    for case in doc["decode_cases"].as_array().unwrap() {
        let ids: Vec<u32> = case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        assert_eq!(tok.decode(&ids).unwrap(), case["text"].as_str().unwrap(), "decode {ids:?}");
    }
    // Encoding then decoding with special tokens kept gives the text back.
    for text in [
        "What is the region <loc_1><loc_20><loc_300><loc_999>?",
        "a cat<poly><loc_1><loc_2></poly><sep>",
        "café 🙂 <OD>",
    ] {
        let ids = tok.encode_prompt(text).unwrap();
        assert_eq!(tok.decode(&ids).unwrap(), format!("<s>{text}</s>"));
    }
}

#[test]
fn special_ids_come_from_the_tokenizer() {
    let tok = tokenizer();
    assert_eq!((tok.bos_id(), tok.pad_id(), tok.eos_id()), (0, 1, 2));
    assert_eq!(tok.loc_token_id(0), tok.token_to_id("<loc_0>"));
    assert_eq!(tok.loc_token_id(999).map(|id| id - tok.loc_token_id(0).unwrap()), Some(999));
    assert_eq!(tok.loc_token_id(1000), None);
    assert_eq!(Some(tok.image_token_id()), tok.token_to_id("<image>"));
    let ids = tok.encoder_input_ids("<OD>", 3).unwrap();
    assert_eq!(&ids[..4], &[tok.image_token_id(), tok.image_token_id(), tok.image_token_id(), tok.bos_id()]);
    assert_eq!(*ids.last().unwrap(), tok.eos_id());
    assert!(Florence2Tokenizer::from_bytes(b"{}").is_err());
}

#[test]
fn tables_copied_from_python_are_current() {
    let doc = cases();
    let banned: Vec<&str> =
        doc["banned_grounding_tokens"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(banned, BANNED_GROUNDING_PHRASES);
    let zeros: Vec<u32> =
        doc["unicode_decimal_digit_zeros"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
    assert_eq!(zeros, DECIMAL_DIGIT_ZEROS);
}
