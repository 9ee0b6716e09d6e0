//! `visionllm convert` end to end: convert a fixture to Q8, print the per-class table, and `run`
//! the converted directory (greedy ids equal the reference's); bad options are clear errors.

use std::process::Command;

fn fixture(case: &str) -> String {
    format!("{}/../../tests/fixtures/florence2/{case}", env!("CARGO_MANIFEST_DIR"))
}

fn visionllm(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_visionllm"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()))
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn convert_q8_then_run_the_converted_directory() {
    let src = fixture("tiny224");
    let out = std::env::temp_dir().join(format!("visionllm-convert-cli-{}", std::process::id()));
    let out_s = out.to_str().unwrap();
    let (ok, stdout, stderr) = visionllm(&["convert", "--from", &src, "--to", out_s, "--quant", "q8"]);
    assert!(ok, "{stderr}");
    for word in ["matmul", "embedding", "norm", "q8", "f16", "total: 241 tensors", "manifest.json"] {
        assert!(stdout.contains(word), "{word} not in:\n{stdout}");
    }
    let (ok, stdout, stderr) = visionllm(&["run", "--model", out_s, "--image", &format!("{src}/image.png"), "--task", "<OD>", "--greedy", "--max-new-tokens", "20", "--json"]);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let case: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!("{src}/case.json")).unwrap()).unwrap();
    assert_eq!(json["token_ids"], case["greedy_ids"]);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn convert_rejects_unknown_quantization() {
    let (ok, _, stderr) = visionllm(&["convert", "--from", &fixture("tiny224"), "--to", "/tmp/never-written", "--quant", "q3"]);
    assert!(!ok);
    assert!(stderr.contains("--quant \"q3\": expected q4, q8, f16 or f32"), "{stderr}");
    assert!(!std::path::Path::new("/tmp/never-written").exists());
}
