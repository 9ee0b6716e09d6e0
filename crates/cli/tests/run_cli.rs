//! `visionllm run` end to end on the photo fixture: the ids equal the reference's greedy ids,
//! the JSON has the promised fields, and `--dump` writes the three tensors.

use std::process::Command;

fn fixture(case: &str) -> String {
    format!("{}/../../tests/fixtures/florence2/{case}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn run_greedy_json_and_dump() {
    let dir = fixture("tiny224");
    let dump = std::env::temp_dir().join(format!("visionllm-dump-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_visionllm"))
        .args(["run", "--model", &dir, "--image", &format!("{dir}/image.png"), "--task", "<OD>", "--greedy", "--max-new-tokens", "20", "--json", "--dump"])
        .arg(&dump)
        .env("XDG_RUNTIME_DIR", std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let case: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!("{dir}/case.json")).unwrap()).unwrap();
    assert_eq!(json["token_ids"], case["greedy_ids"]);
    assert!(json["text"].as_str().unwrap().starts_with("</s>"));
    assert!(json["result"]["<OD>"]["bboxes"].is_array());
    for phase in ["load", "preprocess", "vision", "encoder", "decode"] {
        assert!(json["timings_ms"][phase].as_f64().unwrap() >= 0.0, "{phase}");
    }
    let bytes = std::fs::read(dump.join("activations.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("projector.image_features").unwrap().shape(), &[1, 50, 32]);
    assert_eq!(st.tensor("encoder.last_hidden_state").unwrap().shape(), &[1, 62, 32]);
    assert_eq!(st.tensor("decoder.step0.logits").unwrap().shape(), &[1, 1, 1481]);
    let _ = std::fs::remove_dir_all(dump);
}

#[test]
fn run_reports_a_missing_model_clearly() {
    let out = Command::new(env!("CARGO_BIN_EXE_visionllm"))
        .args(["run", "--model", "/nonexistent", "--image", "x.png", "--task", "<OD>"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent"), "{err}");
}
