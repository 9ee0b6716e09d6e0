//! Export: COCO "results" JSON (what pycocotools' `loadRes` reads) and the transformers-shaped JSON.

use crate::geometry::{BoundingBox, ImageSize, Polygon};
use crate::parse::{LabelledBox, TaskAnswer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Category name -> COCO id. Known names keep their ids; new names get the next free id, so a
/// run over many images yields one consistent table. `Categories::coco()` starts from COCO's own
/// 80 classes (person=1 ... toothbrush=90), so that results score against COCO annotations.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Categories {
    pub entries: Vec<Category>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub id: u64,
    pub name: String,
}

/// Most categories a user's list may hold, and the longest name (characters).
pub const MAX_CATEGORIES: usize = 100_000;
pub const MAX_CATEGORY_NAME_CHARS: usize = 200;
/// Largest category id accepted from a file (pycocotools keeps ids in numpy int64; JSON readers
/// that use doubles are exact below 2^53).
pub const MAX_CATEGORY_ID: u64 = (1 << 53) - 1;

fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl Categories {
    /// From `(id, name)` pairs, e.g. the COCO dataset's categories.
    pub fn from_pairs<S: Into<String>>(pairs: impl IntoIterator<Item = (u64, S)>) -> Self {
        Self { entries: pairs.into_iter().map(|(id, name)| Category { id, name: name.into() }).collect() }
    }

    /// COCO's 80 detection classes with their ids.
    pub fn coco() -> Self {
        Self::from_pairs(crate::coco_classes::COCO_CATEGORIES)
    }

    /// A user's table (a dataset's categories) first, then COCO's classes whose name and id it
    /// does not already use: a user's `person` with id 7 stays 7, and COCO's id 1 is not given to
    /// a user's `cat`.
    pub fn with_coco(user: Categories) -> Self {
        let mut entries = user.entries;
        for (id, name) in crate::coco_classes::COCO_CATEGORIES {
            if !entries.iter().any(|c| c.id == id || key(&c.name) == name) {
                entries.push(Category { id, name: name.to_string() });
            }
        }
        Self { entries }
    }

    /// A categories list from a file: a COCO dataset (`{"categories": [{"id", "name"}, ...], ...}`)
    /// or the list itself. Ids are positive and unique, names non-empty, unique (ignoring case)
    /// and at most `MAX_CATEGORY_NAME_CHARS` characters.
    pub fn from_json(text: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum File {
            Dataset { categories: Vec<Entry> },
            List(Vec<Entry>),
        }
        #[derive(Deserialize)]
        struct Entry {
            id: u64,
            name: String,
        }
        let file: File = serde_json::from_str(text)
            .map_err(|e| format!("not a categories list ([{{\"id\": 1, \"name\": \"person\"}}, ...]) or a COCO file with one: {e}"))?;
        let list = match file {
            File::Dataset { categories } | File::List(categories) => categories,
        };
        if list.len() > MAX_CATEGORIES {
            return Err(format!("{} categories: at most {MAX_CATEGORIES}", list.len()));
        }
        let mut out = Categories::default();
        for Entry { id, name } in list {
            let shown: String = name.chars().take(40).collect();
            if id == 0 || id > MAX_CATEGORY_ID {
                return Err(format!("category {shown:?}: id {id} is not between 1 and {MAX_CATEGORY_ID}"));
            }
            if name.trim().is_empty() || name.chars().count() > MAX_CATEGORY_NAME_CHARS {
                return Err(format!("category {id}: the name must be 1 to {MAX_CATEGORY_NAME_CHARS} characters"));
            }
            if out.entries.iter().any(|c| c.id == id) {
                return Err(format!("category id {id} appears twice"));
            }
            if out.entries.iter().any(|c| key(&c.name) == key(&name)) {
                return Err(format!("category {shown:?} appears twice"));
            }
            out.entries.push(Category { id, name: name.trim().to_string() });
        }
        Ok(out)
    }

    /// The id of the entry named `name`: case and surrounding spaces ignored, and a plural the
    /// model wrote ("cars", "buses") finds its singular entry when no entry has the plural.
    fn find(&self, name: &str) -> Option<u64> {
        let k = key(name);
        let exact = self.entries.iter().find(|c| key(&c.name) == k);
        let plural = || {
            self.entries.iter().find(|c| {
                let c = key(&c.name);
                [format!("{c}s"), format!("{c}es")].contains(&k)
            })
        };
        exact.or_else(plural).map(|c| c.id)
    }

    /// Id for `name` (see `find`), adding it with the next free id when new.
    pub fn id_for(&mut self, name: &str) -> u64 {
        if let Some(id) = self.find(name) {
            return id;
        }
        let id = self.entries.iter().map(|c| c.id).max().unwrap_or(0).saturating_add(1);
        self.entries.push(Category { id, name: name.trim().to_string() });
        id
    }
}

