//! UI logic that needs no page: results -> drawable items (filters, limits, labels), colours,
//! catalog numbers, image limits, the message protocol, exports. Runs under wasm-bindgen's
//! runner in Node: `cd web && cargo test --release --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use visionllm_tasks::{ImageSize, Shape, Task, TaskCall};
use visionllm_web::catalog::{eta_seconds, human_bytes, human_duration, percent, repository_files, Catalog};
use visionllm_web::export::{coco_document, transformers_document};
use visionllm_web::image_limits::{check_dimensions, check_file, Rejection, MAX_FILE_BYTES};
use visionllm_web::messages::{decode, encode, DecodingMode, EnvelopeError, FromWorker, JobResult, ToWorker, PROTOCOL_VERSION};
use visionllm_web::palette::{classes_in_order, colour_for, PALETTE};
use visionllm_web::results::display;
use wasm_bindgen_test::*;

mod common;

fn job(instruction: &str, runs: &[(Task, Option<&str>, &str)]) -> JobResult {
    let calls = runs.iter().map(|(task, input, text)| (TaskCall { task: *task, text_input: input.map(str::to_string) }, *text, Vec::new())).collect();
    common::job_of(instruction, ImageSize::new(1000, 1000), calls)
}

#[wasm_bindgen_test]
fn detection_boxes_become_items_with_classes() {
    let r = job("find everything", &[(Task::ObjectDetection, None, "car<loc_10><loc_20><loc_30><loc_40>Dog<loc_0><loc_0><loc_100><loc_100>car<loc_5><loc_5><loc_6><loc_6>")]);
    let d = display(&r);
    assert_eq!(d.items.len(), 3);
    assert_eq!(d.items.iter().map(|i| i.class.as_str()).collect::<Vec<_>>(), ["car", "dog", "car"]);
    assert_eq!(d.items.iter().map(|i| i.id).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(matches!(d.items[0].shape, Shape::Box(_)));
    assert!(d.texts.is_empty());
}

#[wasm_bindgen_test]
fn class_filter_and_instance_limit_apply() {
    let text = "cat<loc_10><loc_20><loc_30><loc_40>dog<loc_0><loc_0><loc_100><loc_100>cat<loc_1><loc_1><loc_9><loc_9>";
    let r = job("find the cats", &[(Task::ObjectDetection, None, text)]);
    let d = display(&r);
    assert!(d.items.iter().all(|i| i.class == "cat"), "{:?}", d.items);
    let r = job("find the biggest cat", &[(Task::ObjectDetection, None, text)]);
    assert!(display(&r).items.len() <= 1);
}

#[wasm_bindgen_test]
fn unlabelled_masks_take_the_phrase_and_captions_are_text() {
    let seg = "<poly><loc_0><loc_0><loc_100><loc_0><loc_100><loc_100></poly>";
    let r = job("segment the dog", &[(Task::ReferringExpressionSegmentation, Some("dog"), seg), (Task::Caption, None, "A dog.")]);
    let d = display(&r);
    assert_eq!(d.items.len(), 1);
    assert_eq!(d.items[0].label, "dog");
    assert!(matches!(&d.items[0].shape, Shape::Polygons(p) if p[0].points.len() == 3));
    assert_eq!(d.items[0].bounds().unwrap().to_array(), [0.0, 0.0, 100.0, 100.0]);
    assert_eq!(d.texts.len(), 1);
    assert_eq!(d.texts[0].text, "A dog.");
}

#[wasm_bindgen_test]
fn colours_follow_first_appearance() {
    let classes = classes_in_order(["b", "a", "b", "c"]);
    assert_eq!(classes, ["b", "a", "c"]);
    assert_eq!(colour_for(&classes, "b"), PALETTE[0]);
    assert_eq!(colour_for(&classes, "c"), PALETTE[2]);
    assert_eq!(colour_for(&classes, "zzz"), (128, 128, 128));
}

#[wasm_bindgen_test]
fn catalog_numbers_read_well() {
    assert_eq!(human_bytes(999), "999 B");
    assert_eq!(human_bytes(1_608_690), "1.6 MB");
    assert_eq!(human_bytes(1_230_000_000), "1.23 GB");
    assert_eq!(percent(50, Some(200)), Some(25.0));
    assert_eq!(percent(5, None), None);
    assert_eq!(eta_seconds(100, Some(300), 1000.0), Some(2.0));
    assert_eq!(human_duration(185.0), "3 min 5 s");
}

#[wasm_bindgen_test]
fn the_shipped_catalog_parses_and_resolves_the_host() {
    let catalog: Catalog = serde_json::from_str(include_str!("../../public/models/catalog.json")).unwrap();
    let demo = catalog.models.iter().find(|m| m.id == catalog.default_model).unwrap();
    assert!(demo.embedded && demo.available);
    // The embedded demo model ships in the converted format, and the catalog's size covers its shards.
    assert_eq!(demo.files.manifest.as_deref(), Some("manifest.json"));
    let manifest = visionllm_weights::Manifest::from_json(include_str!("../../public/models/demo/manifest.json")).unwrap();
    assert!(demo.size_bytes.unwrap() >= manifest.total_bytes, "{:?} < {}", demo.size_bytes, manifest.total_bytes);
    assert!(demo.model_files("").manifest.is_some());
    // A checkpoint of the transformers layout is quantized while it downloads, never held whole.
    for m in catalog.models.iter().filter(|m| !m.files.weights.is_empty()) {
        let q = m.files.quantize.as_deref().unwrap_or_else(|| panic!("{} has no quantize", m.id));
        assert!(visionllm_weights::Stored::parse(q).is_some(), "{}: {q}", m.id);
        assert_eq!(m.model_files("h").quantize.as_deref(), Some(q));
    }
    let real = catalog.models.iter().find(|m| m.base_url.contains("{host}")).unwrap();
    assert!(real.model_files("https://example.org/").base_url.starts_with("https://example.org/"));
    // Only the shapes demo (never trained on `<REGION_TO_...>`) may not outline family #2's boxes;
    // an entry without the flag, and a typed repository, may.
    assert!(!demo.model_files("").region_tasks);
    assert!(catalog.models.iter().filter(|m| m.id != demo.id).all(|m| m.model_files("").region_tasks));
    assert!(repository_files("a/b", "q4", "h").unwrap().region_tasks);
}

#[wasm_bindgen_test]
fn a_typed_repository_becomes_a_quantize_while_downloading_load() {
    let f = repository_files(" florence-community/Florence-2-large/ ", "q8", "https://huggingface.co/").unwrap();
    assert_eq!(f.base_url, "https://huggingface.co/florence-community/Florence-2-large/resolve/main/");
    assert_eq!((f.id.as_str(), f.quantize.as_deref(), f.manifest.as_deref()), ("hf-florence-community--Florence-2-large-q8", Some("q8"), None));
    assert_eq!(f.weights, ["model.safetensors"]);
    for bad in ["", "florence", "a/b/c", "../x", "a/..", "own er/name", "a/b?c"] {
        assert!(repository_files(bad, "q4", "h").unwrap_err().contains("owner/name"), "{bad:?}");
    }
    assert!(repository_files("a/b", "q3", "h").unwrap_err().contains("q4, q8 or f16"));
}

#[wasm_bindgen_test]
fn image_limits_reject_with_messages() {
    assert_eq!(check_file(0, "image/png"), Err(Rejection::EmptyFile));
    assert!(matches!(check_file(MAX_FILE_BYTES + 1, "image/png"), Err(Rejection::FileTooLarge { .. })));
    assert!(matches!(check_file(10, "text/plain"), Err(Rejection::NotAnImage { .. })));
    assert_eq!(check_file(10, ""), Ok(()));
    assert_eq!(check_dimensions(8192, 1), Ok(()));
    assert!(check_dimensions(8193, 1).unwrap_err().message("x.png").contains("8192"));
    assert_eq!(check_dimensions(0, 5), Err(Rejection::EmptyImage));
}

#[wasm_bindgen_test]
fn protocol_round_trips_and_refuses_other_versions() {
    let m = ToWorker::Run { job: 3, width: 4, height: 5, instruction: "caption".into(), region: None, decoding: DecodingMode::Accurate };
    assert_eq!(decode::<ToWorker>(PROTOCOL_VERSION, &encode(&m)).unwrap(), m);
    let f = FromWorker::JobCancelled { job: 3 };
    assert_eq!(decode::<FromWorker>(PROTOCOL_VERSION, &encode(&f)).unwrap(), f);
    assert_eq!(decode::<ToWorker>(PROTOCOL_VERSION + 1, &encode(&m)).unwrap_err(), EnvelopeError::Version { got: PROTOCOL_VERSION + 1 });
}

#[wasm_bindgen_test]
fn exports_have_both_shapes() {
    let r = job("find everything", &[(Task::ObjectDetection, None, "car<loc_10><loc_20><loc_30><loc_40>")]);
    let t = transformers_document(&r);
    assert_eq!(t["results"][0]["answer"]["<OD>"]["labels"][0], "car");
    let c: serde_json::Value = serde_json::from_str(&coco_document(&r, "street.jpg", Default::default()).unwrap()).unwrap();
    assert_eq!(c["images"][0]["file_name"], "street.jpg");
    assert_eq!(c["categories"][0]["name"], "car");
    assert_eq!(c["annotations"][0]["category_id"], 3, "COCO's own id for car");
    assert_eq!(c["categories"].as_array().map(Vec::len), Some(1), "only the categories used");
    assert_eq!(c["annotations"][0]["score"], 1.0, "no scores decoded: the fallback");
}

#[wasm_bindgen_test]
fn decoding_defaults_by_adapter_and_names_round_trip() {
    assert_eq!(DecodingMode::default_for(true), DecodingMode::Fast);
    assert_eq!(DecodingMode::default_for(false), DecodingMode::Accurate);
    for m in DecodingMode::ALL {
        assert_eq!(DecodingMode::from_name(m.name()), Some(m));
    }
    assert_eq!(DecodingMode::Accurate.beams(), 3);
    assert_eq!(DecodingMode::from_name("beams"), None);
}

#[wasm_bindgen_test]
fn a_partial_answer_draws_the_boxes_whose_four_locations_exist() {
    // The answer so far stops inside the second box: only the first is drawn.
    let r = job("find everything", &[(Task::ObjectDetection, None, "</s><s>car<loc_10><loc_20><loc_30><loc_40>dog<loc_0><loc_0>")]);
    let d = display(&r);
    assert_eq!(d.items.len(), 1, "{:?}", d.items);
    assert_eq!(d.items[0].label, "car");
}

/// A family #2 answer: its grounding instances become items (points included), a text answer
/// is shown as text, a segmentation request shows why it got boxes only, and the record line
/// written for batches and exports reads back with the same instances.
#[wasm_bindgen_test]
fn chat_answers_become_items_texts_and_records() {
    use visionllm_tasks::chat_request::{chat_request, grounded_instances, ChatAnswer};
    use visionllm_tasks::label_record::read_record;
    use visionllm_tasks::parse::grounding_json::parse_grounding;
    use visionllm_web::messages::ChatRun;
    let size = ImageSize::new(200, 100);
    let chat = |instruction: &str, text: &str| {
        let request = chat_request(instruction).unwrap();
        let mut r = common::job_of(instruction, size, Vec::new());
        r.chat = Some(ChatRun {
            system: request.system.map(str::to_owned),
            answer: request.answer,
            generated_text: text.into(),
            instances: grounded_instances(&parse_grounding(text, size)),
            new_tokens: 9,
            note: matches!(request.answer, ChatAnswer::Boxes { segment: true }).then(|| "boxes only".to_string()),
        });
        r
    };
    let answer = r#"```json
[{"bbox_2d": [100, 200, 500, 1000], "label": "Dog"}, {"point_2d": [500, 500], "label": "apple"}]
```"#;
    let r = chat("find the dog and point at the apple", answer);
    let d = display(&r);
    assert_eq!(d.items.iter().map(|i| i.class.as_str()).collect::<Vec<_>>(), ["dog", "apple"]);
    assert!(matches!(d.items[0].shape, Shape::Box(b) if b == visionllm_tasks::BoundingBox::new(20.0, 20.0, 100.0, 100.0)), "{:?}", d.items[0]);
    assert!(matches!(d.items[1].shape, Shape::Point(p) if p.x == 100.0 && p.y == 50.0), "{:?}", d.items[1]);
    assert!(d.texts.is_empty(), "{:?}", d.texts);
    let line = visionllm_web::export::result_label_line("a.png", &r);
    let back = read_record(&line.to_string()).unwrap().outcome.unwrap();
    assert_eq!(back.instances, r.chat.as_ref().unwrap().instances);

    let d = display(&chat("what does the sign say?", " STOP "));
    assert!(d.items.is_empty());
    assert_eq!(d.texts.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(), ["STOP"]);

    let d = display(&chat("segment the dog", r#"[{"bbox_2d": [0, 0, 10, 10], "label": "dog"}]"#));
    assert_eq!(d.items.len(), 1);
    assert_eq!(d.texts.iter().map(|t| t.task.as_str()).collect::<Vec<_>>(), ["note"]);
}

#[wasm_bindgen_test]
fn the_backend_follows_the_choice_and_the_adapter() {
    use visionllm_web::backend_choice::{decide, BackendChoice as C, Compute, GpuFound as F};
    let hardware = F::Adapter { name: "NVIDIA RTX".into(), software: false };
    let software = F::Adapter { name: "SwiftShader Device (Subzero)".into(), software: true };
    let table = [
        (C::Auto, hardware.clone(), Compute::WebGpu),
        (C::Auto, software.clone(), Compute::Cpu),
        (C::Auto, F::NoApi, Compute::Cpu),
        (C::Auto, F::Failed("no adapter".into()), Compute::Cpu),
        (C::Gpu, hardware.clone(), Compute::WebGpu),
        (C::Gpu, software.clone(), Compute::WebGpu),
        (C::Gpu, F::NoApi, Compute::Cpu),
        (C::Gpu, F::Failed("no adapter".into()), Compute::Cpu),
        (C::Cpu, F::NotAsked, Compute::Cpu),
        (C::Cpu, hardware, Compute::Cpu),
    ];
    for (choice, found, want) in table {
        let (got, why) = decide(choice, &found);
        assert_eq!(got, want, "{choice:?} with {found:?}");
        assert!(!why.is_empty(), "{choice:?} with {found:?} says why");
    }
    // The software adapter is named in the reason, so the user sees what was passed over.
    assert!(decide(C::Auto, &software).1.contains("SwiftShader"));
    assert!(decide(C::Auto, &F::NoApi).1.contains("no WebGPU"));
    // Browsers may hide the name; wgpu's long "no adapter" message is cut to its first clause.
    assert_eq!(decide(C::Auto, &F::Adapter { name: " ".into(), software: true }).1, "the only WebGPU adapter is a software emulation; the CPU backend runs the same model faster on these cores");
    assert_eq!(decide(C::Auto, &F::Failed("no GPU adapter available (No suitable graphics adapter found; ...)".into())).1, "WebGPU gave no device (no GPU adapter available)");
}

#[wasm_bindgen_test]
fn backend_names_and_the_query_override_parse_any_text_without_panicking() {
    use visionllm_web::backend_choice::BackendChoice as C;
    for c in C::ALL {
        assert_eq!(C::parse(c.as_str()), Some(c));
    }
    assert_eq!(C::from_query("?test-hooks&backend=cpu"), Some(C::Cpu));
    assert_eq!(C::from_query("backend=gpu&no-f16"), Some(C::Gpu));
    assert_eq!(C::from_query("?backend=CPU"), None, "names are exact");
    assert_eq!(C::from_query("?backend="), None);
    assert_eq!(C::from_query("?mybackend=cpu"), None, "only the backend key");
    assert_eq!(C::default(), C::Auto);
    // Any text (seeded: every run the same): never a panic, and only the three names parse.
    let mut next = common::xorshift(0x9e37_79b9_7f4a_7c15);
    let pieces = ["backend=", "cpu", "gpu", "auto", "&", "?", "=", "é", "猫", "\u{0}", "🦀", " ", "backend", "=cpu&"];
    for _ in 0..2000 {
        let n = (next() % 8) as usize;
        let text: String = (0..n)
            .map(|_| match next() % 3 {
                0 => pieces[(next() % pieces.len() as u64) as usize].to_string(),
                1 => char::from_u32((next() % 0x11_0000) as u32).map(String::from).unwrap_or_default(),
                _ => ((next() % 95) as u8 + 32).to_string(),
            })
            .collect();
        if let Some(c) = C::from_query(&text) {
            assert!(text.contains(&format!("backend={}", c.as_str())), "{text:?}");
        }
        assert!(C::parse(&text).is_none() || C::ALL.iter().any(|c| c.as_str() == text));
    }
}

#[wasm_bindgen_test]
fn a_small_image_is_fitted_to_the_panel_and_drawn_at_the_screens_density() {
    use visionllm_web::image_limits::fitted_size;
    // A 224 scene in a 700-pixel panel of a 1000-pixel window on a 2x screen: scaled up.
    let ((w, h), (bw, bh)) = fitted_size(224, 224, 700.0, 1000.0, 2.0);
    assert_eq!((w, h), (700.0, 700.0));
    assert_eq!((bw, bh), (1400, 1400), "device pixels: crisp on a 2x screen");
    // A tall photo is held to 75% of the window's height, its aspect kept.
    let ((w, h), _) = fitted_size(1000, 2000, 700.0, 800.0, 1.0);
    assert_eq!((w, h), (300.0, 600.0));
    // A huge image on a dense screen: the backing store is capped, the aspect kept.
    let (_, (bw, bh)) = fitted_size(8000, 4000, 3000.0, 4000.0, 3.0);
    assert_eq!((bw, bh), (4096, 2048));
    // Before the panel is laid out: the image's own size; a bad ratio counts as 1.
    assert_eq!(fitted_size(640, 480, 0.0, 0.0, f64::NAN), ((640.0, 480.0), (640, 480)));
}

#[wasm_bindgen_test]
fn an_empty_answer_says_nothing_was_found_for_what_was_asked() {
    use visionllm_web::messages::JobStatus;
    use visionllm_web::results::nothing_found;
    // "find the cat": the model answered no box; what was looked for is named.
    let mut r = job("find the cat", &[(Task::OpenVocabularyDetection, Some("cat"), "</s><s></s>")]);
    r.status = JobStatus::Done;
    assert_eq!(nothing_found(&r, &display(&r)).as_deref(), Some("Nothing found for \u{201c}cat\u{201d}."));
    // The class filter, when the instruction named classes, is what was looked for.
    r.options.class_filter = vec!["cat".into(), "dog".into()];
    assert_eq!(nothing_found(&r, &display(&r)).as_deref(), Some("Nothing found for \u{201c}cat, dog\u{201d}."));
    // Something drawn, or a text said, or still running: no such line.
    let mut found = job("find the cat", &[(Task::OpenVocabularyDetection, Some("cat"), "</s><s>cat<loc_10><loc_20><loc_30><loc_40></s>")]);
    found.status = JobStatus::Done;
    assert_eq!(nothing_found(&found, &display(&found)), None, "{:?}", display(&found));
    let mut caption = job("caption", &[(Task::Caption, None, "</s><s>a red star.</s>")]);
    caption.status = JobStatus::Done;
    assert_eq!(nothing_found(&caption, &display(&caption)), None);
    let mut running = r.clone();
    running.status = JobStatus::Running;
    assert_eq!(nothing_found(&running, &display(&running)), None);
}
