//! The batch's pure logic: video frame times, record files, the progress line, stored records
//! read back from browser storage (checked, never a panic on any text), and the exports (JSON
//! Lines, and the COCO file `visionllm label merge` writes for the same lines). Runs in Node:
//! `cd web && cargo test --release --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use serde_json::{json, Value};
use visionllm_florence2::label_line;
use visionllm_tasks::box_scores::WalkedBox;
use visionllm_tasks::{route, ImageSize};
use visionllm_web::batch::{coco, file_key, frame_source, frame_times, jsonl, progress_line, record_file, BatchMeta, ItemSource, StoredRecord, Throughput, MAX_FRAMES};
use visionllm_web::messages::JobResult;
use wasm_bindgen_test::*;

mod common;

/// `find the red circles` on a 200x100 image answered with `text`, with `scored` for its boxes.
fn job(text: &str, scored: Vec<WalkedBox>) -> JobResult {
    let call = route("find the red circles", None).unwrap().tasks[0].clone();
    common::job_of("find the red circles", ImageSize::new(200, 100), vec![(call, text, scored)])
}

fn record(name: &str, result: &JobResult) -> StoredRecord {
    let source = ItemSource { key: file_key(name, 10.0, 5.0), name: name.into(), time_s: None };
    let size = ImageSize::new(result.image_width, result.image_height);
    StoredRecord { line: label_line(name, size, &result.options, &result.runs), source, result: Some(result.clone()), thumb: "data:image/jpeg;base64,AA".into() }
}

#[wasm_bindgen_test]
fn a_video_is_sampled_at_the_rate_inside_its_length() {
    assert_eq!(frame_times(3.0, 1.0).unwrap(), [0.0, 1.0, 2.0]);
    assert_eq!(frame_times(2.5, 2.0).unwrap(), [0.0, 0.5, 1.0, 1.5, 2.0]);
    assert_eq!(frame_times(0.2, 1.0).unwrap(), [0.0], "a short clip still gives its first frame");
    assert_eq!(frame_times(3.01, 1.0).unwrap().len(), 4);
    for bad in [f64::INFINITY, f64::NAN, 0.0, -1.0] {
        assert!(frame_times(bad, 1.0).unwrap_err().contains("length is unknown"), "{bad}");
    }
    for bad in [0.0, 0.001, 31.0, f64::NAN, -1.0] {
        assert!(frame_times(10.0, bad).unwrap_err().contains("frames per second"), "{bad}");
    }
    assert!(frame_times(4.0 * 3600.0, 30.0).unwrap_err().contains(&MAX_FRAMES.to_string()));
    let frame = frame_source(&file_key("clip.webm", 100.0, 7.0), "clip.webm", 1.5);
    assert_eq!((frame.key.as_str(), frame.name.as_str(), frame.time_s), ("clip.webm|100|7@1.500", "clip.webm@1.500s", Some(1.5)));
}

#[wasm_bindgen_test]
fn records_are_found_again_by_instruction_and_file() {
    let key = file_key("a/b.png", 1234.0, 1.7e12);
    let name = record_file("find the red circles", &key);
    assert!(name.starts_with("r-") && name.ends_with(".json") && name.len() == 2 + 16 + 5, "{name}");
    assert_eq!(name, record_file("  find the red circles ", &key), "the instruction as it runs (trimmed)");
    assert_ne!(name, record_file("find the cars", &key));
    assert_ne!(name, record_file("find the red circles", &file_key("a/b.png", 1235.0, 1.7e12)));
    // The separator keeps the instruction and the key apart.
    assert_ne!(record_file("ab", "c"), record_file("a", "bc"));
}

#[wasm_bindgen_test]
fn the_progress_line_counts_rate_and_time_left() {
    assert_eq!(progress_line(0, 0, 40, Throughput::default()), "0 / 40 images");
    let rate = Throughput { finished: 10, elapsed_ms: 120_000.0 };
    assert_eq!(progress_line(12, 3, 40, rate), "12 / 40 images · 3 failed · 5.0 images/min · about 6 min left");
    assert_eq!(progress_line(40, 0, 40, rate), "40 / 40 images · 5.0 images/min");
    let fast = Throughput { finished: 30, elapsed_ms: 60_000.0 };
    assert_eq!(progress_line(30, 0, 31, fast), "30 / 31 images · 30.0 images/min · about 2 s left");
}

#[wasm_bindgen_test]
fn stored_records_round_trip_and_scores_are_the_models() {
    let scored = vec![WalkedBox { bins: [100, 200, 300, 400], score: 0.8 }];
    let r = job("red circle<loc_100><loc_200><loc_300><loc_400>", scored);
    let stored = record("scenes/a.png", &r);
    assert_eq!(stored.line["instances"][0]["label"], "red circle");
    let score = stored.line["instances"][0]["score"].as_f64().unwrap();
    assert!((score - 0.8).abs() < 1e-6, "the walked box's score: {score}");
    assert_eq!(StoredRecord::from_text(&stored.to_text()).unwrap(), stored);
    let failed = StoredRecord::error(ItemSource { key: "k".into(), name: "broken.png".into(), time_s: None }, "broken.png: cannot decode", String::new());
    assert_eq!(StoredRecord::from_text(&failed.to_text()).unwrap().failed(), Some("broken.png: cannot decode"));
}

