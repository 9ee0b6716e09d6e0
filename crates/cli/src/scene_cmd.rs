//! `visionllm scene`: one synthetic scene (training/demo/SCENES.md) as a PNG and a JSON document.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use visionllm_scenes::{Scene, DEFAULT_SIZE};

use crate::args::Args;

pub const USAGE: &str = "\
USAGE: visionllm scene --seed S [--size 224] [--shapes 1..4] [--words 0..2] --out DIR

Generates the synthetic scene of seed S and writes DIR/scene-S.png and DIR/scene-S.json: the seed,
size, background, every shape (kind, colour, class, rgb, centre, radius, rotation, box in pixels and
in bins, area, polygon from the top), the reading order, and every text of SCENES.md (od, caption,
grounding_input, grounding, ovd [[query, answer]...], res [[expression, answer]...], ocr,
ocr_with_region), with its words when asked for.

  --seed    the scene's seed (evaluation seeds start at 1000000000)
  --size    square image size in pixels (default 224)
  --shapes  shape count range, e.g. 1..4 (inclusive; also 1..=4 or 3); default 1..4
  --words   word count range for <OCR> (SCENES.md, Words), e.g. 0..2; default none
  --out     output directory (created if missing)";

/// `A..B`, `A..=B` (both inclusive) or `A`, for `--shapes`.
pub fn parse_shapes(text: &str) -> Result<RangeInclusive<usize>, String> {
    parse_range("--shapes", text)
}

/// `--words`: a range like `--shapes`, at most `MAX_WORDS`.
pub fn parse_words(text: &str) -> Result<RangeInclusive<usize>, String> {
    const MAX_WORDS: usize = 8;
    let range = parse_range("--words", text)?;
    if *range.end() > MAX_WORDS {
        return Err(format!("--words {text:?}: at most {MAX_WORDS} words a scene"));
    }
    Ok(range)
}

fn parse_range(name: &str, text: &str) -> Result<RangeInclusive<usize>, String> {
    let bad = || format!("{name} {text:?} is not a range like 1..4");
    let (lo, hi) = match text.split_once("..") {
        Some((lo, hi)) => (lo, hi.strip_prefix('=').unwrap_or(hi)),
        None => (text, text),
    };
    let (lo, hi): (usize, usize) = (lo.trim().parse().map_err(|_| bad())?, hi.trim().parse().map_err(|_| bad())?);
    if lo > hi || hi == 0 {
        return Err(bad());
    }
    Ok(lo..=hi)
}

pub fn parse_number<T: std::str::FromStr>(name: &str, value: Option<String>, default: T) -> Result<T, String> {
    match value {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("{name} {v:?} is not a number")),
    }
}

pub fn run(args: &mut Args) -> Result<(), String> {
    let seed: u64 = parse_number("--seed", Some(args.required("--seed")?), 0)?;
    let size: u32 = parse_number("--size", args.value("--size")?, DEFAULT_SIZE)?;
    let shapes = match args.value("--shapes")? {
        Some(s) => parse_shapes(&s)?,
        None => visionllm_scenes::DEFAULT_SHAPES,
    };
    let words = match args.value("--words")? {
        Some(w) => parse_words(&w)?,
        None => 0..=0,
    };
    let out = PathBuf::from(args.required("--out")?);
    std::mem::take(args).finish()?;
    if !(32..=4096).contains(&size) {
        return Err(format!("--size {size} is outside 32..=4096"));
    }
    let scene = Scene::generate_with_words(seed, size, shapes, words);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let png = out.join(format!("scene-{seed}.png"));
    let image = image::RgbImage::from_raw(size, size, scene.render()).expect("size * size * 3 bytes");
    image.save(&png).map_err(|e| format!("{}: {e}", png.display()))?;
    let json = out.join(format!("scene-{seed}.json"));
    let text = serde_json::to_string_pretty(&scene.to_json()).map_err(|e| e.to_string())?;
    std::fs::write(&json, text + "\n").map_err(|e| format!("{}: {e}", json.display()))?;
    println!("{}\n{}", png.display(), json.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{parse_shapes, parse_words};

    #[test]
    fn shape_ranges() {
        assert_eq!(parse_shapes("1..4"), Ok(1..=4));
        assert_eq!(parse_shapes("2..=3"), Ok(2..=3));
        assert_eq!(parse_shapes("3"), Ok(3..=3));
        assert!(parse_shapes("4..1").is_err() && parse_shapes("0").is_err() && parse_shapes("a..b").is_err());
        assert_eq!(parse_words("0..2"), Ok(0..=2));
        assert!(parse_words("0").is_err() && parse_words("1..9").unwrap_err().contains("at most 8"));
        assert!(parse_words("x").unwrap_err().starts_with("--words"));
    }
}
