//! Parsers never panic, and every coordinate they return is finite and inside the image, for
//! random and adversarial strings (loc tokens with huge, negative or non-numeric bins, polygon
//! marks, unicode, very long inputs), for every task.
#![cfg(not(target_arch = "wasm32"))] // the browser runs tests/wasm.rs instead

use proptest::prelude::*;
use visionllm_tasks::{parse, post_process_generation, ImageSize, Task};

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u64..1000).prop_map(|k| format!("<loc_{k}>")),
        1 => any::<u64>().prop_map(|k| format!("<loc_{k}>")),
        1 => "[0-9]{10,40}".prop_map(|d| format!("<loc_{d}>")),
        1 => any::<i64>().prop_map(|k| format!("<loc_{k}>")),
        1 => "[a-z٣𝟗]{0,3}".prop_map(|d| format!("<loc_{d}>")),
        2 => prop::sample::select(vec!["<sep>", "<poly>", "</poly>", "<s>", "</s>", "<pad>", "<od>", "</od>", "<box>", "<ground>", "<obj>", "<", ">", "<loc_", "\n", " ", "\u{3000}", "\u{1c}", "<<s>/s>", "<po<s>ly>"]).prop_map(String::from),
        2 => "[a-zA-Z ]{1,12}",
        1 => "\\PC{1,6}",
        1 => any::<String>(),
    ]
}

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..80).prop_map(|v| v.concat())
}

fn size() -> impl Strategy<Value = ImageSize> {
    (1u32..5000, 1u32..5000).prop_map(|(w, h)| ImageSize::new(w, h))
}

fn check(text: &str, size: ImageSize) {
    for task in Task::ALL {
        let answer = parse(task, text, size);
        for p in answer.all_points() {
            assert!(p.x.is_finite() && p.y.is_finite(), "{task:?} {text:?}");
            assert!(
                p.x >= 0.0 && p.x < size.width as f32 && p.y >= 0.0 && p.y < size.height as f32,
                "{task:?} {p:?} outside {size:?} for {text:?}"
            );
        }
        let _ = post_process_generation(task.token(), text, size);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn token_soups_never_panic(text in soup(), size in size()) {
        check(&text, size);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>(), size in size()) {
        check(&text, size);
    }
}

#[test]
fn very_long_and_pathological_inputs_stay_fast() {
    let size = ImageSize::new(640, 480);
    let cases = [
        "<loc_1>".repeat(100_000),
        format!("a{}", "<loc_1><loc_2><loc_3>b".repeat(30_000)),
        format!("<loc_{}>", "9".repeat(200_000)),
        format!("<loc_{}", "9".repeat(200_000)),
        "x".repeat(300_000),
        format!("{}<loc_1>", "a<loc_1><loc_2><loc_3><loc_4><loc_5><loc_6><loc_7>".repeat(20_000)),
        "<poly><sep></poly>".repeat(50_000),
        "\n".repeat(200_000),
    ];
    let start = std::time::Instant::now();
    for text in &cases {
        check(text, size);
    }
    assert!(start.elapsed().as_secs() < 60, "parsers are not linear: {:?}", start.elapsed());
}