#[wasm_bindgen_test]
fn damaged_records_and_batches_are_refused() {
    let r = job("red circle<loc_100><loc_200><loc_300><loc_400>", Vec::new());
    let good = record("a.png", &r);
    let mut other = good.clone();
    other.source.name = "b.png".into();
    assert!(StoredRecord::from_text(&other.to_text()).unwrap_err().contains("belongs to"));
    let mut thumb = good.clone();
    thumb.thumb = "javascript:alert(1)".into();
    assert!(StoredRecord::from_text(&thumb.to_text()).unwrap_err().contains("thumbnail"));
    let mut frame = good.clone();
    frame.source.time_s = Some(-1.0);
    assert!(StoredRecord::from_text(&frame.to_text()).is_err());
    let mut width = good.clone();
    width.line["width"] = json!(0);
    assert!(StoredRecord::from_text(&width.to_text()).is_err());
    assert!(StoredRecord::from_text(&"x".repeat(5 << 20)).unwrap_err().contains("bytes"));
    let meta = BatchMeta { instruction: "find cars".into(), items: vec![good.source.clone()] };
    assert_eq!(BatchMeta::from_text(&meta.to_text()).unwrap(), meta);
    let long = BatchMeta { instruction: "x".repeat(10_000), items: Vec::new() };
    assert!(BatchMeta::from_text(&long.to_text()).is_err());
    let nul = BatchMeta { instruction: "a".into(), items: vec![ItemSource { key: "k\0".into(), name: "n".into(), time_s: None }] };
    assert!(BatchMeta::from_text(&nul.to_text()).is_err());

    // Any text, any Unicode, pieces of real records: an error or a record, never a panic.
    let pieces = [good.to_text(), meta.to_text(), "{".into(), "}".into(), "\"".into(), "[".into(), ",".into(), "null".into(), "1e999".into(), "é😀\u{0}".into()];
    let mut next = common::xorshift(0x2545_f491_4f6c_dd1d);
    for _ in 0..1500 {
        let mut text = String::new();
        for _ in 0..(next() % 6) {
            match next() % 4 {
                0 => text.push(char::from_u32((next() % 0x11_0000) as u32).unwrap_or('x')),
                1 => {
                    // A real record cut anywhere (on a character boundary).
                    let p = &pieces[(next() % 2) as usize];
                    let cut = (next() as usize) % (p.len() + 1);
                    text.push_str(&p[..p.floor_char_boundary(cut)]);
                }
                _ => text.push_str(&pieces[(next() % pieces.len() as u64) as usize]),
            }
        }
        let _ = StoredRecord::from_text(&text);
        let _ = BatchMeta::from_text(&text);
    }
}

#[wasm_bindgen_test]
fn exports_are_one_line_per_item_and_one_coco_dataset() {
    let two = job("red circle<loc_100><loc_200><loc_300><loc_400>red circle<loc_500><loc_100><loc_700><loc_300>", Vec::new());
    let none = job("", Vec::new());
    let mut frame = record("clip.webm@1.000s", &two);
    frame.source.time_s = Some(1.0);
    let b = record("b.png", &two);
    let a = record("a.png", &none);
    let failed = StoredRecord::error(ItemSource { key: "k".into(), name: "broken.png".into(), time_s: None }, "cannot decode", String::new());
    let lines: Vec<Value> = jsonl([&b, &failed, &a, &frame]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.iter().map(|l| l["image"].as_str().unwrap()).collect::<Vec<_>>(), ["b.png", "broken.png", "a.png", "clip.webm@1.000s"], "batch order");
    assert_eq!(lines[3]["time_s"], 1.0);
    assert!(lines[0].get("time_s").is_none());
    let c: Value = serde_json::from_str(&coco(&[&b, &failed, &a, &frame], Default::default()).unwrap()).unwrap();
    let images: Vec<&str> = c["images"].as_array().unwrap().iter().map(|i| i["file_name"].as_str().unwrap()).collect();
    assert_eq!(images, ["a.png", "b.png", "clip.webm@1.000s"], "sorted by name, the failed one left out");
    assert_eq!(c["annotations"].as_array().unwrap().len(), 4);
    assert_eq!(c["annotations"][0]["image_id"], 2, "b.png's boxes belong to image 2");
    // 200x100 image: bins 100, 200, 300, 400 are pixels 20, 20, 60, 40 (Florence-2's rounding):
    // COCO's [x, y, width, height] = [20, 20, 40, 20].
    assert_eq!(c["annotations"][0]["bbox"], json!([20.0, 20.0, 40.0, 20.0]));
    assert_eq!(c["categories"], json!([{ "id": 91, "name": "red circle" }]), "a label outside COCO's classes gets the next free id");
    // A dataset's categories (the app's "categories…", the CLI's --categories): its id for its label.
    let theirs = visionllm_tasks::export::Categories::from_json(r#"{"categories": [{"id": 7, "name": "red circle"}]}"#).unwrap();
    let c: Value = serde_json::from_str(&coco(&[&b], theirs).unwrap()).unwrap();
    assert_eq!(c["annotations"][0]["category_id"], 7);
    assert_eq!(c["categories"], json!([{ "id": 7, "name": "red circle" }]));
}
