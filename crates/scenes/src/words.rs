//! Words on a scene (SCENES.md "Words"), so `<OCR>` and `<OCR_WITH_REGION>` have something to
//! read: short upper-case words from `data/words.txt` in the 5x7 font of `data/font5x7.txt` (both
//! files are read by the Python generator too), scaled by a whole factor, black or white, placed
//! where they touch no shape and no other word. Off unless asked for (`SceneOptions::words`).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::rng::Rng;
use crate::texts::{loc, quantize};

const FONT: &str = include_str!("../data/font5x7.txt");
const VOCABULARY: &str = include_str!("../data/words.txt");

/// Glyph cells.
pub const GLYPH_W: u32 = 5;
pub const GLYPH_H: u32 = 7;
/// Letter scales (pixels per glyph cell), drawn uniformly.
pub const SCALES: std::ops::RangeInclusive<u32> = 2..=3;
/// Ink colours, drawn with equal odds.
pub const INKS: [[u8; 3]; 2] = [[20, 20, 20], [235, 235, 235]];
/// Draws per word before the scene keeps fewer words.
pub const WORD_TRIES: usize = 50;

type Glyph = [[bool; GLYPH_W as usize]; GLYPH_H as usize];

/// The font's glyph for `c`: 7 rows of 5 cells, top first. The file is parsed once: rendering
/// asks for a glyph at every pixel of a word.
pub fn glyph(c: char) -> Option<Glyph> {
    static GLYPHS: OnceLock<Vec<(char, Glyph)>> = OnceLock::new();
    let glyphs = GLYPHS.get_or_init(|| {
        FONT.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                let mut name = parts.next()?.chars();
                let (letter, None) = (name.next()?, name.next()) else { return None };
                let mut out = [[false; GLYPH_W as usize]; GLYPH_H as usize];
                for (row, cells) in out.iter_mut().zip(parts) {
                    for (cell, ch) in row.iter_mut().zip(cells.chars()) {
                        *cell = ch == '#';
                    }
                }
                Some((letter, out))
            })
            .collect()
    });
    glyphs.iter().find(|(letter, _)| *letter == c).map(|(_, rows)| *rows)
}

/// The words a scene may show, in file order.
pub fn vocabulary() -> Vec<&'static str> {
    VOCABULARY.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

/// One word: its text, its top-left pixel corner, its scale and ink.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    pub x: u32,
    pub y: u32,
    pub scale: u32,
    pub ink: [u8; 3],
}

impl Word {
    /// A word read from a document (a scene JSON, the Python cases): a scale in 1..=16, text of
    /// the font's characters (at most 32), and the whole word inside a `size` scene, so the
    /// arithmetic below cannot overflow.
    pub fn check(&self, size: u32) -> Result<(), String> {
        if !(1..=16).contains(&self.scale) {
            return Err(format!("word {:?}: scale {} is not in 1..=16", self.text, self.scale));
        }
        if self.text.is_empty() || self.text.chars().count() > 32 || !self.text.chars().all(|c| glyph(c).is_some()) {
            return Err(format!("word {:?}: 1 to 32 characters of A-Z and 0-9", self.text));
        }
        let inside = |start: u32, extent: u32| start.checked_add(extent).is_some_and(|end| end <= size);
        if !inside(self.x, self.width()) || !inside(self.y, self.height()) {
            return Err(format!("word {:?} at ({}, {}) does not fit a {size}x{size} scene", self.text, self.x, self.y));
        }
        Ok(())
    }

    /// Letters are 5 cells wide with one cell between them.
    pub fn width(&self) -> u32 {
        let n = self.text.chars().count() as u32;
        (n * (GLYPH_W + 1)).saturating_sub(1) * self.scale
    }

    pub fn height(&self) -> u32 {
        GLYPH_H * self.scale
    }