/// One detection in COCO results format (`bbox` is `[x, y, width, height]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CocoResult {
    pub image_id: u64,
    pub category_id: u64,
    pub category_name: String,
    pub bbox: [f32; 4],
    pub area: f32,
    pub score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<Vec<Vec<f32>>>,
}

/// Where one detection lies in COCO's terms (shared by `coco_results` and
/// `coco_dataset::coco_dataset`): `[x, y, width, height]` clipped to the image, its area, and for
/// masks and quads the polygons, flat.
pub(crate) struct CocoGeometry {
    pub bbox: [f32; 4],
    pub area: f32,
    pub segmentation: Option<Vec<Vec<f32>>>,
}

/// A box, corners put in order and clipped to the image.
pub(crate) fn box_geometry(b: BoundingBox, size: ImageSize) -> CocoGeometry {
    let b = b.normalized().clipped(size);
    CocoGeometry { bbox: [b.x1, b.y1, b.width(), b.height()], area: b.area(), segmentation: None }
}

/// The parts of a mask (or a quad): those with at least 3 points (pycocotools rejects fewer),
/// clipped to the image; `None` when none is left.
pub(crate) fn polygon_geometry(parts: &[Polygon], size: ImageSize) -> Option<CocoGeometry> {
    let parts: Vec<Polygon> = parts.iter().filter(|p| p.points.len() >= 3).map(|p| p.clipped(size)).collect();
    let b = parts.iter().filter_map(Polygon::bounding_box).reduce(BoundingBox::union)?;
    Some(CocoGeometry {
        bbox: [b.x1, b.y1, b.width(), b.height()],
        area: parts.iter().map(Polygon::area).sum(),
        segmentation: Some(parts.iter().map(Polygon::to_flat).collect()),
    })
}

/// COCO results for one image. `box_scores` are the model's own confidences for the answer's
/// boxes, in the parser's order (`box_scores::scores_for`); a box without one, and every polygon,
/// gets `score`.
/// Boxes and polygons are clipped to the image; polygons with fewer than 3 points are left out
/// of `segmentation` (pycocotools rejects them), and instances with none left are skipped.
/// OCR lines become category "text" with their quad as the segmentation; plain text gives nothing.
pub fn coco_results(
    image_id: u64,
    answer: &TaskAnswer,
    size: ImageSize,
    categories: &mut Categories,
    box_scores: &[Option<f32>],
    score: f32,
) -> Vec<CocoResult> {
    let mut out = Vec::new();
    let mut boxes_seen = 0;
    let mut push_box = |b: &LabelledBox, categories: &mut Categories| {
        let own = box_scores.get(boxes_seen).copied().flatten();
        boxes_seen += 1;
        let g = box_geometry(b.bbox, size);
        out.push(CocoResult {
            image_id,
            category_id: categories.id_for(&b.label),
            category_name: b.label.clone(),
            bbox: g.bbox,
            area: g.area,
            score: own.unwrap_or(score),
            segmentation: None,
        });
    };
    let mut polygon_results = Vec::new();
    let mut push_polygons = |label: &str, parts: &[Polygon], categories: &mut Categories| {
        let Some(g) = polygon_geometry(parts, size) else {
            return;
        };
        polygon_results.push(CocoResult {
            image_id,
            category_id: categories.id_for(label),
            category_name: label.to_string(),
            bbox: g.bbox,
            area: g.area,
            score,
            segmentation: g.segmentation,
        });
    };
    match answer {
        TaskAnswer::Text { .. } => {}
        TaskAnswer::Boxes { boxes } => boxes.iter().for_each(|b| push_box(b, categories)),
        TaskAnswer::Ocr { lines } => {
            for line in lines {
                push_polygons("text", &[Polygon { points: line.quad.to_vec() }], categories);
            }
        }
        TaskAnswer::Polygons { instances } => instances.iter().for_each(|i| push_polygons(&i.label, &i.polygons, categories)),
        TaskAnswer::BoxesOrPolygons { boxes, instances } => {
            boxes.iter().for_each(|b| push_box(b, categories));
            instances.iter().for_each(|i| push_polygons(&i.label, &i.polygons, categories));
        }
    }
    out.extend(polygon_results);
    out
}

