//! What identifies stored bytes: the HTTP validators a host sends with a file (ETag,
//! Last-Modified, Hugging Face's `X-Repo-Commit`), what a `Content-Range` says, and the storage
//! directory a model gets. Pure functions, so the wasm unit tests cover them without a page.
//!
//! Why it matters: a resumed download or conversion must continue the *same* file it started on,
//! and a repository that moved to a new commit must be converted into a new directory, never
//! mixed with shards made from the old one.

use sha2::{Digest, Sha256};

/// What a response says about the file it carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Hugging Face's `X-Repo-Commit`: the repository revision the file was served from.
    pub commit: Option<String>,
}

impl Validators {
    /// The value for `If-Range`: a strong ETag, else Last-Modified (HTTP allows no weak ETag there).
    pub fn if_range(&self) -> Option<&str> {
        match self.etag.as_deref() {
            Some(e) if !e.starts_with("W/") => Some(e),
            _ => self.last_modified.as_deref(),
        }
    }

    /// The sha256 the ETag carries, when it is one (Hugging Face's large files: `"<64 hex>"`).
    pub fn sha256(&self) -> Option<String> {
        etag_sha256(self.etag.as_deref()?)
    }

    /// Whether `other` can be the same file: every validator both responses carry agrees.
    pub fn same_file(&self, other: &Validators) -> bool {
        let agree = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        agree(&self.etag, &other.etag) && agree(&self.last_modified, &other.last_modified) && agree(&self.commit, &other.commit)
    }

    /// One line for the revision of a file: its ETag, else its Last-Modified.
    pub fn file_revision(&self) -> Option<&str> {
        self.etag.as_deref().or(self.last_modified.as_deref())
    }
}

/// The lowercase sha256 in an ETag such as `"abc…"`, `W/"abc…"` or `abc…`, if it is 64 hex digits.
pub fn etag_sha256(etag: &str) -> Option<String> {
    let e = etag.trim();
    let e = e.strip_prefix("W/").unwrap_or(e);
    let e = e.strip_prefix('"').and_then(|e| e.strip_suffix('"')).unwrap_or(e);
    (e.len() == 64 && e.bytes().all(|b| b.is_ascii_hexdigit())).then(|| e.to_ascii_lowercase())
}

/// `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`): (start, end exclusive, total).
pub fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, last) = range.split_once('-')?;
    let (start, last): (u64, u64) = (start.trim().parse().ok()?, last.trim().parse().ok()?);
    let end = last.checked_add(1).filter(|&end| end > start)?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse::<u64>().ok().filter(|&t| t >= end)?),
    };
    Some((start, end, total))
}

/// Model ids become directory names (OPFS) and key segments (Cache API): a plain name that
/// `visionllm_weights::limits::check_file_name` accepts, whatever the id. Characters outside
/// `[A-Za-z0-9._-]` become `_`; a dot that would start the name or follow another dot too, so
/// `..` and `.` can never name a parent or the directory itself; long ids keep a hash of the rest.
pub fn dir_name(id: &str) -> String {
    let mut out = String::new();
    let mut prev = '_';
    for c in id.chars() {
        let c = match c {
            '.' if out.is_empty() || prev == '.' => '_',
            c if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') => c,
            _ => '_',
        };
        out.push(c);
        prev = c;
    }
    const MAX: usize = 120;
    if out.is_empty() {
        out.push('_');
    }
    if out.len() > MAX {
        // ASCII only by now, so any byte index is a character boundary.
        out.truncate(MAX - 17);
        out.push('-');
        out.push_str(&short_hash(id));
    }
    out
}

