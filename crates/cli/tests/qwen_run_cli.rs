//! `visionllm run` on a Qwen3-VL checkpoint (the tiny random fixture from
//! tests/reference/qwen3vl): the model type comes from config.json, the generated ids equal the
//! reference's greedy ids, and `--dump` writes the three tensors the issue names, each within
//! 1e-4 of the reference's activations.

use std::process::Command;

use visionllm_gpu::conformance::compare;

fn fixture(case: &str) -> String {
    format!("{}/../../tests/fixtures/qwen3vl/{case}", env!("CARGO_MANIFEST_DIR"))
}

fn f32s(st: &safetensors::SafeTensors, name: &str) -> (Vec<usize>, Vec<f32>) {
    let t = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let values = t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    (t.shape().to_vec(), values)
}

#[test]
fn qwen_run_greedy_json_and_dump_match_the_reference() {
    let dir = fixture("tiny");
    let case: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!("{dir}/case.json")).unwrap()).unwrap();
    let greedy = case["greedy_ids"].as_array().unwrap();
    let dump = std::env::temp_dir().join(format!("visionllm-qwen-dump-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_visionllm"))
        .args(["run", "--model", &dir, "--image", &format!("{dir}/image.png"), "--prompt", case["prompt_text"].as_str().unwrap(), "--greedy", "--json"])
        .args(["--max-new-tokens", &greedy.len().to_string(), "--dump"])
        .arg(&dump)
        .env("XDG_RUNTIME_DIR", std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["model_type"], "qwen3_vl");
    assert_eq!(&json["token_ids"], &case["greedy_ids"], "generated ids (prompt excluded)");
    assert_eq!(json["prompt_len"], case["input_len"]);
    assert!(json["text"].is_string() && json["result"].is_array(), "{json}");

    let bytes = std::fs::read(dump.join("activations.safetensors")).unwrap();
    let ours = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let expected_bytes = std::fs::read(format!("{dir}/expected.safetensors")).unwrap();
    let expected = safetensors::SafeTensors::deserialize(&expected_bytes).unwrap();
    for name in ["vision.image_embeds", "prefill.last_hidden_state", "prefill.last_logits"] {
        let (shape, got) = f32s(&ours, name);
        let (want_shape, want) = f32s(&expected, name);
        assert_eq!(shape, want_shape, "{name}: shape");
        compare(&got, &want, 1e-4, name).unwrap();
    }
    let _ = std::fs::remove_dir_all(dump);
}

#[test]
fn qwen_run_refuses_bad_arguments_before_loading() {
    let dir = fixture("tiny");
    for (extra, says) in [
        (vec!["--prompt", "hi", "--max-new-tokens", "0"], "--max-new-tokens 0"),
        (vec!["--prompt", "hi", "--beams", "3"], "unexpected arguments"),
        (vec![], "missing --prompt"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_visionllm"))
            .args(["run", "--model", &dir, "--image", &format!("{dir}/image.png")])
            .args(&extra)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{extra:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{extra:?}: {err}");
    }
}

/// `--instruction` asks what the app asks: the same ids as `--prompt` with the instruction and
/// `--system` the grounding system message written out; the output has the app's fields.
#[test]
fn qwen_instruction_is_the_prompt_with_the_grounding_system_message() {
    let dir = fixture("tiny");
    let run = |extra: &[&str]| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_visionllm"))
            .args(["run", "--model", &dir, "--image", &format!("{dir}/image.png"), "--max-new-tokens", "6", "--json"])
            .args(extra)
            .env("XDG_RUNTIME_DIR", std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{extra:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let asked = run(&["--instruction", "  find the red circle "]);
    assert_eq!(asked["instruction"], "find the red circle");
    assert!(asked["explanation"].as_str().unwrap().contains("JSON boxes"), "{asked}");
    assert!(asked["instances"].is_array() && asked["text"].is_null(), "{asked}");
    let system = visionllm_tasks::chat_request::BOXES_SYSTEM;
    let spelled = run(&["--prompt", "find the red circle", "--system", system]);
    assert_eq!(asked["token_ids"], spelled["token_ids"]);
    let plain = run(&["--prompt", "find the red circle"]);
    assert_ne!(plain["prompt_len"], spelled["prompt_len"], "the system message is in the prompt");

    let text = run(&["--instruction", "what does the sign say?"]);
    assert!(text["text"].is_string(), "{text}");
}
