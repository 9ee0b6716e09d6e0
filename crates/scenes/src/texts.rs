//! The answer texts exactly as the demo model is trained to write them (SCENES.md "Texts"), and
//! the inputs of the tasks that take one. Answers carry no `<s>`/`</s>`: the tokenizer adds them.

use crate::classes::{Class, Colour, Kind};
use crate::scene::Scene;

/// Florence-2's bins: `clamp(floor(v * 1000 / S), 0, 999)` (NaN -> 0).
pub fn quantize(v: f64, size: u32) -> u32 {
    let bin = (v * 1000.0 / size as f64).floor();
    if bin.is_nan() {
        0
    } else {
        bin.clamp(0.0, 999.0) as u32
    }
}

pub fn loc(bin: u32) -> String {
    format!("<loc_{bin}>")
}

/// `<loc_x1><loc_y1><loc_x2><loc_y2>`.
pub fn box_tokens(bbox: [f64; 4], size: u32) -> String {
    bbox.iter().map(|&v| loc(quantize(v, size))).collect()
}

/// "two" .. "ten" (counts above ten are written as digits).
pub fn count_word(n: usize) -> String {
    const WORDS: [&str; 11] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    WORDS.get(n).map_or_else(|| n.to_string(), |w| w.to_string())
}

/// `X`, `X and Y`, `X, Y and Z`.
pub fn join_phrases(phrases: &[String]) -> String {
    match phrases {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// What an open-vocabulary query selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    pub colour: Option<Colour>,
    pub kind: Option<Kind>,
}

impl Query {
    /// One of `"{colour} {shape}s"`, `"{colour} {shape}"`, `"{shape}s"`, `"{colour} shapes"`.
    pub fn parse(text: &str) -> Option<Query> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            [c, "shapes"] => Some(Query { colour: Some(Colour::from_name(c)?), kind: None }),
            [c, k] => {
                let kind = Kind::from_name(k).or_else(|| Kind::from_name(k.strip_suffix('s')?))?;
                Some(Query { colour: Some(Colour::from_name(c)?), kind: Some(kind) })
            }
            [k] => Some(Query { colour: None, kind: Some(Kind::from_name(k.strip_suffix('s')?)?) }),
            _ => None,
        }
    }

    pub fn matches(self, class: Class) -> bool {
        self.colour.is_none_or(|c| c == class.colour) && self.kind.is_none_or(|k| k == class.kind)
    }
}

/// The label an open-vocabulary answer uses: the input with the last word's trailing `s` dropped.
pub fn singular(query: &str) -> String {
    let q = query.trim();
    q.strip_suffix('s').unwrap_or(q).to_string()
}

/// Area margin of the biggest/smallest referring expressions.
pub const EXTREME_MARGIN: f64 = 1.3;

impl Scene {
    fn class_instances(&self) -> Vec<(Class, Vec<usize>)> {
        let order = self.reading_order();
        Class::all()
            .map(|class| (class, order.iter().copied().filter(|&i| self.shapes[i].class() == class).collect::<Vec<_>>()))
            .filter(|(_, v)| !v.is_empty())
            .collect()
    }

    fn box_text(&self, i: usize) -> String {
        box_tokens(self.shapes[i].bbox, self.size)
    }

    /// `<OD>`: every instance in reading order, `"{colour} {shape}"` then its box.
    pub fn od_answer(&self) -> String {
        self.reading_order().into_iter().map(|i| format!("{}{}", self.shapes[i].class().name(), self.box_text(i))).collect()
    }

    /// The caption's phrases in class order, each with its instances in reading order.
    pub fn caption_phrases(&self) -> Vec<(String, Vec<usize>)> {
        self.class_instances()
            .into_iter()
            .map(|(class, inst)| {
                let phrase = if inst.len() == 1 {
                    format!("a {}", class.name())
                } else {
                    format!("{} {}s", count_word(inst.len()), class.name())
                };
                (phrase, inst)
            })
            .collect()
    }

    /// `<CAPTION>`: e.g. `a red circle and two blue squares.`
    pub fn caption(&self) -> String {
        let phrases: Vec<String> = self.caption_phrases().into_iter().map(|(p, _)| p).collect();
        format!("{}.", join_phrases(&phrases))
    }

    /// `<CAPTION_TO_PHRASE_GROUNDING>` input: the caption.
    pub fn grounding_input(&self) -> String {
        self.caption()
    }

