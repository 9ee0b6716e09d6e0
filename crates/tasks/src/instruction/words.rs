//! Word-level helpers for the instruction router: normalisation, phrase lists, counts, classes.
//!
//! Matching is ASCII-case-insensitive on a copy lowered with `to_ascii_lowercase` (same byte
//! offsets), so the phrases handed to the model keep the user's spelling.

/// The 80 COCO class names `<OD>` was trained on: when every requested phrase is one of these,
/// one `<OD>` call filtered to them replaces one open-vocabulary call per phrase.
pub const COCO_CLASSES: [&str; 80] = [
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
];

/// Singular, lower-case form used to compare labels with requested classes
/// ("People" -> "person", "buses" -> "bus", "knives" -> "knife", "boxes" -> "box").
pub fn singular(word: &str) -> String {
    let w = word.trim().to_lowercase();
    let irregular = [
        ("people", "person"),
        ("men", "man"),
        ("women", "woman"),
        ("children", "child"),
        ("mice", "mouse"),
        ("knives", "knife"),
        ("skis", "skis"),
        ("scissors", "scissors"),
        ("geese", "goose"),
        ("feet", "foot"),
        ("teeth", "tooth"),
        ("sheep", "sheep"),
        ("glasses", "glasses"),
        ("bus", "bus"),
    ];
    if let Some((_, s)) = irregular.iter().find(|(p, _)| *p == w) {
        return s.to_string();
    }
    // Only the last word of a phrase is plural ("traffic lights").
    let (head, last) = match w.rfind(' ') {
        Some(i) => (&w[..=i], &w[i + 1..]),
        None => ("", w.as_str()),
    };
    let last = if let Some(stem) = last.strip_suffix("ies").filter(|s| s.len() > 1) {
        format!("{stem}y")
    } else if let Some(stem) =
        ["ches", "shes", "sses", "xes", "zes", "ses"].iter().find_map(|suf| last.strip_suffix(suf).map(|s| (s, suf)))
    {
        format!("{}{}", stem.0, &stem.1[..stem.1.len() - 2])
    } else if last.ends_with('s') && !last.ends_with("ss") && !last.ends_with("us") && last.len() > 2 {
        last[..last.len() - 1].to_string()
    } else {
        last.to_string()
    };
    format!("{head}{last}")
}

/// The COCO class a phrase names, if any ("dogs" -> "dog", "the traffic lights" -> "traffic light").
pub fn coco_class(phrase: &str) -> Option<&'static str> {
    let s = singular(strip_leading_words(phrase, DETERMINERS));
    let alias = match s.as_str() {
        "people" | "man" | "woman" | "child" | "kid" | "boy" | "girl" | "human" | "pedestrian" => "person",
        "bike" => "bicycle",
        "motorbike" => "motorcycle",
        "plane" | "aeroplane" => "airplane",
        "sofa" => "couch",
        "table" => "dining table",
        "phone" | "mobile phone" | "cellphone" => "cell phone",
        "television" | "tv monitor" => "tv",
        "fridge" => "refrigerator",
        "ball" => "sports ball",
        "plant" => "potted plant",
        other => other,
    };
    COCO_CLASSES.iter().copied().find(|c| *c == alias)
}

pub const DETERMINERS: &[&str] =
    &["all", "every", "each", "any", "some", "the", "a", "an", "of", "my", "these", "those", "this", "that"];

/// Leading politeness and filler that never changes the task.
const FILLER_PREFIXES: &[&str] = &[
    "please",
    "can you",
    "could you",
    "would you",
    "will you",
    "kindly",
    "i want you to",
    "i'd like you to",
    "i would like you to",
    "try to",
    "help me",
    "go ahead and",
    "now",
];

/// Trailing words that only restate "in this image".
const FILLER_SUFFIXES: &[&str] = &[
    "please",
    "for me",
    "in the image",
    "in this image",
    "in the picture",
    "in this picture",
    "in the photo",
    "in this photo",
    "in the scene",
    "in this scene",
    "here",
    "in it",
    "on the image",
    "on this image",
];

/// Trims whitespace, closing punctuation and filler; collapses inner whitespace.
///
/// Linear in the input: the loop narrows one borrowed slice (each pass removes what it looked
/// at) and copies once at the end; copying per filler word made 1 MB of "please" quadratic.
pub fn normalize(instruction: &str) -> String {
    let collapsed: String = instruction.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut s: &str = &collapsed;
    loop {
        let before = s.len();
        s = s.trim_end_matches(['.', '!', '?', ',', ';', ':', ' ']);
        s = s.trim_start_matches([',', ' ']);
        if let Some(rest) = strip_word_prefix(s, FILLER_PREFIXES) {
            s = rest;
        }
        if let Some(rest) = strip_word_suffix(s, FILLER_SUFFIXES) {
            s = rest;
        }
        if s.len() == before {
            return s.to_string();
        }
    }
}

