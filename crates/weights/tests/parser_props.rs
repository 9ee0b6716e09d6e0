//! Every parser of bytes a model host serves, on arbitrary input: manifest JSON (random text and
//! random edits of a real manifest), safetensors headers (random bytes, random JSON), index files
//! and file names. Each returns a value or an error; none panics or allocates by what it is told.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use visionllm_weights::limits::check_file_name;
use visionllm_weights::manifest::Manifest;
use visionllm_weights::source_header;

const DEMO_MANIFEST: &str = include_str!("../../../public/models/demo/manifest.json");

/// JSON values that stress a parser: huge, negative, fractional and non-numeric sizes.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        any::<u64>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)),
        any::<String>().prop_map(serde_json::Value::from),
        prop::sample::select(vec!["../x", "/etc/passwd", "q4", "F32", "U32", ""]).prop_map(serde_json::Value::from),
        prop::collection::vec(any::<u64>(), 0..4).prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
    ]
}

/// Replaces the value at a path into the JSON (object entries and array items chosen by the
/// numbers, modulo their count; a path that runs out of containers replaces where it stops).
fn edit(doc: &mut serde_json::Value, path: &[usize], value: serde_json::Value) {
    match (path.split_first(), doc) {
        (Some((&step, rest)), serde_json::Value::Object(map)) if !map.is_empty() => {
            let n = map.len();
            if let Some((_, v)) = map.iter_mut().nth(step % n) {
                edit(v, rest, value);
            }
        }
        (Some((&step, rest)), serde_json::Value::Array(items)) if !items.is_empty() => {
            let n = items.len();
            if let Some(v) = items.get_mut(step % n) {
                edit(v, rest, value);
            }
        }
        (_, doc) => *doc = value,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn manifests_from_arbitrary_text(text in any::<String>()) {
        let _ = Manifest::from_json(&text);
    }

    #[test]
    fn edited_real_manifests_parse_or_are_refused(path in prop::collection::vec(any::<usize>(), 1..5), value in json_value()) {
        let mut doc: serde_json::Value = serde_json::from_str(DEMO_MANIFEST).unwrap();
        edit(&mut doc, &path, value);
        if let Ok(m) = Manifest::from_json(&doc.to_string()) {
            // Accepted means consistent: names plain, tensors inside their shards.
            for s in &m.shards {
                prop_assert!(check_file_name(&s.file).is_ok());
            }
            for t in &m.tensors {
                prop_assert!(t.offset + t.length <= m.shards[t.shard].bytes);
            }
        }
    }

    #[test]
    fn safetensors_headers_from_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = source_header::parse("x", &bytes);
    }

    #[test]
    fn safetensors_headers_from_arbitrary_json(entries in prop::collection::vec((any::<String>(), json_value(), json_value(), json_value()), 0..6)) {
        let mut header = serde_json::Map::new();
        for (name, dtype, shape, offsets) in entries {
            header.insert(name, serde_json::json!({ "dtype": dtype, "shape": shape, "data_offsets": offsets }));
        }
        let json = serde_json::Value::Object(header).to_string();
        let mut file = (json.len() as u64).to_le_bytes().to_vec();
        file.extend_from_slice(json.as_bytes());
        if let Ok(parsed) = source_header::parse("x", &file) {
            for t in &parsed.tensors {
                prop_assert!(t.start <= t.end);
            }
        }
    }

    #[test]
    fn index_files_from_arbitrary_json(map in prop::collection::vec((any::<String>(), json_value()), 0..6)) {
        let doc = serde_json::json!({ "weight_map": serde_json::Value::Object(map.into_iter().collect()) });
        if let Ok(files) = source_header::index_files(&doc.to_string()) {
            for f in files {
                prop_assert!(check_file_name(&f).is_ok());
            }
        }
    }

    #[test]
    fn file_names_from_arbitrary_text(name in any::<String>()) {
        if check_file_name(&name).is_ok() {
            prop_assert!(!name.contains('/') && !name.contains('\\') && !name.starts_with('.') && !name.contains(':'));
        }
    }
}
