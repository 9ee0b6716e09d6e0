//! Cross-check with the Python generator (`training/demo/scenes.py`): for each case in
//! `tests/fixtures/scenes/cases.json` (`{size, shapes: [{kind, colour, cx, cy, r, theta}], words:
//! [{text, x, y, scale, ink}], word_ink: [pixels, sum of y * S + x], texts: {od, caption,
//! grounding_input, grounding, ovd: [[query, answer]..], res: [[expr, answer]..], ocr, ocr_with_region}}`,
//! as a list, a `{"cases": [...]}` object, or one case), the texts Rust computes from the same
//! shape parameters must be identical. Skips, with a note, while the fixture does not exist.

use serde_json::Value;
use visionllm_scenes::{Scene, Texts};

/// The fixture, or `VISIONLLM_SCENES_CASES` when set.
fn fixture() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("VISIONLLM_SCENES_CASES") {
        return path.into();
    }
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/scenes/cases.json"))
}

#[test]
fn python_texts_match_rust_texts() {
    let path = fixture();
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("note: {} does not exist yet (written by training/demo/scenes.py); cross-check skipped", path.display());
        return;
    };
    let doc: Value = serde_json::from_str(&text).unwrap();
    let cases: Vec<Value> = match doc {
        Value::Array(cases) => cases,
        Value::Object(ref o) if o.contains_key("cases") => o["cases"].as_array().expect("cases is a list").clone(),
        one => vec![one],
    };
    assert!(!cases.is_empty(), "{} holds no cases", path.display());
    let mut failures = Vec::new();
    let mut checked = 0;
    for (n, case) in cases.iter().enumerate() {
        let scene = Scene::from_json(&case.to_string()).unwrap_or_else(|e| panic!("case {n}: {e}"));
        let want: Texts = serde_json::from_value(case["texts"].clone()).unwrap_or_else(|e| panic!("case {n} texts: {e}"));
        let got = scene.texts();
        let mut check = |what: String, got: &str, want: &str| {
            checked += 1;
            if got != want {
                failures.push(format!("case {n} {what}:\n  python {want:?}\n  rust   {got:?}"));
            }
        };
        check("od".into(), &got.od, &want.od);
        check("caption".into(), &got.caption, &want.caption);
        check("grounding_input".into(), &got.grounding_input, &want.grounding_input);
        check("grounding".into(), &got.grounding, &want.grounding);
        for (query, answer) in &want.ovd {
            check(format!("ovd {query:?}"), &scene.ovd_answer(query), answer);
        }
        for (expr, answer) in &want.res {
            let ours = scene.res_answer(expr).unwrap_or_else(|| "(not a valid expression here)".into());
            check(format!("res {expr:?}"), &ours, answer);
        }
        check("ocr".into(), &got.ocr, &want.ocr);
        check("ocr_with_region".into(), &got.ocr_with_region, &want.ocr_with_region);
        // The words' pixels: Python's (inked pixels, sum of y * S + x) against Rust's rendering on
        // an empty scene, so the font, the scale and the placement agree pixel for pixel.
        if let Some(want_ink) = case.get("word_ink") {
            let mut bare = Scene::from_shapes(scene.size, vec![]);
            bare.words = scene.words.clone();
            let plain = Scene::from_shapes(scene.size, vec![]).render();
            let img = bare.render();
            let (mut count, mut sum) = (0u64, 0u64);
            for (i, (a, b)) in img.chunks(3).zip(plain.chunks(3)).enumerate() {
                if a != b {
                    count += 1;
                    sum += i as u64;
                }
            }
            checked += 1;
            if serde_json::json!([count, sum]) != *want_ink {
                failures.push(format!("case {n} word pixels: python {want_ink}, rust [{count}, {sum}]"));
            }
        }
        // Every expression Rust finds valid, Python should list too (and the other way round above).
        for (expr, _) in &got.res {
            if !want.res.iter().any(|(e, _)| e == expr) {
                failures.push(format!("case {n}: Rust finds {expr:?} valid, Python does not list it"));
            }
        }
    }
    println!("{} cases, {checked} texts compared", cases.len());
    assert!(failures.is_empty(), "{} of {checked} differ:\n{}", failures.len(), failures.join("\n"));
}
