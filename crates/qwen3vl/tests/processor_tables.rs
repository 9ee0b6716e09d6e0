//! The processor's pure parts against tables the reference produced
//! (`tests/reference/qwen3vl/make_fixtures.py`): `smart_resize` on 72 sizes covering each branch
//! and the round-half-to-even ties, and the chat template rendered by our Jinja engine for five
//! message lists exactly as transformers renders them.

use visionllm_qwen3vl::chat::ChatPrompt;
use visionllm_qwen3vl::preprocess::smart_resize;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../../tests/fixtures/qwen3vl/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn smart_resize_matches_the_reference_table() {
    let table: serde_json::Value = serde_json::from_str(&fixture("smart_resize.json")).unwrap();
    let factor = table["factor"].as_u64().unwrap() as usize;
    let rows = table["cases"].as_array().unwrap();
    assert!(rows.len() >= 50);
    let mut ties = 0;
    for row in rows {
        let n = |k: &str| row[k].as_u64().unwrap() as usize;
        let got = smart_resize(n("height"), n("width"), factor, n("min_pixels"), n("max_pixels")).unwrap();
        assert_eq!(got, (n("resized_height"), n("resized_width")), "{row}");
        ties += row["half_tie"].as_bool().unwrap() as usize;
    }
    assert!(ties > 0, "the table exercises round-half-to-even");
}

#[test]
fn chat_template_renders_as_transformers_does() {
    let cases: serde_json::Value = serde_json::from_str(&fixture("chat_template_cases.json")).unwrap();
    let template = fixture("tiny/chat_template.jinja");
    let tokenizer = fixture("tiny/tokenizer.json");
    let chat = ChatPrompt::new(template, tokenizer.as_bytes(), 460).unwrap();
    for case in cases["cases"].as_array().unwrap() {
        // The case's whole context (messages, add_generation_prompt, add_vision_id when set).
        let mut ctx = case.clone();
        ctx.as_object_mut().unwrap().remove("rendered");
        let got = chat.render_with(minijinja::Value::from_serialize(&ctx)).unwrap();
        assert_eq!(got, case["rendered"].as_str().unwrap(), "{}", case["messages"]);
    }
}

#[test]
fn an_instruction_holding_the_image_placeholder_is_refused() {
    let chat = ChatPrompt::new(fixture("tiny/chat_template.jinja"), fixture("tiny/tokenizer.json").as_bytes(), 460).unwrap();
    let err = chat.input_ids(None, "look <|image_pad|> here", 6).unwrap_err();
    assert!(err.contains("2 image placeholders"), "{err}");
    let ids = chat.input_ids(None, "find the red circle", 6).unwrap();
    assert_eq!(ids.iter().filter(|&&t| t == 460).count(), 6);
}
