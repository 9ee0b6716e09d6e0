//! The instruction's length limit in the page. The input's `maxlength` counts UTF-16 code units
//! (an emoji is two), so the page counts the same way: a text within `maxlength` is always within
//! `visionllm_tasks::MAX_INSTRUCTION_CHARS` characters, which the worker's router enforces.
//! A browser cuts a paste at `maxlength` silently, so the page splices pastes itself and says so.

/// `text` cut to at most `max_units` UTF-16 code units, never inside a character; `true` when cut.
pub fn clamp_units(text: &str, max_units: usize) -> (&str, bool) {
    let mut units = 0;
    for (i, c) in text.char_indices() {
        units += c.len_utf16();
        if units > max_units {
            return (&text[..i], true);
        }
    }
    (text, false)
}

/// The byte index of UTF-16 offset `offset` in `text` (rounded down to a character boundary;
/// past the end means the end). Selection offsets from the DOM are UTF-16.
fn byte_index(text: &str, offset: u32) -> usize {
    let mut units = 0u32;
    for (i, c) in text.char_indices() {
        let next = units.saturating_add(c.len_utf16() as u32);
        if next > offset {
            return i;
        }
        units = next;
    }
    text.len()
}

/// The input after pasting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pasted {
    pub value: String,
    /// Where the caret goes (UTF-16 offset, after the inserted text).
    pub caret: u32,
    /// The pasted text (or the whole value) did not fit and was cut.
    pub cut: bool,
}

/// Paste `pasted` over the selection `start..end` (UTF-16 offsets) of `value`, keeping the text
/// after the selection and cutting the pasted part so the whole fits in `max_units`.
pub fn paste_into(value: &str, start: u32, end: u32, pasted: &str, max_units: usize) -> Pasted {
    let (start, end) = (start.min(end), start.max(end));
    let (a, b) = (byte_index(value, start), byte_index(value, end));
    let (before, after) = (value.get(..a).unwrap_or(""), value.get(b..).unwrap_or(""));
    let kept = before.encode_utf16().count() + after.encode_utf16().count();
    let (inserted, cut) = clamp_units(pasted, max_units.saturating_sub(kept));
    let joined = format!("{before}{inserted}{after}");
    // If the text around the selection alone was already too long, cut the whole.
    let (value, cut_all) = clamp_units(&joined, max_units);
    let caret = (before.encode_utf16().count() + inserted.encode_utf16().count()).min(max_units);
    Pasted { value: value.to_string(), caret: caret as u32, cut: cut || cut_all }
}

/// The message under the input when a text was cut.
pub fn cut_message(max_units: usize) -> String {
    format!("The instruction was cut to {max_units} characters, the limit. Shorten it if the end matters.")
}

/// The most new tokens one task call may decode; the model's positions cap it further.
pub const MAX_NEW_TOKENS: usize = 1024;

/// The answer length for this page: `max-new-tokens=N` in the page query (as `Init`'s
/// `overrides`, e.g. `?no-f16&max-new-tokens=20`) lowers it, so that a benchmark can run a random
/// model (which never says end-of-sequence) for a fixed number of tokens, as its peer does.
/// Anything else (absent, not a number, 0, above the limit) leaves `MAX_NEW_TOKENS`.
pub fn max_new_tokens(query: &str) -> usize {
    query
        .trim_start_matches('?')
        .split('&')
        .filter_map(|kv| kv.strip_prefix("max-new-tokens="))
        .filter_map(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=MAX_NEW_TOKENS).contains(n))
        .last()
        .unwrap_or(MAX_NEW_TOKENS)
}
