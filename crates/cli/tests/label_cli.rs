//! `visionllm label` on the embedded demo model over generated scenes: one line per image with
//! the instances `visionllm run --instruction` finds and the model's own box scores, an unreadable
//! image recorded as an error, shards merged into the very COCO file a single run writes, and a
//! killed run (a partial last line) resumed to the same result.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const INSTRUCTION: &str = "find the red circles";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn visionllm(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_visionllm"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into()))
        .output()
        .unwrap();
    assert!(out.status.success(), "visionllm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn label(input: &Path, out: &Path, extra: &[&str]) -> String {
    let model = root().join("public/models/demo");
    let mut args = vec!["label", "--model", model.to_str().unwrap(), "--instruction", INSTRUCTION, "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    String::from_utf8_lossy(&visionllm(&args).stderr).into_owned()
}

/// The lines of an output, each without its timing, sorted by image.
fn lines(path: &Path) -> Vec<Value> {
    let mut v: Vec<Value> = std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).collect();
    for line in &mut v {
        line.as_object_mut().unwrap().remove("ms");
    }
    v.sort_by(|a, b| a["image"].as_str().cmp(&b["image"].as_str()));
    v
}

#[test]
fn label_shards_merge_and_resume() {
    let dir = std::env::temp_dir().join(format!("visionllm-label-{}", std::process::id()));
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    for seed in 1_000_000_100u64..1_000_000_106 {
        visionllm(&["scene", "--seed", &seed.to_string(), "--out", input.to_str().unwrap()]);
    }
    std::fs::write(input.join("broken.png"), b"\x89PNG\r\n\x1a\n not really").unwrap();

    // One run over everything.
    let single = dir.join("single.jsonl");
    let single_coco = dir.join("single.json");
    label(&input, &single, &["--coco", single_coco.to_str().unwrap()]);
    let all = lines(&single);
    assert_eq!(all.len(), 7, "six scenes and the broken file");
    assert!(all[0]["image"] == "broken.png" && all[0]["error"].as_str().is_some_and(|e| !e.is_empty()), "{}", all[0]);
    let mut boxes = 0;
    for line in &all[1..] {
        assert_eq!((line["width"].as_u64(), line["height"].as_u64()), (Some(224), Some(224)), "{line}");
        for inst in line["instances"].as_array().unwrap() {
            let score = inst["score"].as_f64().unwrap();
            assert!(score > 0.0 && score < 1.0, "the model's own probability, not a constant 1: {inst}");
            boxes += 1;
        }
    }
    assert!(boxes > 0, "the demo model finds red circles in some of these scenes");

    // The same instances as `visionllm run --instruction` (the app's path), greedy.
    let first = &all[1];
    let image = input.join(first["image"].as_str().unwrap());
    let run: Value = serde_json::from_slice(&visionllm(&["run", "--model", root().join("public/models/demo").to_str().unwrap(), "--image", image.to_str().unwrap(),
        "--instruction", INSTRUCTION, "--greedy", "--json"]).stdout).unwrap();
    let strip = |v: &Value| v.as_array().unwrap().iter().map(|i| (i["label"].clone(), i["box"].clone())).collect::<Vec<_>>();
    assert_eq!(strip(&first["instances"]), strip(&run["instances"]));

    // Three shards, merged: the single run's COCO file, byte for byte.
    let mut shard_files = Vec::new();
    for i in 0..3 {
        let f = dir.join(format!("shard{i}.jsonl"));
        label(&input, &f, &["--shard", &format!("{i}/3")]);
        shard_files.push(f);
    }
    let mut shard_lines: Vec<Value> = shard_files.iter().flat_map(|f| lines(f)).collect();
    shard_lines.sort_by(|a, b| a["image"].as_str().cmp(&b["image"].as_str()));
    assert_eq!(shard_lines, all, "every image in exactly one shard, with the same result");
    let merged = dir.join("merged.json");
    let mut args = vec!["label", "merge"];
    args.extend(shard_files.iter().map(|f| f.to_str().unwrap()));
    args.extend(["--coco", merged.to_str().unwrap()]);
    visionllm(&args);
    assert_eq!(std::fs::read(&merged).unwrap(), std::fs::read(&single_coco).unwrap());
    let coco: Value = serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    assert_eq!(coco["images"].as_array().unwrap().len(), 6, "the broken file is left out");
    assert_eq!(coco["annotations"].as_array().unwrap().len(), boxes);

    // A run killed while writing its fourth line: the partial line goes, the rest is labelled.
    let text = std::fs::read_to_string(&single).unwrap();
    let cut: usize = text.split_inclusive('\n').take(3).map(str::len).sum::<usize>() + 20;
    let resumed = dir.join("resumed.jsonl");
    let resumed_coco = dir.join("resumed.json");
    std::fs::write(&resumed, &text.as_bytes()[..cut]).unwrap();
    let log = label(&input, &resumed, &["--coco", resumed_coco.to_str().unwrap()]);
    assert!(log.contains("partial line") && log.contains("3 already in") && log.contains("4 to label"), "{log}");
    assert_eq!(lines(&resumed), all);
    assert_eq!(std::fs::read(&resumed_coco).unwrap(), std::fs::read(&single_coco).unwrap());
    // Nothing left: a second resume labels nothing.
    assert!(label(&input, &resumed, &[]).contains("0 to label"));
    let _ = std::fs::remove_dir_all(&dir);
}
