//! The CLI on hostile input: `visionllm route` on any text (JSON out, or a clear error and a
//! non-zero exit), a tiny PNG declaring 60000 x 60000 pixels, absurd beam counts, non-UTF-8
//! arguments, a conversion whose output is its own source, and `label` with bad shards, a missing
//! input and an output file holding a line no run wrote (refused, the file kept as it was).

use std::process::Command;

fn visionllm<I, S>(args: I) -> (i32, String, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_visionllm"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()))
        .output()
        .expect("binary runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn fixture(case: &str) -> String {
    format!("{}/../../tests/fixtures/florence2/{case}", env!("CARGO_MANIFEST_DIR"))
}

fn route_json(args: &[&str]) -> serde_json::Value {
    let (code, stdout, stderr) = visionllm([&["route"], args].concat());
    assert_eq!(code, 0, "{args:?}: {stderr}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

#[test]
fn route_prints_calls_prompts_options_and_explanation() {
    let j = route_json(&["find the red circles and the dogs"]);
    assert_eq!(j["tasks"][0]["task"], "<OPEN_VOCABULARY_DETECTION>");
    assert_eq!(j["tasks"][0]["text_input"], "red circles");
    assert_eq!(j["tasks"][0]["prompt"], "Locate red circles in the image.");
    assert_eq!(j["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(j["options"]["geometry"], "Box");
    assert!(j["explanation"].as_str().unwrap().contains("red circles"));
    assert_eq!(j["fallback"], false);

    let j = route_json(&["find 猫と犬"]);
    assert_eq!(j["tasks"][0]["text_input"], "猫と犬");
    let j = route_json(&["café"]);
    assert_eq!(j["fallback"], true);

    // A region in pixels of a 1000x1000 image equals Florence-2's bins.
    let j = route_json(&["what is this", "--region", "100,200,300,400"]);
    assert_eq!(j["tasks"][0]["task"], "<REGION_TO_CATEGORY>");
    assert_eq!(j["tasks"][0]["text_input"], "<loc_100><loc_200><loc_300><loc_400>");
    let j = route_json(&["--region=64,48,320,240", "--image-size", "640x480", "what is this"]);
    assert_eq!(j["tasks"][0]["text_input"], "<loc_100><loc_100><loc_500><loc_500>");
    let j = route_json(&["--", "--weird instruction"]);
    assert!(j["tasks"].as_array().is_some_and(|t| !t.is_empty()));
}

#[test]
fn route_refuses_with_a_message_and_a_non_zero_exit() {
    for (args, want) in [
        (vec!["a".repeat(2001)], "2001 characters"),
        (vec!["what is this".to_string(), "--region".into(), "1,2,3".into()], "four numbers"),
        (vec!["what is this".to_string(), "--region".into(), "nan,0,1,1".into()], "four numbers"),
        (vec!["what is this".to_string(), "--region".into(), "2000,2000,3000,3000".into()], "outside"),
        (vec![], "missing the instruction"),
        (vec!["x".to_string(), "y".to_string()], "unexpected arguments"),
    ] {
        let (code, stdout, stderr) = visionllm([vec!["route".to_string()], args.clone()].concat());
        assert_ne!(code, 0, "{args:?}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
}

#[test]
fn non_utf8_arguments_are_an_error_not_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"find \xff\xfe");
    let (code, _, stderr) = visionllm([std::ffi::OsStr::new("route"), bad]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not valid UTF-8") && !stderr.contains("panicked"), "{stderr}");
}

/// A 60000 x 60000 PNG: a valid signature and IHDR, then nothing. Decoding it would ask for 14 GB.
#[test]
fn images_declaring_huge_sizes_are_refused_before_decoding() {
    let path = std::env::temp_dir().join(format!("visionllm-huge-{}.png", std::process::id()));
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend(60000u32.to_be_bytes());
    png.extend(60000u32.to_be_bytes());
    png.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
    png.resize(40_000, 0);
    std::fs::write(&path, &png).unwrap();
    let dir = fixture("tiny224");
    let (code, _, stderr) = visionllm(["run", "--model", &dir, "--image", path.to_str().unwrap(), "--task", "<OD>", "--greedy"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("60000x60000") && stderr.contains("limit"), "{stderr}");
    std::fs::write(&path, b"not an image at all").unwrap();
    let (code, _, stderr) = visionllm(["run", "--model", &dir, "--image", path.to_str().unwrap(), "--task", "<OD>", "--greedy"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("not a PNG, JPEG, GIF, WebP or BMP"), "{stderr}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn beam_counts_are_bounded_before_the_model_loads() {
    let dir = fixture("tiny224");
    for beams in ["100000", "0", "9"] {
        let (code, _, stderr) = visionllm(["run", "--model", &dir, "--image", &format!("{dir}/image.png"), "--task", "<OD>", "--beams", beams]);
        assert_ne!(code, 0, "{beams}");
        assert!(stderr.contains("beam search takes 1 to 8 beams"), "{beams}: {stderr}");
    }
}

#[test]
fn convert_refuses_to_write_into_its_source() {
    let src = std::env::temp_dir().join(format!("visionllm-cli-src-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).unwrap();
    for entry in std::fs::read_dir(fixture("tiny224")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, src.join(path.file_name().unwrap())).unwrap();
    }
    let weights = std::fs::read(src.join("model.safetensors")).unwrap();
    let relative = format!("{}/./", src.display());
    for to in [src.display().to_string(), relative, format!("{}/out", src.display())] {
        let (code, _, stderr) = visionllm(["convert", "--from", &src.display().to_string(), "--to", &to, "--quant", "q4"]);
        assert_ne!(code, 0, "{to}");
        assert!(stderr.contains("overwrite the checkpoint"), "{to}: {stderr}");
    }
    assert_eq!(std::fs::read(src.join("model.safetensors")).unwrap(), weights, "the source was touched");
    let _ = std::fs::remove_dir_all(&src);
}

#[test]
fn label_refuses_bad_arguments_and_keeps_an_output_it_cannot_read() {
    let dir = std::env::temp_dir().join(format!("visionllm-hostile-label-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out.jsonl");
    let out_s = out.to_str().unwrap();
    let dir_s = dir.to_str().unwrap();
    let model = fixture("tiny224");
    let label = |extra: &[&str]| visionllm([&["label", "--model", &model, "--instruction", "find cars", "--input", dir_s, "--out", out_s], extra].concat());
    for (shard, says) in [("4/4", "--shard"), ("x", "--shard"), ("1/0", "--shard")] {
        let (code, _, err) = label(&["--shard", shard]);
        assert!(code == 2 && err.contains(says), "{shard}: {err}");
    }
    let (code, _, err) = visionllm(["label", "--model", &model, "--instruction", "find &", "--input", "/nonexistent", "--out", out_s]);
    assert!(code == 2 && err.contains("/nonexistent"), "{err}");
    // A line that no run wrote (someone edited the file): a clear error, the file untouched.
    let garbage = "{\"image\": \"a.png\", \"width\": 1, \"height\": 1, \"instances\": []}\nnot json at all\n";
    std::fs::write(&out, garbage).unwrap();
    let (code, _, err) = label(&[]);
    assert!(code == 2 && err.contains("line 2") && err.contains("not JSON"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), garbage, "nothing lost");
    let (code, _, err) = visionllm(["label", "merge", out_s, "--coco", dir.join("c.json").to_str().unwrap()]);
    assert!(code == 2 && err.contains("line 2"), "{err}");
    let (code, _, err) = visionllm(["label", "merge", "--coco", dir.join("c.json").to_str().unwrap()]);
    assert!(code == 2 && err.contains("name the outputs"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
