//! The benchmarks' smoke test, run by CI with the other native tests (issue #14: "CI runs
//! `kernels --quick`"): the built `visionllm-bench kernels --quick --json`, one small shape per
//! kernel family, ours and burn-wgpu's on the same adapter (lavapipe here). Times are never judged
//! (a timed test is not a test); what is checked is the JSON contract other tools read (README.md
//! beside this crate) and that burn ran every case and agreed with us on the same operands: the
//! bench reports `burn_ms` null when burn cannot run a case or its result differs from ours beyond
//! the dtype's tolerance, so a non-null `burn_ms` is an independent engine's confirmation.

use std::process::Command;

use serde_json::Value;

const FAMILIES: [&str; 8] =
    ["matmul", "gemv_q8", "gemv_q4", "window_attention", "channel_attention", "decoder_attention", "dwconv3x3", "layernorm"];

fn positive_ms(row: &Value, field: &str) {
    let v = row[field].as_f64().unwrap_or_else(|| panic!("{}: {field} is {}", row["name"], row[field]));
    assert!(v.is_finite() && v > 0.0, "{}: {field} = {v}", row["name"]);
}

#[test]
fn kernels_quick_prints_the_contract_and_burn_agrees() {
    let out = Command::new(env!("CARGO_BIN_EXE_visionllm-bench"))
        .args(["kernels", "--quick", "--json"])
        .env("XDG_RUNTIME_DIR", std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()))
        .output()
        .expect("run visionllm-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "kernels --quick failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one JSON object on one line: {stdout}");
    let doc: Value = serde_json::from_str(lines[0]).expect("valid JSON");
    assert!(doc["adapter"].as_str().is_some_and(|a| !a.is_empty()), "adapter named: {doc}");
    let rows = doc["kernels"].as_array().expect("kernels array");
    for family in FAMILIES {
        assert!(rows.iter().any(|r| r["name"].as_str().is_some_and(|n| n.starts_with(family))), "{family} benchmarked");
    }
    for row in rows {
        for field in ["name", "shape", "dtype", "ours_ms", "burn_ms", "gflops", "max_rel_diff"] {
            assert!(row.get(field).is_some(), "{}: field {field} present", row["name"]);
        }
        positive_ms(row, "ours_ms");
        positive_ms(row, "burn_ms");
        positive_ms(row, "gflops");
        let diff = row["max_rel_diff"].as_f64().expect("max_rel_diff where both ran");
        assert!((0.0..0.1).contains(&diff), "{}: burn's result within the tolerance of ours ({diff})", row["name"]);
    }
    eprintln!("{stdout}");
}
