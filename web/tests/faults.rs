//! Pure logic behind surviving faults: the worker restart budget and messages, the test-hook
//! switch, the instruction length limit in the page (UTF-16, like `maxlength`), image headers
//! checked before decoding, and the protocol's new messages. Runs in Node:
//! `cd web && cargo test --release --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use visionllm_tasks::image_header::declared_size;
use visionllm_tasks::MAX_INSTRUCTION_CHARS;
use visionllm_web::image_limits::{check_dimensions, Rejection};
use visionllm_web::instruction_limit::{clamp_units, cut_message, max_new_tokens, paste_into, Pasted, MAX_NEW_TOKENS};
use visionllm_web::messages::{decode, encode, FromWorker, ToWorker, PROTOCOL_VERSION};
use visionllm_web::recovery::{crash_limit_message, crash_notice, device_notice, one_line, test_hooks_enabled, RestartBudget, MAX_RESTARTS, RESTART_WINDOW_MS};
use wasm_bindgen_test::*;

mod common;

#[wasm_bindgen_test]
fn restarts_are_limited_per_window() {
    let mut budget = RestartBudget::default();
    let t0 = 1_000_000.0;
    for i in 0..MAX_RESTARTS {
        assert!(budget.allow(t0 + i as f64 * 1000.0), "restart {i} is allowed");
    }
    assert!(!budget.allow(t0 + 5_000.0), "one more within the window is refused");
    // A refusal is not counted, and once the first restart leaves the window one more fits.
    assert!(budget.allow(t0 + RESTART_WINDOW_MS + 1.0));
    assert!(!budget.allow(t0 + RESTART_WINDOW_MS + 2.0));
    // Long after, the whole budget is back.
    let later = t0 + 10.0 * RESTART_WINDOW_MS;
    assert!((0..MAX_RESTARTS).all(|i| budget.allow(later + i as f64)));
}

#[wasm_bindgen_test]
fn messages_are_one_bounded_line() {
    assert_eq!(one_line("  panicked at\n  src/x.rs:3\t\tindex out of range ", 100), "panicked at src/x.rs:3 index out of range");
    // Cut by characters, never inside one (these are 3 bytes each in UTF-8).
    let long = "猫".repeat(500);
    let cut = one_line(&long, 10);
    assert_eq!(cut, format!("{}…", "猫".repeat(10)));
    let notice = crash_notice("boom\nat line 3", true);
    assert!(!notice.contains('\n'));
    assert!(notice.contains("(boom at line 3)") && notice.contains("restarted") && notice.contains("reloaded from browser storage"), "{notice}");
    assert!(!crash_notice("boom", false).contains("reloaded"), "no model, so nothing was reloaded");
    assert!(crash_limit_message("boom").contains("Reload the page"));
    let lost = device_notice("Destroyed: device destroyed");
    assert!(lost.contains("GPU device was lost (Destroyed: device destroyed)") && lost.contains("re-created") && lost.contains("reloaded"), "{lost}");
}

#[wasm_bindgen_test]
fn test_hooks_need_the_exact_query_flag() {
    for on in ["?test-hooks", "test-hooks", "?no-f16&test-hooks", "?test-hooks=1&storage=cache"] {
        assert!(test_hooks_enabled(on), "{on}");
    }
    for off in ["", "?", "?no-f16&no-subgroups", "?test-hooksx", "?x=test-hooks", "?my-test-hooks"] {
        assert!(!test_hooks_enabled(off), "{off}");
    }
}

#[wasm_bindgen_test]
fn the_answer_length_comes_from_the_query_within_bounds() {
    assert_eq!(max_new_tokens("?max-new-tokens=20"), 20);
    assert_eq!(max_new_tokens("no-f16&max-new-tokens=1&x"), 1);
    assert_eq!(max_new_tokens("?max-new-tokens=5&max-new-tokens=7"), 7, "the last one wins, as in a URL");
    assert_eq!(max_new_tokens(&format!("?max-new-tokens={MAX_NEW_TOKENS}")), MAX_NEW_TOKENS);
    for ignored in ["", "?", "?no-f16", "?max-new-tokens=", "?max-new-tokens=0", "?max-new-tokens=-3", "?max-new-tokens=2x",
        "?max-new-tokens=1025", "?max-new-tokens=99999999999999999999999", "?xmax-new-tokens=5", "?max-new-tokens=５"] {
        assert_eq!(max_new_tokens(ignored), MAX_NEW_TOKENS, "{ignored}");
    }
    // Any text (any Unicode, any number of `&` and `=`): never a panic, always within 1..=limit.
    let mut next = common::xorshift(0x9e37_79b9_7f4a_7c15);
    let pieces = ["max-new-tokens=", "&", "=", "?", "1", "0", "9", "é", "😀", "\u{0}", "-"];
    for _ in 0..2000 {
        let len = (next() % 12) as usize;
        let text: String = (0..len)
            .map(|_| match next() % 3 {
                0 => char::from_u32((next() % 0x11_0000) as u32).map(String::from).unwrap_or_default(),
                _ => pieces[(next() % pieces.len() as u64) as usize].to_string(),
            })
            .collect();
        let n = max_new_tokens(&text);
        assert!((1..=MAX_NEW_TOKENS).contains(&n), "{text:?} -> {n}");
    }
}

