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
    let started = std::time::Instant::now();
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
    // Each phase took some time, and together they fit inside the process's own run (a phase
    // counted twice, or a clock read in the wrong place, would not).
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let phases: Vec<f64> = ["load", "preprocess", "vision", "encoder", "decode"].iter().map(|p| json["timings_ms"][p].as_f64().unwrap_or_else(|| panic!("{p}: {json}"))).collect();
    assert!(phases.iter().all(|&ms| ms > 0.0), "{phases:?}");
    assert!(phases.iter().sum::<f64>() <= wall_ms, "phases {phases:?} sum past the run's {wall_ms:.0} ms");
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
    run_instruction_on(&format!("{root}/public/examples/scene-1000006020.png"), extra)
}

fn run_instruction_on(image: &str, extra: &[&str]) -> std::process::Output {
    let root = format!("{}/../..", env!("CARGO_MANIFEST_DIR"));
    Command::new(env!("CARGO_BIN_EXE_visionllm"))
        .args(["run", "--model", &format!("{root}/public/models/demo"), "--image", image, "--json"])
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

/// The same instances on both backends: the demo model on generated scenes, greedy and 3 beams,
/// each box within a pixel; the JSON says which backend ran and why (`auto` on lavapipe, a
/// software adapter, takes the CPU).
#[test]
fn the_cpu_backend_draws_what_the_gpu_backend_draws() {
    let dir = std::env::temp_dir().join(format!("visionllm-backends-{}", std::process::id()));
    let mut compared = 0;
    for seed in 1_000_000_200u64..1_000_000_204 {
        let made = Command::new(env!("CARGO_BIN_EXE_visionllm")).args(["scene", "--seed", &seed.to_string(), "--out", dir.to_str().unwrap()]).output().unwrap();
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        let image = dir.join(format!("scene-{seed}.png"));
        for (instruction, decoding) in [("find the red circles", Some("--greedy")), ("find every shape", None), ("segment the biggest square", Some("--greedy"))] {
            let answer = |backend: &str| {
                let mut args = vec!["--instruction", instruction, "--backend", backend];
                args.extend(decoding);
                let out = run_instruction_on(image.to_str().unwrap(), &args);
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!(json["backend"], backend, "{json}");
                json
            };
            let (cpu, gpu) = (answer("cpu"), answer("gpu"));
            let (ci, gi) = (cpu["instances"].as_array().unwrap(), gpu["instances"].as_array().unwrap());
            assert_eq!(ci.len(), gi.len(), "seed {seed}, {instruction:?}: cpu {cpu} vs gpu {gpu}");
            for (c, g) in ci.iter().zip(gi) {
                assert_eq!(c["label"], g["label"], "seed {seed}, {instruction:?}");
                let (cb, gb): (Vec<f64>, Vec<f64>) = (serde_json::from_value(c["box"].clone()).unwrap(), serde_json::from_value(g["box"].clone()).unwrap());
                assert!(cb.iter().zip(&gb).all(|(a, b)| (a - b).abs() <= 1.0), "seed {seed}, {instruction:?}: box {cb:?} on the CPU, {gb:?} on the GPU");
                compared += 1;
            }
        }
    }
    assert!(compared >= 4, "only {compared} instances compared");
    let auto = run_instruction(&["--instruction", "find the red circles", "--greedy"]);
    let auto: serde_json::Value = serde_json::from_slice(&auto.stdout).unwrap();
    assert_eq!(auto["backend"], "cpu", "lavapipe is a software adapter: {auto}");
    assert!(auto["backend_reason"].as_str().unwrap().contains("software"), "{auto}");
    let bad = run_instruction(&["--instruction", "find the red circles", "--backend", "tpu"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected cpu, gpu or auto"));
    let _ = std::fs::remove_dir_all(dir);
}
