//! `visionllm scene` and `visionllm eval` end to end, on the embedded demo model (public/models/demo,
//! trained on synthetic scenes): the JSON's shape, and the detection goal of issue 7 on fresh scenes.

use std::process::Command;

fn visionllm(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_visionllm"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()))
        .output()
        .unwrap()
}

#[test]
fn scene_writes_png_and_json() {
    let dir = std::env::temp_dir().join(format!("visionllm-scene-{}", std::process::id()));
    let out = visionllm(&["scene", "--seed", "1000000001", "--shapes", "3..3", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = image::open(dir.join("scene-1000000001.png")).unwrap().to_rgb8();
    assert_eq!(png.dimensions(), (224, 224));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("scene-1000000001.json")).unwrap()).unwrap();
    assert_eq!(json["seed"], 1000000001u64);
    let shapes = json["shapes"].as_array().unwrap();
    assert!(!shapes.is_empty() && shapes.len() <= 3);
    for s in shapes {
        assert!(s["class"].is_string() && s["bbox"].as_array().unwrap().len() == 4, "{s}");
    }
    // The last shape painted shows its colour at its centre.
    let last = shapes.last().unwrap();
    let (x, y) = (last["cx"].as_f64().unwrap() as u32, last["cy"].as_f64().unwrap() as u32);
    let rgb: Vec<u8> = last["rgb"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u8).collect();
    assert_eq!(png.get_pixel(x, y).0.to_vec(), rgb);
    // The texts match what the library computes from the same shapes.
    let texts = visionllm_scenes::texts_from_shapes(&json.to_string()).unwrap();
    assert_eq!(serde_json::to_value(texts).unwrap(), json["texts"]);
    assert!(json["texts"]["caption"].as_str().unwrap().ends_with('.'));
    assert!(json["words"].as_array().unwrap().is_empty() && json["texts"]["ocr"] == "", "no words unless asked");

    // With words: listed with their boxes, painted in their ink, read back by the library's texts.
    let out = visionllm(&["scene", "--seed", "1000000001", "--shapes", "3..3", "--words", "2..2", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let worded = image::open(dir.join("scene-1000000001.png")).unwrap().to_rgb8();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("scene-1000000001.json")).unwrap()).unwrap();
    assert_eq!(json["shapes"].as_array().unwrap().len(), shapes.len(), "words do not change the shapes");
    let words = json["words"].as_array().unwrap();
    assert!(!words.is_empty() && words.len() <= 2, "{words:?}");
    for w in words {
        let b: Vec<u32> = w["bbox"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as u32).collect();
        let ink: Vec<u8> = w["ink"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u8).collect();
        let inked = (b[1]..b[3]).flat_map(|y| (b[0]..b[2]).map(move |x| (x, y))).filter(|&(x, y)| worded.get_pixel(x, y).0.to_vec() == ink).count();
        assert!(inked > 0, "{w}");
        assert!(json["texts"]["ocr"].as_str().unwrap().contains(w["text"].as_str().unwrap()));
    }
    let texts = visionllm_scenes::texts_from_shapes(&json.to_string()).unwrap();
    assert_eq!(serde_json::to_value(texts).unwrap(), json["texts"]);
    let refused = visionllm(&["scene", "--seed", "1", "--words", "1..9", "--out", dir.to_str().unwrap()]);
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("at most 8"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn eval_prints_the_metrics_json() {
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/../../public/models/demo");
    // A small token limit keeps this quick on lavapipe (the metrics' values are not checked here).
    let started = std::time::Instant::now();
    let out = visionllm(&["eval", "--model", model, "--synthetic", "2", "--max-new-tokens", "24"]);
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["n"], 2);
    for key in ["map50", "grounding_accuracy", "res_miou", "caption_exact"] {
        let v = json[key].as_f64().unwrap_or_else(|| panic!("{key} missing: {json}"));
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    let per_class = json["ap50_per_class"].as_object().unwrap();
    assert!(!per_class.is_empty());
    assert!(per_class.keys().all(|k| visionllm_scenes::Class::from_name(k).is_some()), "{per_class:?}");
    let counts = &json["counts"];
    assert_eq!(counts["scenes"], 2);
    assert_eq!(counts["captions"], 2);
    assert!(counts["od_truths"].as_u64().unwrap() >= 2);
    assert!(counts["grounding_phrases"].as_u64().unwrap() >= 2);
    // Every phase took time, the phases add up to no more than the total, and the total to no
    // more than the process's run.
    let ms = |p: &str| json["timings_ms"][p].as_f64().unwrap_or_else(|| panic!("{p}: {json}"));
    let phases: Vec<f64> = ["load", "scenes", "vision", "encoder", "decode", "score"].iter().map(|p| ms(p)).collect();
    assert!(phases.iter().all(|&v| v > 0.0), "{phases:?}");
    assert!(phases.iter().sum::<f64>() <= ms("total") && ms("total") <= wall_ms, "{phases:?}, total {}, run {wall_ms:.0} ms", ms("total"));
    assert!(json["backend"] == "cpu" || json["backend"] == "gpu", "{json}");
    // Only the requested tasks run; the others report null.
    let out = visionllm(&["eval", "--model", model, "--synthetic", "1", "--tasks", "caption", "--max-new-tokens", "8"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["map50"].is_null() && json["res_miou"].is_null() && json["caption_exact"].is_number(), "{json}");
    // OCR runs on scenes with words only: the two metrics are numbers then (the shipped demo
    // model was not trained on it; the values are not checked here).
    let out = visionllm(&["eval", "--model", model, "--synthetic", "1", "--tasks", "ocr", "--words", "1..1", "--max-new-tokens", "8"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["ocr_word_accuracy"].is_number() && json["ocr_box_iou"].is_number() && json["counts"]["ocr_words"] == 1, "{json}");
    let out = visionllm(&["eval", "--model", model, "--synthetic", "1", "--tasks", "ocr", "--max-new-tokens", "8"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["ocr_word_accuracy"].is_null(), "no words, nothing to read: {json}");
}

/// Issue 7's gate: the shipped demo model (Q8, our engine, greedy) reaches box mAP@0.5 >= 0.7 on
/// scenes it never saw (eval seeds start at 1e9; training seeds are below). N is small to keep CI
/// quick on lavapipe; the model card reports N = 200.
#[test]
fn demo_model_meets_the_detection_goal() {
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/../../public/models/demo");
    let out = visionllm(&["eval", "--model", model, "--synthetic", "24", "--seed", "1000100000", "--tasks", "od"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let map50 = json["map50"].as_f64().unwrap();
    eprintln!("demo model, 24 fresh scenes: mAP@0.5 = {map50:.3} ({})", json["ap50_per_class"]);
    assert!(map50 >= 0.7, "mAP@0.5 {map50:.3} is below the goal 0.7: {json}");
}
