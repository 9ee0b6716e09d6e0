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

fn iou(a: &[f64], b: &[f64]) -> f64 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h)
}

fn run_instruction(extra: &[&str]) -> std::process::Output {
    let root = format!("{}/../..", env!("CARGO_MANIFEST_DIR"));
    Command::new(env!("CARGO_BIN_EXE_visionllm"))
        .args(["run", "--model", &format!("{root}/public/models/demo"), "--image", &format!("{root}/public/examples/scene-1000006020.png"), "--json"])
        .args(extra)
        .env("XDG_RUNTIME_DIR", std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()))
        .output()
        .unwrap()
}

/// The app's path without a browser: the demo model's "fast" answer to "find the red circles"
/// boxes every red circle of the scene's ground truth (written by `visionllm scene`) and nothing
/// else; the instances are in image pixels and labelled; the default (3 beams) runs too.
#[test]
fn run_instruction_prints_the_instances_the_app_draws() {
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{}/../../public/examples/scene-1000006020.json", env!("CARGO_MANIFEST_DIR"))).unwrap()).unwrap();
    let out = run_instruction(&["--instruction", "find the red circles", "--greedy"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["calls"][0]["task"], "<OPEN_VOCABULARY_DETECTION>", "{json}");
    assert!(json["explanation"].as_str().unwrap().contains("red circles"), "{json}");
    let boxes: Vec<Vec<f64>> = json["instances"].as_array().unwrap().iter().map(|i| serde_json::from_value(i["box"].clone()).unwrap()).collect();
    assert!(json["instances"].as_array().unwrap().iter().all(|i| i["label"] == "red circle"), "{json}");
    let shapes = truth["shapes"].as_array().unwrap();
    for shape in shapes {
        let bbox: Vec<f64> = serde_json::from_value(shape["bbox"].clone()).unwrap();
        let best = boxes.iter().map(|b| iou(b, &bbox)).fold(0.0, f64::max);
        if shape["class"] == "red circle" {
            assert!(best >= 0.5, "a red circle at {bbox:?} has no box (best IoU {best:.2}): {json}");
        } else {
            assert!(best < 0.5, "a box lands on the {} at {bbox:?}: {json}", shape["class"]);
        }
    }

    let beams = run_instruction(&["--instruction", "find the red circles"]);
    assert!(beams.status.success(), "{}", String::from_utf8_lossy(&beams.stderr));
    let beams: serde_json::Value = serde_json::from_slice(&beams.stdout).unwrap();
    assert!(beams["calls"][0]["score"].as_f64().is_some(), "beam search gives a sequence score: {beams}");
}

#[test]
fn run_instruction_refuses_mixed_or_bad_input_clearly() {
    let out = run_instruction(&["--instruction", "caption", "--task", "<OD>"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--task cannot be combined with --instruction"));
    let long = "find ".repeat(500);
    let out = run_instruction(&["--instruction", &long, "--greedy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shorten it"), "{}", String::from_utf8_lossy(&out.stderr));
}