/// `s` without the first of `prefixes` that starts it as whole words (ASCII case-insensitive).
pub fn strip_word_prefix<'a>(s: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    prefixes.iter().find_map(|p| {
        let head = s.get(..p.len())?;
        let rest = &s[p.len()..];
        // A whole-word match: what follows must not continue the word ("ground:" yes, "grounded" no).
        let boundary = !rest.starts_with(|c: char| c.is_alphanumeric() || c == '\'' || c == '_');
        (head.eq_ignore_ascii_case(p) && boundary).then(|| rest.trim_start())
    })
}

fn strip_word_suffix<'a>(s: &'a str, suffixes: &[&str]) -> Option<&'a str> {
    suffixes.iter().find_map(|p| {
        let cut = s.len().checked_sub(p.len())?;
        let tail = s.get(cut..)?;
        let rest = &s[..cut];
        (tail.eq_ignore_ascii_case(p) && (rest.is_empty() || rest.ends_with(' '))).then(|| rest.trim_end())
    })
}

/// Repeatedly strips leading words in `words` ("all the dogs" -> "dogs").
pub fn strip_leading_words<'a>(mut s: &'a str, words: &[&str]) -> &'a str {
    while let Some(rest) = strip_word_prefix(s, words) {
        if rest.is_empty() {
            break;
        }
        s = rest;
    }
    s
}

/// Whether `lower` (already ASCII-lowercased) contains `word` as whole word(s).
pub fn has_word(lower: &str, word: &str) -> bool {
    find_word(lower, word).is_some()
}

pub fn has_any(lower: &str, words: &[&str]) -> bool {
    words.iter().any(|w| has_word(lower, w))
}

/// Byte offset of the first whole-word occurrence of `word` in `lower`.
pub fn find_word(lower: &str, word: &str) -> Option<usize> {
    let is_word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'\'';
    let bytes = lower.as_bytes();
    let mut from = 0;
    while let Some(off) = lower.get(from..)?.find(word) {
        let at = from + off;
        let end = at + word.len();
        let left_ok = at == 0 || !is_word_byte(bytes[at - 1]);
        let right_ok = end == bytes.len() || !is_word_byte(bytes[end]);
        if left_ok && right_ok {
            return Some(at);
        }
        from = at + 1;
        while !lower.is_char_boundary(from) {
            from += 1;
        }
    }
    None
}

/// "cats, dogs and the red car" -> ["cats", "dogs", "the red car"] (split on `,` `;` `&` `/`
/// and the words "and"/"or"/"as well as"; empty pieces dropped).
pub fn split_phrases(list: &str) -> Vec<String> {
    let mut pieces = vec![list.to_string()];
    for sep in [",", ";", "&", "/", " as well as ", " and ", " or ", " plus "] {
        pieces = pieces
            .iter()
            .flat_map(|p| {
                let lower = p.to_ascii_lowercase();
                let mut out = Vec::new();
                let mut start = 0;
                while let Some(off) = lower[start..].find(sep) {
                    out.push(p[start..start + off].to_string());
                    start += off + sep.len();
                }
                out.push(p[start..].to_string());
                out
            })
            .collect();
    }
    pieces
        .into_iter()
        .map(|p| strip_word_prefix(p.trim(), &["and", "or"]).unwrap_or(p.trim()).trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn number_word(word: &str) -> Option<usize> {
    const WORDS: [&str; 10] = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    word.parse().ok().or_else(|| WORDS.iter().position(|w| *w == word).map(|i| i + 1))
}

/// The most instances wanted: "up to 3", "at most five", "top 2", "3 cars", "a single dog",
/// "the largest ..." (1). `None` when no number is given.
pub fn max_instances(lower: &str) -> Option<usize> {
    let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied().unwrap_or("");
        let next_number = number_word(next);
        match *w {
            "up" if next == "to" => return words.get(i + 2).and_then(|n| number_word(n)),
            "most" | "top" | "first" | "max" | "maximum" if next_number.is_some() => return next_number,
            "single" | "largest" | "biggest" | "smallest" | "main" => return Some(1),
            _ => {}
        }
    }
    // A bare count before a noun ("find 3 cars"), but not inside "<loc_3>" or "at 3pm".
    words
        .iter()
        .zip(words.iter().skip(1))
        .find_map(|(w, next)| number_word(w).filter(|_| next.chars().all(|c| c.is_ascii_alphabetic())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(singular("People"), "person");
        assert_eq!(singular("traffic lights"), "traffic light");
        assert_eq!(singular("buses"), "bus");
        assert_eq!(singular("boxes"), "box");
        assert_eq!(singular("puppies"), "puppy");
        assert_eq!(singular("glass"), "glass");
        assert_eq!(coco_class("the dogs"), Some("dog"));
        assert_eq!(coco_class("red car"), None);
        assert_eq!(normalize("  Please find the dogs in this image? "), "find the dogs");
        assert_eq!(split_phrases("cats, dogs and the red car"), ["cats", "dogs", "the red car"]);
        assert_eq!(max_instances("find up to 3 cars"), Some(3));
        assert_eq!(max_instances("find three cars"), Some(3));
        assert_eq!(max_instances("find cars"), None);
        assert!(has_word("what's this", "what's"));
        assert!(!has_word("reader", "read"));
    }
}
