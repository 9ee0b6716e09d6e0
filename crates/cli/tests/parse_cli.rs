//! Runs the `visionllm` binary.

use std::process::Command;

fn visionllm(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_visionllm"))
        .args(args)
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn parse_prints_transformers_json() {
    let text =
        "</s><s>car<loc_54><loc_375><loc_906><loc_707>door<loc_710><loc_276><loc_908><loc_537></s>";
    let (code, stdout, stderr) = visionllm(&[
        "parse",
        "--task",
        "<OD>",
        "--image-size",
        "640x480",
        "--text",
        text,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        r#"{"<OD>":{"bboxes":[[34,180,580,339],[454,132,581,258]],"labels":["car","door"]}}"#
    );
    let (code, json_out, _) = visionllm(&[
        "parse",
        "--json",
        "--task=<OD>",
        "--image-size=640x480",
        &format!("--text={text}"),
    ]);
    assert_eq!((code, json_out), (0, stdout));
}

#[test]
fn parse_polygons_and_coco() {
    let text = "<poly><loc_0><loc_0><loc_500><loc_0><loc_500><loc_500></poly>";
    let (code, stdout, _) = visionllm(&[
        "parse",
        "--task",
        "<REFERRING_EXPRESSION_SEGMENTATION>",
        "--image-size",
        "1000x1000",
        "--text",
        text,
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout.trim(),
        r#"{"<REFERRING_EXPRESSION_SEGMENTATION>":{"labels":[""],"polygons":[[[0,0,500,0,500,500]]]}}"#
    );
    let (code, stdout, _) = visionllm(&[
        "parse",
        "--coco",
        "--task",
        "<REFERRING_EXPRESSION_SEGMENTATION>",
        "--image-size",
        "1000x1000",
        "--text",
        text,
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v[0]["bbox"], serde_json::json!([0.0, 0.0, 500.0, 500.0]));
}

#[test]
fn bad_arguments_fail_with_usage() {
    let (code, _, stderr) = visionllm(&[
        "parse",
        "--task",
        "<OD>",
        "--image-size",
        "640by480",
        "--text",
        "x",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("not WxH") && stderr.contains("USAGE"),
        "{stderr}"
    );
    let (code, _, stderr) = visionllm(&["parse", "--task", "<OD>", "--image-size", "6x4"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing --text"));
    let (code, _, _) = visionllm(&["frobnicate"]);
    assert_eq!(code, 2);
    let (code, stdout, _) = visionllm(&["parse", "--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("--image-size"));
}
