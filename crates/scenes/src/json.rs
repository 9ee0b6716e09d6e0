//! A scene as a small JSON document, and the texts computed from a list of shape parameters, so
//! the Python generator can be cross-checked on the same shapes (`tests/fixtures/scenes/cases.json`).
//!
//! Written by `Scene::to_json`: `seed`, `size`, `background`, `shapes` (painting order; each with
//! `kind`, `colour`, `cx`, `cy`, `r`, `theta`, plus `class`, `rgb`, `bbox`, `bbox_bins`, `area`,
//! `polygon` (from the top, clockwise) and `index`), `words` (each `text`, `x`, `y`, `scale`, `ink`,
//! plus `bbox` and `bbox_bins`), `reading_order` and `texts`. Read back by `Scene::from_json`, which
//! needs only `size`, each shape's six parameters and each word's five (checked: `Word::check`).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::classes::{Colour, Kind};
use crate::scene::{Background, Scene};
use crate::shapes::Shape;
use crate::texts::quantize;
use crate::words::{ocr_answer, ocr_with_region_answer, Word};

/// Every answer and input of SCENES.md for one scene. Field names are shared with
/// `training/demo/scenes.py`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Texts {
    pub od: String,
    pub caption: String,
    pub grounding_input: String,
    pub grounding: String,
    /// `[query, answer]` pairs.
    pub ovd: Vec<(String, String)>,
    /// `[expression, answer]` pairs.
    pub res: Vec<(String, String)>,
    /// `<OCR>` and `<OCR_WITH_REGION>` (empty without words).
    #[serde(default)]
    pub ocr: String,
    #[serde(default)]
    pub ocr_with_region: String,
}

/// A shape's parameters as the JSON holds them; `rgb` is optional (the class colour when absent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShapeSpec {
    pub kind: Kind,
    pub colour: Colour,
    pub cx: f64,
    pub cy: f64,
    pub r: f64,
    pub theta: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rgb: Option<[u8; 3]>,
}

/// The parts of a scene document `from_json` reads (extra fields are ignored).
#[derive(Deserialize)]
struct SceneDoc {
    #[serde(default)]
    seed: u64,
    size: u32,
    #[serde(default)]
    background: Option<Background>,
    shapes: Vec<ShapeSpec>,
    #[serde(default)]
    words: Vec<Word>,
}

impl ShapeSpec {
    pub fn to_shape(&self) -> Shape {
        Shape::new(self.kind, self.colour, self.cx, self.cy, self.r, self.theta, self.rgb)
    }
}

impl Scene {
    pub fn texts(&self) -> Texts {
        Texts {
            od: self.od_answer(),
            caption: self.caption(),
            grounding_input: self.grounding_input(),
            grounding: self.grounding_answer(),
            ovd: self.ovd_queries().into_iter().map(|q| (self.ovd_answer(&q), q)).map(|(a, q)| (q, a)).collect(),
            res: self.referring_expressions().into_iter().filter_map(|e| Some((self.res_answer(&e)?, e))).map(|(a, e)| (e, a)).collect(),
            ocr: ocr_answer(&self.words, self.size),
            ocr_with_region: ocr_with_region_answer(&self.words, self.size),
        }
    }

    pub fn to_json(&self) -> Value {
        let order = self.reading_order();
        let shapes: Vec<Value> = self
            .shapes
            .iter()
            .enumerate()
            .map(|(i, s)| {
                json!({
                    "index": i,
                    "kind": s.kind,
                    "colour": s.colour,
                    "class": s.class().name(),
                    "rgb": s.rgb,
                    "cx": s.cx,
                    "cy": s.cy,
                    "r": s.r,
                    "theta": s.theta,
                    "bbox": s.bbox,
                    "bbox_bins": s.bbox.map(|v| quantize(v, self.size)),
                    "area": s.area,
                    "polygon": s.polygon_from_top(self.size),
                })
            })
            .collect();
        let words: Vec<Value> = self
            .words
            .iter()
            .map(|w| json!({ "text": w.text, "x": w.x, "y": w.y, "scale": w.scale, "ink": w.ink, "bbox": w.bbox(), "bbox_bins": w.bbox().map(|v| quantize(v, self.size)) }))
            .collect();
        json!({
            "seed": self.seed,
            "size": self.size,
            "background": self.background,
            "shapes": shapes,
            "words": words,
            "reading_order": order,
            "texts": self.texts(),
        })
    }

    /// A scene from a document with `size` and `shapes` (seed and background optional).
    pub fn from_json(text: &str) -> Result<Scene, String> {
        let doc: SceneDoc = serde_json::from_str(text).map_err(|e| format!("scene JSON: {e}"))?;
        for word in &doc.words {
            word.check(doc.size)?;
        }
        Ok(Scene::from_value(doc))
    }

    fn from_value(doc: SceneDoc) -> Scene {
        Scene {
            seed: doc.seed,
            size: doc.size,
            background: doc.background.unwrap_or_default(),
            shapes: doc.shapes.iter().map(ShapeSpec::to_shape).collect(),
            words: doc.words,
        }
    }
}

/// The texts for a JSON document `{size, shapes: [{kind, colour, cx, cy, r, theta}]}`.
pub fn texts_from_shapes(json: &str) -> Result<Texts, String> {
    Ok(Scene::from_json(json)?.texts())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_the_scene() {
        for seed in [1_000_000_000, 7, 123_456] {
            let scene = Scene::generate_with_words(seed, 224, 1..=4, 0..=3);
            let text = scene.to_json().to_string();
            let back = Scene::from_json(&text).unwrap();
            assert_eq!(back, scene);
            assert_eq!(back.render(), scene.render());
            let doc: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(serde_json::from_value::<Texts>(doc["texts"].clone()).unwrap(), scene.texts());
        }
    }

    #[test]
    fn minimal_document_and_field_names() {
        let doc = r#"{"size": 224, "shapes": [
            {"kind": "square", "colour": "blue", "cx": 112.0, "cy": 112.0, "r": 31.81980515339464, "theta": 0.0},
            {"kind": "circle", "colour": "red", "cx": 150, "cy": 40, "r": 15, "theta": 0}]}"#;
        let texts = texts_from_shapes(doc).unwrap();
        assert_eq!(texts.caption, "a red circle and a blue square.");
        assert!(texts.od.starts_with("red circle<loc_602><loc_111><loc_736><loc_245>blue square<loc_399>"), "{}", texts.od);
        let v = serde_json::to_value(&texts).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["caption", "grounding", "grounding_input", "ocr", "ocr_with_region", "od", "ovd", "res"]);
        assert_eq!(v["ovd"][0], json!(["red circles", texts.ovd[0].1]));
        assert_eq!(v["res"][0][0], "the red circle");
        assert!(Scene::from_json(r#"{"size": 224, "shapes": [{"kind": "hexagon"}]}"#).is_err());
    }
}
