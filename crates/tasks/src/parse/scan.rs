//! Text primitives that reproduce the reference's Python regexes without a regex engine.
//!
//! The reference parses with `re` on `str`, so "digit" means any Unicode decimal digit (`\d`,
//! and `int()` reads them), "whitespace" means `str.isspace()` (`\s`, `strip()`), and `.` is
//! any character but `\n`. Everything here works on byte offsets of valid UTF-8 and never
//! slices inside a character: every offset handed out is a char boundary.

/// First code point of every run of ten Unicode decimal digits (category Nd, Unicode 14.0,
/// as in Python 3.11); the digit value is the offset from it. Checked against the fixture.
pub const DECIMAL_DIGIT_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6, 0xe50, 0xed0,
    0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620,
    0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10, 0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0,
    0x112f0, 0x11450, 0x114d0, 0x11650, 0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60,
    0x16ac0, 0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

/// Value of `c` if Python's `\d` matches it.
pub fn decimal_digit(c: char) -> Option<u32> {
    if c.is_ascii_digit() {
        return Some(c as u32 - '0' as u32);
    }
    let code = c as u32;
    // The table is sorted: find the last run starting at or before `code`.
    let idx = DECIMAL_DIGIT_ZEROS.partition_point(|&zero| zero <= code).checked_sub(1)?;
    let offset = code - DECIMAL_DIGIT_ZEROS[idx];
    (offset < 10).then_some(offset)
}

/// Python's `str.isspace()`: Unicode White_Space plus the four ASCII separators U+001C..U+001F.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` with no argument.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// `s.encode("ascii", "ignore").decode("ascii")`: the reference reduces box labels to ASCII.
pub fn ascii_only(s: &str) -> String {
    s.chars().filter(char::is_ascii).collect()
}

/// The parsers first drop these three strings, in this order, like the reference
/// (sequential `str.replace`, so `"<<s>/s>"` disappears entirely).
pub fn drop_sequence_tokens(text: &str) -> String {
    text.replace("<s>", "").replace("</s>", "").replace("<pad>", "")
}

/// A token the coordinate regexes recognise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordToken {
    /// `<loc_N>`; N saturates instead of overflowing (the quantizer clamps it to 999 anyway).
    Loc(u32),
    /// `<sep>` between polygons.
    Sep,
    /// `<poly>`
    PolyStart,
    /// `</poly>`
    PolyEnd,
}

/// `<loc_\d+>` at byte `at`: its bin and the byte just past it.
pub fn loc_at(s: &str, at: usize) -> Option<(u32, usize)> {
    let rest = s.get(at..)?.strip_prefix("<loc_")?;
    let mut value: u32 = 0;
    let mut digits = 0usize;
    for (i, c) in rest.char_indices() {
        if let Some(d) = decimal_digit(c) {
            value = value.saturating_mul(10).saturating_add(d);
            digits += 1;
        } else if c == '>' && digits > 0 {
            return Some((value, at + "<loc_".len() + i + 1));
        } else {
            return None;
        }
    }
    None
}

/// `<loc_\d+>|<sep>|<poly>|</poly>` at byte `at` (the polygon parser's alternation).
pub fn coord_token_at(s: &str, at: usize) -> Option<(CoordToken, usize)> {
    if let Some((bin, end)) = loc_at(s, at) {
        return Some((CoordToken::Loc(bin), end));
    }
    let rest = s.get(at..)?;
    [("<sep>", CoordToken::Sep), ("<poly>", CoordToken::PolyStart), ("</poly>", CoordToken::PolyEnd)]
        .into_iter()
        .find(|(text, _)| rest.starts_with(text))
        .map(|(text, token)| (token, at + text.len()))
}

/// Which tokens a run may be made of: only `<loc_k>` (boxes) or also `<sep>`/`<poly>`/`</poly>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunTokens {
    Locs,
    LocsAndPolygonMarks,
}

impl RunTokens {
    fn token_at(self, s: &str, at: usize) -> Option<(CoordToken, usize)> {
        match self {
            RunTokens::Locs => loc_at(s, at).map(|(bin, end)| (CoordToken::Loc(bin), end)),
            RunTokens::LocsAndPolygonMarks => coord_token_at(s, at),
        }
    }

    /// Length (in tokens) and end of the run of consecutive tokens starting at `at`.
    pub fn run_at(self, s: &str, at: usize) -> (usize, usize) {
        let (mut count, mut end) = (0, at);
        while let Some((_, next)) = self.token_at(s, end) {
            count += 1;
            end = next;
        }
        (count, end)
    }

    /// The tokens of `s[at..]` while they last.
    pub fn tokens(self, s: &str, mut at: usize) -> Vec<CoordToken> {
        let mut out = Vec::new();
        while let Some((token, next)) = self.token_at(s, at) {
            out.push(token);
            at = next;
        }
        out
    }
}

/// A match of `([^<]+(?:TOKEN){4,})` (with `allow_empty_phrase`: `(?:(?:TOKEN){4,})`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhraseRun {
    pub start: usize,
    /// Where the run of at least four tokens starts (== `start` without a phrase).
    pub tokens_start: usize,
    pub end: usize,
}