    /// Each caption phrase followed by the boxes of its instances in reading order.
    pub fn grounding_answer(&self) -> String {
        self.caption_phrases()
            .into_iter()
            .map(|(phrase, inst)| format!("{phrase}{}", inst.iter().map(|&i| self.box_text(i)).collect::<String>()))
            .collect()
    }

    /// Instances an open-vocabulary query selects, in reading order (empty for an unknown query).
    pub fn ovd_matches(&self, query: &str) -> Vec<usize> {
        let Some(q) = Query::parse(query) else { return vec![] };
        self.reading_order().into_iter().filter(|&i| q.matches(self.shapes[i].class())).collect()
    }

    /// `<OPEN_VOCABULARY_DETECTION>` answer: the singular of the query then the box, for every
    /// match; `""` (just `</s>`) when nothing matches.
    pub fn ovd_answer(&self, query: &str) -> String {
        let label = singular(query);
        self.ovd_matches(query).into_iter().map(|i| format!("{label}{}", self.box_text(i))).collect()
    }

    /// A fixed list of queries for this scene: for every class present (class order) its plural and
    /// singular; every shape present (`"{shape}s"`); every colour present (`"{colour} shapes"`);
    /// then the first absent class's plural, which matches nothing.
    pub fn ovd_queries(&self) -> Vec<String> {
        let classes: Vec<Class> = self.class_instances().into_iter().map(|(c, _)| c).collect();
        let mut out: Vec<String> = classes.iter().flat_map(|c| [format!("{}s", c.name()), c.name()]).collect();
        out.extend(Kind::ALL.into_iter().filter(|k| classes.iter().any(|c| c.kind == *k)).map(|k| format!("{}s", k.name())));
        out.extend(
            Colour::ALL.into_iter().filter(|k| classes.iter().any(|c| c.colour == *k)).map(|c| format!("{} shapes", c.name())),
        );
        out.extend(Class::all().find(|c| !classes.contains(c)).map(|c| format!("{}s", c.name())));
        out
    }

    /// The single instance a referring expression picks, or `None` when it is not a valid
    /// expression for this scene (SCENES.md: unique class, or an extreme area by a 1.3x margin).
    pub fn res_target(&self, expr: &str) -> Option<usize> {
        let words: Vec<&str> = expr.split_whitespace().collect();
        let ["the", a, b] = words.as_slice() else { return None };
        if let (Some(colour), Some(kind)) = (Colour::from_name(a), Kind::from_name(b)) {
            let class = Class { colour, kind };
            let inst: Vec<usize> = (0..self.shapes.len()).filter(|&i| self.shapes[i].class() == class).collect();
            return (inst.len() == 1).then(|| inst[0]);
        }
        let biggest = match *a {
            "biggest" => true,
            "smallest" => false,
            _ => return None,
        };
        let candidates: Vec<usize> = match *b {
            "shape" => (0..self.shapes.len()).collect(),
            k => {
                let kind = Kind::from_name(k)?;
                (0..self.shapes.len()).filter(|&i| self.shapes[i].kind == kind).collect()
            }
        };
        if candidates.len() < 2 {
            return None;
        }
        let mut by_area = candidates;
        // Descending for "biggest", ascending for "smallest"; equal areas keep painting order.
        by_area.sort_by(|&i, &j| {
            let o = self.shapes[i].area.total_cmp(&self.shapes[j].area);
            if biggest {
                o.reverse()
            } else {
                o
            }
        });
        let (first, runner) = (self.shapes[by_area[0]].area, self.shapes[by_area[1]].area);
        let clear = if biggest { first >= EXTREME_MARGIN * runner } else { first * EXTREME_MARGIN <= runner };
        clear.then_some(by_area[0])
    }

    /// Every valid referring expression, in a fixed order: unique classes (class order), then
    /// biggest/smallest per shape (shape order), then the biggest/smallest shape.
    pub fn referring_expressions(&self) -> Vec<String> {
        let mut candidates: Vec<String> = Class::all().map(|c| format!("the {}", c.name())).collect();
        for kind in Kind::ALL.map(Kind::name).into_iter().chain(["shape"]) {
            candidates.extend(["biggest", "smallest"].map(|w| format!("the {w} {kind}")));
        }
        candidates.into_iter().filter(|e| self.res_target(e).is_some()).collect()
    }

