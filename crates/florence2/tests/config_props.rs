//! The two files a model host serves that size the model before any weight is read:
//! config.json and preprocessor_config.json. On arbitrary text and on random edits of the demo
//! model's config, parsing returns a config or a message; an accepted config has every
//! dimension the forward pass divides by, loops over or allocates with in range.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use visionllm_florence2::{preprocess, Florence2Config};

const DEMO: &str = include_str!("../../../public/models/demo/config.json");

fn number() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        any::<u64>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        (0u64..70).prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)),
        prop::collection::vec(0u64..300, 0..6).prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
        any::<String>().prop_map(serde_json::Value::from),
    ]
}

const FIELDS: &[(&str, &str)] = &[
    ("vision_config", "embed_dim"),
    ("vision_config", "num_heads"),
    ("vision_config", "num_groups"),
    ("vision_config", "depths"),
    ("vision_config", "patch_size"),
    ("vision_config", "patch_stride"),
    ("vision_config", "patch_padding"),
    ("vision_config", "window_size"),
    ("vision_config", "mlp_ratio"),
    ("vision_config", "projection_dim"),
    ("text_config", "d_model"),
    ("text_config", "encoder_attention_heads"),
    ("text_config", "decoder_layers"),
    ("text_config", "vocab_size"),
    ("text_config", "max_position_embeddings"),
    ("text_config", "eos_token_id"),
    ("", "image_token_id"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn configs_from_arbitrary_text(text in any::<String>()) {
        let _ = Florence2Config::from_json(&text);
        let _ = preprocess::input_size(&text);
    }

    #[test]
    fn edited_demo_configs_are_valid_or_refused(edits in prop::collection::vec((0..FIELDS.len(), number()), 1..4)) {
        let mut doc: serde_json::Value = serde_json::from_str(DEMO).unwrap();
        for (field, value) in edits {
            let (section, key) = FIELDS[field];
            if section.is_empty() { doc[key] = value } else { doc[section][key] = value }
        }
        if let Ok(cfg) = Florence2Config::from_json(&doc.to_string()) {
            let v = &cfg.vision_config;
            for (i, &dim) in v.embed_dim.iter().enumerate() {
                prop_assert!(dim > 0 && v.num_heads[i] > 0 && dim % v.num_heads[i] == 0 && dim % v.num_groups[i] == 0);
                prop_assert!(v.patch_stride[i] > 0 && v.depths[i] > 0);
            }
            let t = &cfg.text_config;
            prop_assert!(v.window_size > 0 && t.d_model % t.encoder_attention_heads == 0);
            prop_assert!((cfg.image_token_id as usize) < t.vocab_size && (t.eos_token_id as usize) < t.vocab_size);
        }
    }

    #[test]
    fn preprocessor_sizes(height in number(), width in number(), key in prop::sample::select(vec!["size", "crop_size"])) {
        let doc = serde_json::json!({ key: { "height": height, "width": width } });
        if let Ok(size) = preprocess::input_size(&doc.to_string()) {
            prop_assert!(preprocess::INPUT_SIZES.contains(&size));
        }
    }
}