    /// `[x1, y1, x2, y2]` in pixel edges.
    pub fn bbox(&self) -> [f64; 4] {
        [self.x as f64, self.y as f64, (self.x + self.width()) as f64, (self.y + self.height()) as f64]
    }

    /// Whether pixel `(px, py)` is ink: the glyph cell under it is set.
    pub fn inks(&self, px: u32, py: u32) -> bool {
        if px < self.x || py < self.y || px >= self.x + self.width() || py >= self.y + self.height() {
            return false;
        }
        let (cx, cy) = ((px - self.x) / self.scale, (py - self.y) / self.scale);
        let (letter, col) = ((cx / (GLYPH_W + 1)) as usize, cx % (GLYPH_W + 1));
        if col >= GLYPH_W {
            return false;
        }
        let Some(c) = self.text.chars().nth(letter) else { return false };
        glyph(c).is_some_and(|g| g[cy as usize][col as usize])
    }

    /// The word's quad as Florence-2 writes OCR regions: top-left, top-right, bottom-right,
    /// bottom-left, each `<loc_x><loc_y>`.
    pub fn quad_tokens(&self, size: u32) -> String {
        let [x1, y1, x2, y2] = self.bbox();
        [x1, y1, x2, y1, x2, y2, x1, y2].iter().map(|&v| loc(quantize(v, size))).collect()
    }
}