/// 16 hex digits of sha256(`s`): names an arbitrary string compactly.
pub fn short_hash(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A model converted in the browser from a repository is stored under its id, the host it came
/// from and the source's revision, so another host's files or another commit never reuse (or
/// overwrite) its shards: `<id>_<host>_<tag>`. A commit or sha256-like revision keeps its first
/// 12 hex digits as the tag (as git abbreviates); anything else (a weak ETag, a date) is hashed.
pub fn source_model_id(id: &str, host: &str, revision: &str) -> String {
    let hexish = revision.len() >= 12 && revision.bytes().all(|b| b.is_ascii_hexdigit());
    let tag = match revision.get(..12) {
        Some(head) if hexish => head.to_ascii_lowercase(),
        _ => format!("r{}", short_hash(revision)),
    };
    format!("{}_{tag}", dir_name(&format!("{id}@{host}")))
}

fn is_revision_tag(s: &str) -> bool {
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    (s.len() == 12 && hex(s)) || s.strip_prefix('r').is_some_and(|h| h.len() == 16 && hex(h))
}

/// The stored directories holding other revisions of `id` from `host` (what `source_model_id`
/// made for them), other than `current`: a newer revision replaces them.
pub fn other_revisions<'a>(stored: impl Iterator<Item = &'a str>, id: &str, host: &str, current: &str) -> Vec<String> {
    let prefix = format!("{}_", dir_name(&format!("{id}@{host}")));
    stored.filter(|d| *d != current && d.strip_prefix(&prefix).is_some_and(is_revision_tag)).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use visionllm_weights::limits::check_file_name;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn etags_with_a_sha256_are_recognised_in_every_spelling() {
        let sha = "A".repeat(64);
        for e in [format!("\"{sha}\""), format!("W/\"{sha}\""), sha.clone(), format!("  \"{sha}\" ")] {
            assert_eq!(etag_sha256(&e), Some("a".repeat(64)), "{e}");
        }
        for e in ["\"abc\"", "W/\"5f3c-1f400\"", "", &"g".repeat(64), &"a".repeat(63), &"a".repeat(65)] {
            assert_eq!(etag_sha256(e), None, "{e}");
        }
    }

    #[wasm_bindgen_test]
    fn if_range_uses_a_strong_etag_else_last_modified() {
        let lm = Some("Tue, 01 Dec 2026 00:00:00 GMT".to_string());
        let v = Validators { etag: Some("\"x\"".into()), last_modified: lm.clone(), commit: None };
        assert_eq!(v.if_range(), Some("\"x\""));
        let weak = Validators { etag: Some("W/\"x\"".into()), last_modified: lm.clone(), commit: None };
        assert_eq!(weak.if_range(), lm.as_deref());
        assert_eq!(Validators::default().if_range(), None);
    }

    #[wasm_bindgen_test]
    fn same_file_compares_what_both_responses_carry() {
        let a = Validators { etag: Some("\"1\"".into()), last_modified: None, commit: Some("c1".into()) };
        assert!(a.same_file(&a.clone()));
        assert!(a.same_file(&Validators::default()));
        assert!(!a.same_file(&Validators { etag: Some("\"2\"".into()), ..a.clone() }));
        assert!(!a.same_file(&Validators { commit: Some("c2".into()), ..a.clone() }));
    }

    /// Header values and ids as a host or a user could send them: a seeded stream of pieces
    /// (digits, separators, quotes, multi-byte and control characters, huge numbers) glued at
    /// random. Every parser returns a consistent value or `None`, never panics. (proptest does not
    /// run under wasm-bindgen-test in Node, so the cases come from a fixed xorshift stream.)
    #[wasm_bindgen_test]
    fn header_values_and_ids_from_random_pieces() {
        const PIECES: [&str; 24] = [
            "bytes ", "0", "7", "99", "-", "/", "*", " ", "\"", "W/", "18446744073709551615", "18446744073709551616",
            "abcdef0123456789", "ABCDEF", "..", ".", "/", "\\", "猫", "é", "\u{200b}", "\0", "\n", "@",
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..5000 {
            let n = (next() % 12) as usize;
            let text: String = (0..n)
                .map(|_| match next() % 5 {
                    0 => char::from_u32((next() % 0x11_0000) as u32).map(String::from).unwrap_or_default(),
                    _ => PIECES[(next() % PIECES.len() as u64) as usize].to_string(),
                })
                .collect();
            if let Some((start, end, total)) = parse_content_range(&text) {
                assert!(start < end && total.is_none_or(|t| t >= end), "{text:?}");
            }
            if let Some(sha) = etag_sha256(&text) {
                assert!(sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{text:?}");
            }
            assert_eq!(check_file_name(&dir_name(&text)), Ok(()), "{text:?}");
            assert_eq!(check_file_name(&source_model_id(&text, &text, &text)), Ok(()), "{text:?}");
        }
    }

    #[wasm_bindgen_test]
    fn content_ranges_parse_and_nonsense_does_not() {
        assert_eq!(parse_content_range("bytes 0-7/100"), Some((0, 8, Some(100))));
        assert_eq!(parse_content_range("bytes 10-99/*"), Some((10, 100, None)));
        for bad in ["", "bytes 5-4/100", "bytes 0-99/50", "items 0-1/2", "bytes 0-1", "bytes a-b/c", "bytes 0-18446744073709551615/1"] {
            assert_eq!(parse_content_range(bad), None, "{bad}");
        }
    }

    #[wasm_bindgen_test]
    fn directory_names_are_plain_file_names_for_any_id() {
        for id in ["demo-shapes", "..", ".", "../other", "a/../../b", "", "hf-owner--name-q4", ".hidden", "x..y", "猫", &"a".repeat(500), "a\0b"] {
            let d = dir_name(id);
            assert_eq!(check_file_name(&d), Ok(()), "{id:?} -> {d:?}");
            assert!(!d.contains(".."), "{id:?} -> {d:?}");
        }
        assert_eq!(dir_name("demo-shapes"), "demo-shapes");
        assert_eq!(dir_name(&dir_name("a/b@c")), dir_name("a/b@c"), "mapping twice changes nothing (Delete sends stored names back)");
        assert_ne!(dir_name(&"a".repeat(500)), dir_name(&format!("{}b", "a".repeat(499))), "long ids keep what tells them apart");
    }

    #[wasm_bindgen_test]
    fn source_ids_change_with_host_and_revision() {
        let commit = "0123456789abcdef0123456789abcdef01234567";
        let a = source_model_id("hf-o--n-q4", "huggingface.co", commit);
        assert_eq!(a, "hf-o--n-q4_huggingface.co_0123456789ab");
        assert_ne!(a, source_model_id("hf-o--n-q4", "mirror.example", commit));
        assert_ne!(a, source_model_id("hf-o--n-q4", "huggingface.co", "1123456789abcdef0123456789abcdef01234567"));
        let weak = source_model_id("m", "127.0.0.1:8080", "W/\"5f3c-1f400\"");
        assert_eq!(check_file_name(&weak), Ok(()));
        assert_ne!(weak, source_model_id("m", "127.0.0.1:8080", "W/\"5f3c-1f401\""));
        let dirs = [a.as_str(), "hf-o--n-q4_huggingface.co_ffffffffffff", "hf-o--n-q4_huggingface.co_rffffffffffffffff", "hf-o--n-q4", "hf-o--n-q8_huggingface.co_0123456789ab", "hf-o--n-q4_huggingface.co_x_ffffffffffff", "demo"];
        let old = other_revisions(dirs.into_iter(), "hf-o--n-q4", "huggingface.co", &a);
        assert_eq!(old, ["hf-o--n-q4_huggingface.co_ffffffffffff", "hf-o--n-q4_huggingface.co_rffffffffffffffff"]);
    }
}