    /// The polygon target of shape `i`: vertices from the topmost, clockwise, as `<loc_x><loc_y>`.
    pub fn polygon_tokens(&self, i: usize) -> String {
        self.shapes[i]
            .polygon_from_top(self.size)
            .iter()
            .map(|&[x, y]| format!("{}{}", loc(quantize(x, self.size)), loc(quantize(y, self.size))))
            .collect()
    }

    /// `<REFERRING_EXPRESSION_SEGMENTATION>` answer: the polygon of the instance `expr` picks.
    pub fn res_answer(&self, expr: &str) -> Option<String> {
        self.res_target(expr).map(|i| self.polygon_tokens(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::Shape;

    fn sq(colour: Colour, cx: f64, cy: f64, half: f64) -> Shape {
        Shape::new(Kind::Square, colour, cx, cy, half * 2f64.sqrt(), 0.0, None)
    }

    fn circle(colour: Colour, cx: f64, cy: f64, r: f64) -> Shape {
        Shape::new(Kind::Circle, colour, cx, cy, r, 0.0, None)
    }

    #[test]
    fn quantization_follows_florence() {
        assert_eq!(quantize(0.0, 224), 0);
        assert_eq!(quantize(1.0, 250), 4); // exactly on a bin edge
        assert_eq!(quantize(0.999, 250), 3);
        assert_eq!(quantize(7.0, 224), 31); // 31.25
        assert_eq!(quantize(112.0, 224), 500);
        assert_eq!(quantize(223.9, 224), 999);
        assert_eq!(quantize(224.0, 224), 999); // clamped
        assert_eq!(quantize(-1.0, 224), 0);
        assert_eq!(quantize(f64::NAN, 224), 0);
        assert_eq!(box_tokens([10.0, 20.0, 30.0, 40.0], 224), "<loc_44><loc_89><loc_133><loc_178>");
    }

    #[test]
    fn caption_grammar() {
        let s = Scene::from_shapes(
            224,
            vec![sq(Colour::Blue, 50.0, 50.0, 10.0), circle(Colour::Red, 150.0, 150.0, 15.0), sq(Colour::Blue, 150.0, 40.0, 10.0)],
        );
        assert_eq!(s.caption(), "a red circle and two blue squares.");
        assert_eq!(s.grounding_input(), s.caption());
        let one = Scene::from_shapes(224, vec![sq(Colour::Green, 50.0, 50.0, 10.0)]);
        assert_eq!(one.caption(), "a green square.");
        let many = Scene::from_shapes(
            224,
            vec![
                Shape::new(Kind::Star, Colour::Yellow, 30.0, 30.0, 16.0, 0.0, None),
                sq(Colour::Red, 100.0, 30.0, 10.0),
                Shape::new(Kind::Triangle, Colour::Red, 180.0, 30.0, 16.0, 0.0, None),
                circle(Colour::Yellow, 30.0, 120.0, 16.0),
                circle(Colour::Green, 100.0, 120.0, 16.0),
                circle(Colour::Green, 180.0, 120.0, 16.0),
                circle(Colour::Green, 30.0, 190.0, 16.0),
            ],
        );
        assert_eq!(
            many.caption(),
            "three green circles, a yellow circle, a red square, a red triangle and a yellow star."
        );
        assert_eq!(join_phrases(&["x".into(), "y".into()]), "x and y");
        assert_eq!(count_word(4), "four");
    }

    #[test]
    fn od_and_grounding_answers() {
        // Square at 40..60 x 40..60; circle 135..165 x 135..165; square 140..160 x 30..50.
        let s = Scene::from_shapes(
            224,
            vec![sq(Colour::Blue, 50.0, 50.0, 10.0), circle(Colour::Red, 150.0, 150.0, 15.0), sq(Colour::Blue, 150.0, 40.0, 10.0)],
        );
        assert_eq!(s.reading_order(), vec![2, 0, 1]);
        let b2 = box_tokens(s.shapes[2].bbox, 224);
        let b0 = box_tokens(s.shapes[0].bbox, 224);
        let b1 = "<loc_602><loc_602><loc_736><loc_736>";
        assert_eq!(box_tokens(s.shapes[1].bbox, 224), b1);
        assert_eq!(s.od_answer(), format!("blue square{b2}blue square{b0}red circle{b1}"));
        assert_eq!(s.grounding_answer(), format!("a red circle{b1}two blue squares{b2}{b0}"));
    }

    #[test]
    fn ovd_labels_are_singular_and_missing_classes_answer_nothing() {
        let s = Scene::from_shapes(
            224,
            vec![sq(Colour::Blue, 50.0, 50.0, 10.0), circle(Colour::Red, 150.0, 150.0, 15.0), sq(Colour::Blue, 150.0, 40.0, 10.0)],
        );
        let (b0, b1, b2) = (box_tokens(s.shapes[0].bbox, 224), box_tokens(s.shapes[1].bbox, 224), box_tokens(s.shapes[2].bbox, 224));
        assert_eq!(s.ovd_answer("blue squares"), format!("blue square{b2}blue square{b0}"));
        assert_eq!(s.ovd_answer("blue square"), format!("blue square{b2}blue square{b0}"));
        assert_eq!(s.ovd_answer("circles"), format!("circle{b1}"));
        assert_eq!(s.ovd_answer("red shapes"), format!("red shape{b1}"));
        assert_eq!(s.ovd_answer("green stars"), "");
        assert_eq!(s.ovd_answer("purple things"), "");
        assert_eq!(singular("blue squares"), "blue square");
        assert_eq!(singular("red circle"), "red circle");
        assert_eq!(
            s.ovd_queries(),
            ["red circles", "red circle", "blue squares", "blue square", "circles", "squares", "red shapes", "blue shapes", "green circles"]
        );
    }

    #[test]
    fn referring_expressions_need_uniqueness_or_a_clear_margin() {
        // Areas: circle r 20 -> 1256.6; squares 400 (half 10) and 300.4 (half 8.667); triangle.
        let s = Scene::from_shapes(
            224,
            vec![
                circle(Colour::Red, 50.0, 50.0, 20.0),
                sq(Colour::Blue, 150.0, 50.0, 10.0),
                sq(Colour::Blue, 150.0, 150.0, 8.667),
                sq(Colour::Green, 50.0, 150.0, 12.0),
            ],
        );
        // Red circle and green square unique; blue squares are two.
        assert_eq!(s.res_target("the red circle"), Some(0));
        assert_eq!(s.res_target("the green square"), Some(3));
        assert_eq!(s.res_target("the blue square"), None);
        assert_eq!(s.res_target("the yellow star"), None);
        // Squares: 576, 400, 300.5: biggest 576 >= 1.3 * 400 = 520 yes; smallest 300.5 <= 400 / 1.3 = 307.7 yes.
        assert_eq!(s.res_target("the biggest square"), Some(3));
        assert_eq!(s.res_target("the smallest square"), Some(2));
        // One circle only: no biggest/smallest circle. Shapes: biggest circle 1256.6 >= 1.3 * 576.
        assert_eq!(s.res_target("the biggest circle"), None);
        assert_eq!(s.res_target("the biggest shape"), Some(0));
        assert_eq!(s.res_target("the smallest shape"), Some(2));
        assert_eq!(
            s.referring_expressions(),
            ["the red circle", "the green square", "the biggest square", "the smallest square", "the biggest shape", "the smallest shape"]
        );
        // Without the margin: squares 400 and 361 (ratio 1.108): neither extreme is clear.
        let close = Scene::from_shapes(224, vec![sq(Colour::Blue, 50.0, 50.0, 10.0), sq(Colour::Red, 150.0, 50.0, 9.5)]);
        assert_eq!(close.res_target("the biggest square"), None);
        assert_eq!(close.res_target("the smallest shape"), None);
        assert_eq!(close.referring_expressions(), ["the red square", "the blue square"]);
        // A clear margin both ways: 576 vs 400 (ratio 1.44).
        let clear = Scene::from_shapes(224, vec![sq(Colour::Blue, 50.0, 50.0, 12.0), sq(Colour::Blue, 150.0, 50.0, 10.0)]);
        assert_eq!(clear.res_target("the biggest square"), Some(0));
        assert_eq!(clear.res_target("the smallest shape"), Some(1));
        assert_eq!(s.res_target("the tallest shape"), None);
        assert_eq!(s.res_target("a red circle"), None);
    }

    #[test]
    fn res_answer_is_the_polygon_from_the_top() {
        let s = Scene::from_shapes(224, vec![sq(Colour::Blue, 112.0, 112.0, 22.5)]);
        // Corners 89.5 and 134.5 -> bins 399 (399.55) and 600 (600.45); top-left first, clockwise.
        assert_eq!(
            s.res_answer("the blue square").unwrap(),
            "<loc_399><loc_399><loc_600><loc_399><loc_600><loc_600><loc_399><loc_600>"
        );
        assert_eq!(s.res_answer("the red square"), None);
    }
}