/// All non-overlapping matches, left to right, as `re.findall` finds them.
///
/// With a phrase: a non-empty run of non-`<` characters must be followed directly by at least four
/// tokens; a greedy `[^<]+` can only end at a `<`, so each stretch between `<`s is tried once.
/// Without: maximal runs of at least four tokens. Linear in the input (no backtracking blow-up).
pub fn phrase_runs(s: &str, tokens: RunTokens, allow_empty_phrase: bool) -> Vec<PhraseRun> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if allow_empty_phrase {
            let Some(lt) = s[i..].find('<').map(|off| i + off) else {
                break;
            };
            let (count, end) = tokens.run_at(s, lt);
            if count >= 4 {
                out.push(PhraseRun { start: lt, tokens_start: lt, end });
            }
            // Every start inside a failed run fails too (its suffixes are shorter runs).
            i = if end > lt { end } else { lt + 1 };
        } else {
            if s.as_bytes()[i] == b'<' {
                i += 1;
                continue;
            }
            let Some(lt) = s[i..].find('<').map(|off| i + off) else {
                break;
            };
            let (count, end) = tokens.run_at(s, lt);
            if count >= 4 {
                out.push(PhraseRun { start: i, tokens_start: lt, end });
                i = end;
            } else {
                i = lt + 1;
            }
        }
    }
    out
}

/// Lookahead alternatives of the reference's phrase regex for boxes.
pub const BOX_PHRASE_ENDS: &[&str] = &["<od>", "</od>", "<box>", "</box>", "<bbox>", "</bbox>", "<loc_"];
/// ... and for polygons, which adds `<poly>`.
pub const POLYGON_PHRASE_ENDS: &[&str] = &["<od>", "</od>", "<box>", "</box>", "<bbox>", "</bbox>", "<loc_", "<poly>"];

/// `re.search(r"^\s*(.*?)(?=END|...)", s).group()`: the text before the first `END`, provided no
/// `\n` lies between the leading whitespace and it (`.` does not match `\n`). Not yet stripped.
pub fn phrase_head<'a>(s: &'a str, ends: &[&str]) -> Option<&'a str> {
    let start = s.len() - s.trim_start_matches(is_py_space).len();
    for (off, c) in s[start..].char_indices() {
        let at = start + off;
        if ends.iter().any(|end| s[at..].starts_with(end)) {
            return Some(&s[..at]);
        }
        if c == '\n' {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_whitespace_and_strip_follow_python() {
        assert_eq!(decimal_digit('7'), Some(7));
        assert_eq!(decimal_digit('٣'), Some(3));
        assert_eq!(decimal_digit('𝟗'), Some(9)); // U+1D7D7 MATHEMATICAL BOLD DIGIT NINE
        assert_eq!(decimal_digit('x'), None);
        assert_eq!(decimal_digit('½'), None);
        assert_eq!(py_strip("\u{1c}\u{3000} a b \u{a0}\n"), "a b");
        assert_eq!(drop_sequence_tokens("<<s>/s>x<pad>"), "x");
    }

    #[test]
    fn loc_tokens() {
        assert_eq!(loc_at("<loc_12>", 0), Some((12, 8)));
        assert_eq!(loc_at("a<loc_0007>", 1), Some((7, 11)));
        assert_eq!(loc_at("<loc_>", 0), None);
        assert_eq!(loc_at("<loc_-5>", 0), None);
        assert_eq!(loc_at("<loc_12", 0), None);
        assert_eq!(loc_at("<loc_99999999999999999999>", 0).map(|t| t.0), Some(u32::MAX));
        assert_eq!(coord_token_at("</poly>", 0), Some((CoordToken::PolyEnd, 7)));
    }

    #[test]
    fn runs_like_findall() {
        let s = "<loc_5>b<loc_1><loc_2><loc_3><loc_4>";
        assert_eq!(phrase_runs(s, RunTokens::Locs, false), vec![PhraseRun { start: 1, tokens_start: 8, end: s.len() }]);
        assert_eq!(phrase_runs("a<loc_1><loc_2><loc_3>", RunTokens::Locs, false), vec![]);
        let t = "<loc_1><loc_2><loc_3>x<loc_1><loc_2><loc_3><loc_4>";
        assert_eq!(
            phrase_runs(t, RunTokens::Locs, true),
            vec![PhraseRun { start: 22, tokens_start: 22, end: t.len() }]
        );
    }

    #[test]
    fn phrase_head_stops_at_newline() {
        assert_eq!(phrase_head(" car<loc_1>", BOX_PHRASE_ENDS), Some(" car"));
        assert_eq!(phrase_head("\n car<loc_1>", BOX_PHRASE_ENDS), Some("\n car"));
        assert_eq!(phrase_head("car\ndog<loc_1>", BOX_PHRASE_ENDS), None);
        assert_eq!(phrase_head("<sep><poly>", POLYGON_PHRASE_ENDS), Some("<sep>"));
        assert_eq!(phrase_head("<sep>", POLYGON_PHRASE_ENDS), None);
    }
}
