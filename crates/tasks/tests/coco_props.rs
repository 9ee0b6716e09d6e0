//! Files from outside that the COCO exports read: a categories file (`visionllm parse
//! --categories`, `label --categories`) and the lines of a labelling run's output (read back to
//! resume and to merge shards). Any bytes read as text, any JSON-ish soup: never a panic; a
//! categories table it accepts has unique ids and names and keeps its ids for its names; a record
//! it accepts holds finite coordinates and scores within 0..=1.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use visionllm_tasks::export::{Categories, MAX_CATEGORY_ID};
use visionllm_tasks::label_record::read_record;
use visionllm_tasks::Shape;

fn soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => prop::sample::select(vec!["[", "]", "{", "}", ",", ":", "\"id\"", "\"name\"", "\"categories\"", "\"\"", "null", "-1", "0", "1",
            "2", "9007199254740991", "9007199254740992", "18446744073709551616", "1e3", "\"car\"", "\"Car \"", "\"cars\"", "\" \"", "\"\\u0000\"", "\"image\"", "\"width\"", "\"height\"",
            "\"instances\"", "\"label\"", "\"box\"", "\"polygons\"", "\"quad\"", "\"point\"", "\"score\"", "\"error\"", "0.5", "1e39", "[1,2]", "[1,2,3,4]"]).prop_map(String::from),
        1 => any::<String>(),
        1 => "\\PC{1,8}".prop_map(|s| format!("{s:?}")),
    ];
    prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

fn entry() -> impl Strategy<Value = (u64, String)> {
    (prop_oneof![1 => Just(0u64), 8 => 1u64..200, 1 => any::<u64>()], prop_oneof!["[a-z ]{0,6}", "\\PC{0,4}"])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_a_table_or_an_error(text in soup()) {
        check(Categories::from_json(&text));
    }

    #[test]
    fn any_bytes_are_a_table_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        check(Categories::from_json(&String::from_utf8_lossy(&bytes)));
    }

    #[test]
    fn any_line_is_a_record_or_an_error(text in soup()) {
        if let Ok(record) = read_record(&text) {
            if let Ok(image) = record.outcome {
                for inst in &image.instances {
                    prop_assert!(inst.score.map_or(true, |s| (0.0..=1.0).contains(&s)));
                    let points: Vec<(f32, f32)> = match &inst.shape {
                        Shape::Box(b) => vec![(b.x1, b.y1), (b.x2, b.y2)],
                        Shape::Polygons(parts) => parts.iter().flat_map(|p| p.points.iter().map(|q| (q.x, q.y))).collect(),
                        Shape::Quad(q) => q.iter().map(|p| (p.x, p.y)).collect(),
                        Shape::Point(p) => vec![(p.x, p.y)],
                    };
                    prop_assert!(points.iter().all(|(x, y)| x.is_finite() && y.is_finite()));
                }
            }
        }
    }

    #[test]
    fn any_bytes_are_a_record_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = read_record(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn generated_lists_keep_their_ids(entries in prop::collection::vec(entry(), 0..12)) {
        let list: Vec<_> = entries.iter().map(|(id, name)| serde_json::json!({ "id": id, "name": name })).collect();
        let text = serde_json::to_string(&list).unwrap();
        if let Some(table) = check(Categories::from_json(&text)) {
            let mut with = Categories::with_coco(table.clone());
            for c in &table.entries {
                prop_assert_eq!(with.id_for(&c.name), c.id);
            }
        }
    }
}

/// An accepted table has unique ids in 1..=MAX_CATEGORY_ID and unique, non-empty names.
fn check(result: Result<Categories, String>) -> Option<Categories> {
    let table = match result {
        Ok(t) => t,
        Err(e) => {
            assert!(!e.is_empty());
            return None;
        }
    };
    for (i, c) in table.entries.iter().enumerate() {
        assert!((1..=MAX_CATEGORY_ID).contains(&c.id));
        assert!(!c.name.trim().is_empty());
        for d in &table.entries[..i] {
            assert_ne!(d.id, c.id);
            assert_ne!(d.name.to_lowercase(), c.name.to_lowercase());
        }
    }
    Some(table)
}