/// `{task: answer}` exactly shaped like transformers' `post_process_generation`.
pub fn transformers_json(task: &str, answer: &TaskAnswer) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(task.to_string(), answer.to_transformers_json());
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::post_process_generation;
    use crate::{parse, Task};

    #[test]
    fn coco_boxes_and_polygons() {
        let size = ImageSize::new(1000, 1000);
        let mut cats = Categories::from_pairs([(3, "car")]);
        let od =
            parse(Task::ObjectDetection, "car<loc_10><loc_20><loc_30><loc_40>dog<loc_0><loc_0><loc_1><loc_1>", size);
        let res = coco_results(7, &od, size, &mut cats, &[], 1.0);
        assert_eq!(res[0].category_id, 3);
        assert_eq!(res[0].bbox, [10.0, 20.0, 20.0, 20.0]);
        assert_eq!(res[1].category_id, 4);
        let seg = parse(
            Task::ReferringExpressionSegmentation,
            "<poly><loc_0><loc_0><loc_100><loc_0><loc_100><loc_100></poly>",
            size,
        );
        let res = coco_results(7, &seg, size, &mut cats, &[], 0.5);
        assert_eq!(res.len(), 1);
        assert_eq!(res[0].segmentation.as_ref().unwrap()[0].len(), 6);
        assert_eq!(res[0].category_name, "");
        let json = serde_json::to_value(&res).unwrap();
        assert_eq!(json[0]["score"], 0.5);
    }

    #[test]
    fn coco_classes_keep_cocos_ids_and_other_labels_follow() {
        let mut cats = Categories::coco();
        assert_eq!(cats.id_for("person"), 1);
        assert_eq!(cats.id_for(" Car "), 3);
        assert_eq!(cats.id_for("cars"), 3, "a plural finds its singular");
        assert_eq!(cats.id_for("buses"), 6);
        assert_eq!(cats.id_for("toothbrush"), 90);
        assert_eq!(cats.id_for("red circle"), 91, "new labels get ids past COCO's");
        assert_eq!(cats.id_for("red circles"), 91);
        assert_eq!(cats.id_for("blue square"), 92);
        assert!(cats.entries.contains(&Category { id: 91, name: "red circle".into() }));
    }

    #[test]
    fn a_users_categories_come_first_and_coco_fills_in() {
        let user = Categories::from_json(r#"{"images": [], "categories": [{"id": 1, "name": "cat"}, {"id": 7, "name": "Person"}]}"#).unwrap();
        let mut cats = Categories::with_coco(user);
        assert_eq!(cats.id_for("cat"), 1, "the user's id, not COCO's 17");
        assert_eq!(cats.id_for("person"), 7);
        assert_eq!(cats.id_for("car"), 3, "COCO's id where the user's list says nothing");
        assert!(cats.entries.iter().all(|c| c.id != 17), "COCO's cat is the user's cat");
        let list = Categories::from_json(r#"[{"id": 100, "name": "widget"}]"#).unwrap();
        assert_eq!(list.entries, vec![Category { id: 100, name: "widget".into() }]);
    }

    #[test]
    fn bad_categories_lists_say_what_is_wrong() {
        for (text, says) in [
            ("", "not a categories list"),
            ("{}", "not a categories list"),
            (r#"[{"id": 0, "name": "a"}]"#, "id 0"),
            (r#"[{"id": -1, "name": "a"}]"#, "not a categories list"),
            (r#"[{"id": 9007199254740992, "name": "a"}]"#, "not between"),
            (r#"[{"id": 1, "name": " "}]"#, "1 to 200 characters"),
            (r#"[{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]"#, "appears twice"),
            (r#"[{"id": 1, "name": "a"}, {"id": 2, "name": "A "}]"#, "appears twice"),
        ] {
            let e = Categories::from_json(text).expect_err(text);
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn model_scores_go_to_their_boxes() {
        let size = ImageSize::new(1000, 1000);
        let od = parse(Task::ObjectDetection, "car<loc_10><loc_20><loc_30><loc_40>dog<loc_0><loc_0><loc_1><loc_1>", size);
        let res = coco_results(1, &od, size, &mut Categories::coco(), &[Some(0.25), None], 1.0);
        assert_eq!((res[0].category_id, res[0].score), (3, 0.25));
        assert_eq!((res[1].category_id, res[1].score), (18, 1.0), "no score of its own: the fallback");
    }

    #[test]
    fn transformers_json_matches_post_process() {
        let size = ImageSize::new(640, 480);
        let text = "car<loc_54><loc_375><loc_906><loc_707>";
        let answer = parse(Task::ObjectDetection, text, size);
        assert_eq!(transformers_json("<OD>", &answer), post_process_generation("<OD>", text, size));
        assert_eq!(
            transformers_json("<OD>", &answer).to_string(),
            r#"{"<OD>":{"bboxes":[[34,180,580,339]],"labels":["car"]}}"#
        );
    }
}
