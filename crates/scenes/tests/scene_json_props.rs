//! Scene documents with any word fields: `Scene::from_json` refuses what does not fit (never a
//! panic or an overflow), and what it accepts renders and gives its texts.

use proptest::prelude::*;
use visionllm_scenes::Scene;

proptest! {
    #[test]
    fn any_words_are_refused_or_render(text in prop_oneof!["[A-Z0-9]{0,40}", "\\PC{0,8}"], x in any::<u32>(), y in any::<u32>(), scale in any::<u32>(), small in any::<bool>(), size in 1u32..300) {
        // Half the cases near the scene so that some are accepted.
        let (x, y) = if small { (x % 64, y % 64) } else { (x, y) };
        let doc = serde_json::json!({ "size": size, "shapes": [], "words": [{ "text": text, "x": x, "y": y, "scale": scale % 20, "ink": [1, 2, 3] }] });
        if let Ok(scene) = Scene::from_json(&doc.to_string()) {
            let img = scene.render();
            prop_assert_eq!(img.len(), (size * size * 3) as usize);
            prop_assert_eq!(scene.texts().ocr, text);
        }
    }
}