fn overlaps(a: [f64; 4], b: [f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// `n` words for a `size` scene whose shapes have `taken` boxes: per word and try, the text, the
/// scale, the ink, then a top-left corner that keeps the word inside `[1, S - 1]`; a word that
/// overlaps a shape's box or an earlier word is drawn again (`WORD_TRIES` times at most).
pub fn draw_words(rng: &mut Rng, size: u32, n: usize, taken: &[[f64; 4]]) -> Vec<Word> {
    let vocabulary = vocabulary();
    let mut words: Vec<Word> = Vec::with_capacity(n);
    for _ in 0..n {
        for _ in 0..WORD_TRIES {
            let text = vocabulary[rng.index(vocabulary.len())].to_string();
            let scale = rng.int(*SCALES.start() as i64, *SCALES.end() as i64) as u32;
            let ink = INKS[rng.index(INKS.len())];
            let mut word = Word { text, x: 0, y: 0, scale, ink };
            let (w, h) = (word.width(), word.height());
            if w + 2 > size || h + 2 > size {
                continue;
            }
            word.x = rng.int(1, (size - 1 - w) as i64) as u32;
            word.y = rng.int(1, (size - 1 - h) as i64) as u32;
            let b = word.bbox();
            if taken.iter().all(|t| !overlaps(*t, b)) && words.iter().all(|o| !overlaps(o.bbox(), b)) {
                words.push(word);
                break;
            }
        }
    }
    words
}

/// Word indices in reading order: quantized `y1`, then quantized `x1`, then drawing order.
pub fn reading_order(words: &[Word], size: u32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..words.len()).collect();
    order.sort_by_key(|&i| {
        let b = words[i].bbox();
        (quantize(b[1], size), quantize(b[0], size), i)
    });
    order
}

/// `<OCR>`: the words in reading order, one space between them.
pub fn ocr_answer(words: &[Word], size: u32) -> String {
    reading_order(words, size).into_iter().map(|i| words[i].text.as_str()).collect::<Vec<_>>().join(" ")
}

/// `<OCR_WITH_REGION>`: each word in reading order followed by its quad.
pub fn ocr_with_region_answer(words: &[Word], size: u32) -> String {
    reading_order(words, size).into_iter().map(|i| format!("{}{}", words[i].text, words[i].quad_tokens(size))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_has_glyphs_and_the_font_is_well_formed() {
        let vocabulary = vocabulary();
        assert_eq!(vocabulary.len(), 48);
        for w in &vocabulary {
            assert!(w.chars().all(|c| glyph(c).is_some()), "{w}");
        }
        for line in FONT.lines().filter(|l| !l.starts_with('#')) {
            let parts: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(parts.len(), 8, "{line}");
            assert!(parts[1..].iter().all(|r| r.len() == 5 && r.chars().all(|c| c == '#' || c == '.')), "{line}");
        }
        assert!(glyph('a').is_none() && glyph('?').is_none());
    }

    #[test]
    fn a_word_hand_checked() {
        // "IT" at scale 2 from (10, 20): 11 cells = 22 px wide, 14 high; I's top row is .###.
        let w = Word { text: "IT".into(), x: 10, y: 20, scale: 2, ink: INKS[0] };
        assert_eq!((w.width(), w.height()), (22, 14));
        assert_eq!(w.bbox(), [10.0, 20.0, 32.0, 34.0]);
        assert!(!w.inks(10, 20) && !w.inks(11, 21)); // I: top-left cell is '.'
        assert!(w.inks(12, 20) && w.inks(13, 21)); // I: second cell '#', 2x2 pixels
        assert!(!w.inks(20, 20) && !w.inks(21, 27)); // the gap column (cell 5)
        assert!(w.inks(22, 20) && w.inks(31, 21)); // T's top bar, cells 6..=10
        assert!(!w.inks(22, 22) && w.inks(26, 33)); // T's stem only below the bar
        assert!(!w.inks(32, 20) && !w.inks(9, 20) && !w.inks(12, 34));
        // 224 px: bins floor(v * 1000 / 224).
        assert_eq!(w.quad_tokens(224), "<loc_44><loc_89><loc_142><loc_89><loc_142><loc_151><loc_44><loc_151>");
    }

    #[test]
    fn drawn_words_stay_inside_and_apart() {
        let shapes = [[50.0, 50.0, 120.0, 120.0]];
        let mut placed = 0;
        for seed in 0..200 {
            let mut rng = Rng::new(seed);
            let words = draw_words(&mut rng, 224, 3, &shapes);
            placed += words.len();
            for (i, w) in words.iter().enumerate() {
                let b = w.bbox();
                assert!(b[0] >= 1.0 && b[1] >= 1.0 && b[2] <= 223.0 && b[3] <= 223.0, "{w:?}");
                assert!(!overlaps(b, shapes[0]), "{w:?}");
                assert!(words[..i].iter().all(|o| !overlaps(o.bbox(), b)));
                assert!(SCALES.contains(&w.scale) && INKS.contains(&w.ink));
            }
        }
        assert!(placed > 500, "{placed} of 600 words placed");
    }

    #[test]
    fn words_from_documents_are_checked() {
        let w = |text: &str, x, y, scale| Word { text: text.into(), x, y, scale, ink: INKS[0] };
        assert!(w("STOP", 0, 0, 2).check(224).is_ok());
        assert!(w("STOP", 0, 0, 0).check(224).unwrap_err().contains("scale"));
        assert!(w("stop", 0, 0, 2).check(224).unwrap_err().contains("A-Z"));
        assert!(w("", 0, 0, 2).check(224).is_err());
        assert!(w("STOP", 200, 0, 2).check(224).unwrap_err().contains("fit"));
        assert!(w("STOP", u32::MAX, 0, 2).check(224).is_err());
        assert!(w("STOP", 0, u32::MAX - 3, 16).check(224).is_err());
    }

    #[test]
    fn ocr_texts_follow_reading_order() {
        let w = |text: &str, x, y| Word { text: text.into(), x, y, scale: 2, ink: INKS[1] };
        let words = [w("STOP", 100, 50), w("EXIT", 10, 50), w("7", 5, 10)];
        assert_eq!(ocr_answer(&words, 224), "7 EXIT STOP");
        let region = ocr_with_region_answer(&words, 224);
        assert!(region.starts_with(&format!("7{}EXIT", words[2].quad_tokens(224))), "{region}");
        assert_eq!(ocr_answer(&[], 224), "");
    }
}
