//! The bicubic port against Pillow's own output (tests/reference/resize/make_resize_cases.py):
//! every byte must match.

use visionllm_florence2::preprocess::resize_bicubic_rgb;

#[test]
fn resize_equals_pillow_byte_for_byte() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/resize");
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!("{dir}/cases.json")).unwrap()).unwrap();
    let cases = meta["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let dim = |k: &str| c[k].as_u64().unwrap() as usize;
        let input = std::fs::read(format!("{dir}/{name}.in.rgb")).unwrap();
        let want = std::fs::read(format!("{dir}/{name}.out.rgb")).unwrap();
        let got = resize_bicubic_rgb(&input, dim("w"), dim("h"), dim("out_w"), dim("out_h"));
        let differing = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(got.len(), want.len(), "{name}");
        assert_eq!(differing, 0, "{name}: {differing} bytes differ from Pillow");
    }
}
