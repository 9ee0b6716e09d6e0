//! The router on any Unicode a user can type or paste: it never panics, always returns a route
//! (with task calls and a one-line explanation) or a clear refusal, keeps the user's text intact
//! in the phrases it hands on, and works in time linear in the input.
#![cfg(not(target_arch = "wasm32"))] // the browser runs tests/wasm.rs instead

use std::time::Instant;

use proptest::prelude::*;
use visionllm_tasks::instruction::normalize;
use visionllm_tasks::{route, BoundingBox, ImageSize, Region, RouteError, Task, MAX_INSTRUCTION_CHARS};

/// Words the rules look for, glued to text that stresses byte offsets: multi-byte letters, emoji,
/// combining marks, right-to-left text, zero-width characters, full-width digits.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "find", "segment", "the", "all", "and", "or", ",", "please", "in this image", "up to", "3",
            "describe", "read", "text", "<OD>", "<loc_5>", "what is this", "boxes", "masks", "ground",
            "where are", "how many", "a", "an", "of", "?", ".", "!",
        ]).prop_map(String::from),
        2 => prop::sample::select(vec![
            "café", "猫と犬", "日本", "👍🏽", "👨‍👩‍👧", "e\u{301}", "\u{5e9}\u{5dc}\u{5d5}\u{5dd}", "مرحبا", "\u{200b}",
            "\u{200d}", "\u{feff}", "３", "ｆｉｎｄ", "\u{3000}", "İ", "ß", "ﬁ", "\u{1F1EF}\u{1F1F5}", "Ⅻ", "\u{0}",
        ]).prop_map(String::from),
        2 => "\\PC{1,8}",
        1 => any::<String>(),
    ]
}

fn instruction() -> impl Strategy<Value = String> {
    prop::collection::vec((piece(), prop::sample::select(vec!["", " ", "  ", "\t", "\n"])), 0..24)
        .prop_map(|v| v.into_iter().map(|(p, sep)| format!("{p}{sep}")).collect())
}

fn region() -> impl Strategy<Value = Option<Region>> {
    prop::option::of((any::<f32>(), any::<f32>(), any::<f32>(), any::<f32>(), 0u32..5000, 0u32..5000)).prop_map(|r| {
        r.map(|(x1, y1, x2, y2, w, h)| Region { bbox: BoundingBox::new(x1, y1, x2, y2), image_size: ImageSize::new(w, h) })
    })
}

fn check(text: &str, region: Option<Region>) {
    match route(text, region) {
        Ok(routed) => {
            assert!(!routed.tasks.is_empty(), "{text:?}: no task");
            assert!(!routed.explanation.is_empty(), "{text:?}: no explanation");
            for call in &routed.tasks {
                if let Some(input) = &call.text_input {
                    // What reaches the model is text the user wrote (or loc tokens): never a
                    // character cut in two, never more than was typed.
                    assert!(input.chars().count() <= text.chars().count() + 4 * 10, "{text:?} -> {input:?}");
                }
                assert!(call.task.takes_input() || call.text_input.is_none(), "{text:?}: {:?}", call);
            }
        }
        Err(RouteError::TooLong { chars }) => assert!(chars > MAX_INSTRUCTION_CHARS),
        Err(RouteError::BadRegion { detail }) => assert!(region.is_some(), "{text:?}: {detail}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn any_instruction_routes_or_is_refused(text in instruction(), region in region()) {
        check(&text, region);
    }

    #[test]
    fn arbitrary_strings_route_or_are_refused(text in any::<String>(), region in region()) {
        check(&text, region);
    }

    /// Every rule prefix followed by a non-ASCII word, at every position of the word list.
    #[test]
    fn non_ascii_after_every_rule_word(word in "\\PC{1,6}", verb in prop::sample::select(vec![
        "find", "find the", "segment", "segment the", "detect all", "where are the", "ground", "describe",
        "show me", "count", "mask", "read", "the", "find 3", "find up to",
    ])) {
        check(&format!("{verb} {word}"), None);
        check(&format!("{word} {verb}"), None);
        check(&format!("{verb}{word}"), None);
    }
}

#[test]
fn reported_instructions_route() {
    // The reports: each used to kill the worker (a byte slice inside "é" / "猫").
    for text in ["café", "find 猫と犬", "日本", "find the café", "segment the über-car", "the é", "find théâtre"] {
        let routed = route(text, None).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(!routed.tasks.is_empty());
    }
    let routed = route("find 猫と犬", None).unwrap();
    let inputs: Vec<_> = routed.tasks.iter().filter_map(|c| c.text_input.as_deref()).collect();
    assert_eq!(inputs, ["猫と犬"], "the phrase reaches the model unchanged");
    // A leading "the" is recognised next to non-ASCII letters, and nothing else is cut.
    let routed = route("segment the café", None).unwrap();
    assert_eq!(routed.tasks[0].text_input.as_deref(), Some("the café"));
}

#[test]
fn length_limit_is_in_characters_and_says_what_to_do() {
    let at_limit = "猫".repeat(MAX_INSTRUCTION_CHARS);
    assert!(route(&at_limit, None).is_ok(), "2000 three-byte characters are within the limit");
    let over = "a".repeat(MAX_INSTRUCTION_CHARS + 1);
    let err = route(&over, None).unwrap_err();
    assert_eq!(err, RouteError::TooLong { chars: MAX_INSTRUCTION_CHARS + 1 });
    assert!(err.to_string().contains("shorten"), "{err}");
    let megabyte = "find the dogs ".repeat(75_000);
    assert!(matches!(route(&megabyte, None), Err(RouteError::TooLong { .. })));
}

#[test]
fn regions_that_are_not_boxes_on_the_image_are_refused() {
    let size = ImageSize::new(640, 480);
    let ok = Region { bbox: BoundingBox::new(10.0, 10.0, 100.0, 100.0), image_size: size };
    assert_eq!(route("what is this", Some(ok)).unwrap().tasks[0].task, Task::RegionToCategory);
    for bbox in [
        BoundingBox::new(f32::NAN, 0.0, 10.0, 10.0),
        BoundingBox::new(0.0, 0.0, f32::INFINITY, 10.0),
        BoundingBox::new(700.0, 10.0, 900.0, 20.0),
        BoundingBox::new(-50.0, -50.0, -1.0, -1.0),
    ] {
        let err = route("what is this", Some(Region { bbox, image_size: size })).unwrap_err();
        assert!(matches!(err, RouteError::BadRegion { .. }), "{bbox:?}: {err}");
    }
    let empty_image = Region { bbox: BoundingBox::new(0.0, 0.0, 1.0, 1.0), image_size: ImageSize::new(0, 5) };
    assert!(route("what is this", Some(empty_image)).is_err());
}

/// Normalisation used to copy the whole string once per filler word removed: quadratic. A
/// megabyte of fillers (150,000 of them) took minutes; linear, it takes milliseconds. The bound
/// is 100x what the linear version needs on a slow debug build, and far below the quadratic one.
#[test]
fn normalisation_is_linear_on_a_megabyte() {
    let fillers = "please ".repeat(150_000) + "find the dogs" + &" please".repeat(150_000);
    let t = Instant::now();
    assert_eq!(normalize(&fillers), "find the dogs");
    let secs = t.elapsed().as_secs_f64();
    assert!(secs < 5.0, "normalising 2 MB of filler took {secs:.1} s");
}