#[wasm_bindgen_test]
fn the_page_limit_counts_utf16_like_maxlength() {
    assert_eq!(clamp_units("café", 4), ("café", false));
    assert_eq!(clamp_units("日本", 2), ("日本", false));
    assert_eq!(clamp_units("日本語", 2), ("日本", true));
    // An emoji is two UTF-16 units: it fits whole or not at all.
    assert_eq!(clamp_units("a😀", 3), ("a😀", false));
    assert_eq!(clamp_units("a😀", 2), ("a", true));
    assert_eq!(clamp_units("", 0), ("", false));
    let long = "x".repeat(MAX_INSTRUCTION_CHARS + 1);
    let (kept, cut) = clamp_units(&long, MAX_INSTRUCTION_CHARS);
    assert!(cut && kept.chars().count() == MAX_INSTRUCTION_CHARS);
    // Within the page's limit means within the library's (characters <= UTF-16 units).
    let emoji = "😀".repeat(MAX_INSTRUCTION_CHARS);
    let (kept, _) = clamp_units(&emoji, MAX_INSTRUCTION_CHARS);
    assert!(kept.chars().count() <= MAX_INSTRUCTION_CHARS && kept.encode_utf16().count() <= MAX_INSTRUCTION_CHARS);
    assert!(cut_message(MAX_INSTRUCTION_CHARS).contains(&MAX_INSTRUCTION_CHARS.to_string()));
}

#[wasm_bindgen_test]
fn pasting_keeps_the_text_around_and_cuts_the_paste() {
    // Replace the selection "cats" (UTF-16 offsets 5..9) in "find cats now".
    assert_eq!(paste_into("find cats now", 5, 9, "猫と犬", 100), Pasted { value: "find 猫と犬 now".into(), caret: 8, cut: false });
    // Too long: the paste is cut so the text after the caret survives.
    assert_eq!(paste_into("ab", 1, 1, "xyz", 4), Pasted { value: "axyb".into(), caret: 3, cut: true });
    // Offsets after an emoji are UTF-16; one inside the pair rounds down to the character start.
    assert_eq!(paste_into("😀z", 2, 2, "y", 10).value, "😀yz");
    assert_eq!(paste_into("😀z", 1, 1, "y", 10).value, "y😀z");
    // Reversed or out-of-range selections do not panic.
    assert_eq!(paste_into("abc", 99, 1, "Z", 10).value, "aZ");
    // A value already over the limit (set by a script) is cut as a whole.
    let p = paste_into(&"a".repeat(10), 10, 10, "b", 5);
    assert_eq!((p.value.as_str(), p.cut), ("aaaaa", true));
    // The DOM paste of 2001+ characters into an empty box.
    let p = paste_into("", 0, 0, &"日本".repeat(1200), MAX_INSTRUCTION_CHARS);
    assert!(p.cut && p.value.chars().count() == MAX_INSTRUCTION_CHARS && p.caret as usize == MAX_INSTRUCTION_CHARS);
}

/// The first bytes of a PNG: signature and an IHDR chunk declaring `w` x `h` (the CRC is not
/// needed to read the size).
fn png_prefix(w: u32, h: u32) -> Vec<u8> {
    let mut b = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
    b.extend_from_slice(b"IHDR");
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    b
}

#[wasm_bindgen_test]
fn a_declared_huge_image_is_refused_before_decoding() {
    // The path image_input takes: header -> declared size -> the same size check as after decoding.
    let (w, h) = declared_size(&png_prefix(60000, 60000)).expect("a PNG header");
    assert_eq!((w, h), (60000, 60000));
    let rejection = check_dimensions(w, h).unwrap_err();
    assert_eq!(rejection, Rejection::TooManyPixels { width: 60000, height: 60000 });
    assert!(rejection.message("bomb.png").contains("limit is 8192"));
    let (w, h) = declared_size(&png_prefix(640, 480)).expect("a PNG header");
    assert!(check_dimensions(w, h).is_ok());
    // Not an image header at all: refused with the reason.
    let reason = declared_size(b"this is not a PNG").unwrap_err();
    let message = Rejection::BadHeader { reason: reason.clone() }.message("broken.png");
    assert!(message.contains("could not be decoded") && message.contains(&reason) && !message.contains('\n'), "{message}");
}

#[wasm_bindgen_test]
fn fault_messages_round_trip_in_this_protocol_version() {
    // The protocol changed shape: new messages need a new version (checked when this compiles).
    const { assert!(PROTOCOL_VERSION >= 2) };
    for m in [ToWorker::TestHook { action: "lose-device".into() }, ToWorker::TestHook { action: "panic".into() }] {
        assert_eq!(decode::<ToWorker>(PROTOCOL_VERSION, &encode(&m)).unwrap(), m);
    }
    for f in [
        FromWorker::Crashed { job: Some(7), message: "index out of bounds".into() },
        FromWorker::Crashed { job: None, message: String::new() },
        FromWorker::Notice { message: "The GPU device was lost".into() },
    ] {
        assert_eq!(decode::<FromWorker>(PROTOCOL_VERSION, &encode(&f)).unwrap(), f);
    }
    // A worker from the previous build (v1) is refused, not misread.
    assert!(decode::<FromWorker>(1, &encode(&FromWorker::Alive)).is_err());
}
