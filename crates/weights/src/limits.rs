//! Where bytes from a model host enter: how large each kind of file may be, and what a file name
//! from a manifest or an index may look like. The native loader, the converter and the browser
//! all call these, so a host cannot get past one of them by choosing the other.
//!
//! The caps sit far above any real Florence-2 file (measured in the comments) and far below what
//! would hurt a browser tab: a `Content-Length` of 3 GB for `config.json` is refused before a
//! byte is allocated.

/// A file a model host serves that is read whole into memory (weights are streamed, not read
/// whole, and have their own limits: `MAX_TENSOR_BYTES`, `MAX_SHARD_FILE_BYTES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `config.json` (Florence-2-large: 2.6 kB).
    Config,
    /// `preprocessor_config.json` (about 1 kB).
    PreprocessorConfig,
    /// `tokenizer.json` (Florence-2: 1.4 MB; large multilingual tokenizers reach ~17 MB).
    Tokenizer,
    /// Our `manifest.json` (Florence-2-large Q4: ~150 kB).
    Manifest,
    /// `model.safetensors.index.json` (a few hundred kB for 70B models).
    Index,
    /// A safetensors header: 8 length bytes + JSON (Florence-2-large: ~90 kB; the safetensors
    /// format itself caps headers at 100 MB).
    SafetensorsHeader,
    /// `chat_template.jinja` (Qwen3-VL: ~5 kB).
    ChatTemplate,
    /// `tokenizer_config.json` (Qwen3-VL: ~10 kB with its chat template; some list every added
    /// token and reach a few MB).
    TokenizerConfig,
}

impl FileKind {
    pub const fn max_bytes(self) -> u64 {
        match self {
            FileKind::Config | FileKind::PreprocessorConfig => 1 << 20,
            FileKind::Tokenizer => 64 << 20,
            FileKind::Manifest | FileKind::Index => 16 << 20,
            FileKind::SafetensorsHeader => 100 << 20,
            FileKind::ChatTemplate => 1 << 20,
            FileKind::TokenizerConfig => 16 << 20,
        }
    }

    pub const fn describe(self) -> &'static str {
        match self {
            FileKind::Config => "model config",
            FileKind::PreprocessorConfig => "preprocessor config",
            FileKind::Tokenizer => "tokenizer",
            FileKind::Manifest => "manifest",
            FileKind::Index => "weights index",
            FileKind::SafetensorsHeader => "safetensors header",
            FileKind::ChatTemplate => "chat template",
            FileKind::TokenizerConfig => "tokenizer config",
        }
    }
}

/// Largest tensor a conversion or a manifest may hold. The packer aims at 64 MiB shards but gives
/// a larger tensor a shard of its own (Florence-2-base's f16 word embedding is 79 MB, large's f32
/// one 210 MB); past this a source header is refused before any buffer is made for it.
pub const MAX_TENSOR_BYTES: u64 = 256 << 20;

/// Largest token table stored in row parts, all parts together (Qwen3-VL-2B's 151,936 x 2,048
/// table is 1.24 GB in f32); a header declaring more is refused before any part is planned.
pub const MAX_TABLE_BYTES: u64 = 2 << 30;

/// Largest shard file: one tensor at the limit plus a generous header.
pub const MAX_SHARD_FILE_BYTES: u64 = MAX_TENSOR_BYTES + (16 << 20);

/// Refuses `name` of `kind` when its size (declared by `Content-Length` or the file system, or
/// counted while reading) exceeds the cap. Call it before allocating for the body.
pub fn check_size(kind: FileKind, name: &str, bytes: u64) -> Result<(), String> {
    let max = kind.max_bytes();
    if bytes > max {
        return Err(format!(
            "{} is {bytes} bytes, more than a {} can be ({max} bytes): the host serves the wrong file or a damaged one",
            shown(name),
            kind.describe()
        ));
    }
    Ok(())
}

/// Longest file name we accept (file systems allow 255 bytes).
pub const MAX_NAME_BYTES: usize = 200;

/// A shard, config, tokenizer or weights file named by a manifest or an index must be a plain
/// file name: `[A-Za-z0-9._-]`, not starting with a dot, at most `MAX_NAME_BYTES`. That rules out
/// `/`, `\`, `..`, schemes (`https:`), absolute paths, and anything a URL, a Cache API key or an
/// OPFS lookup would resolve somewhere else.
pub fn check_file_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() {
        return Err("a file name is empty".into());
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(format!("a file name is {} bytes long (at most {MAX_NAME_BYTES})", name.len()));
    }
    if let Some(c) = name.chars().find(|&c| !ok_char(c)) {
        return Err(format!(
            "file name {} contains {c:?}: only letters, digits, '.', '_' and '-' are allowed (no folders, no URLs)",
            shown(name)
        ));
    }
    if name.starts_with('.') {
        return Err(format!("file name {} starts with a dot", shown(name)));
    }
    Ok(())
}

/// `name` quoted for a message, at most 80 characters of it (a hostile name can be megabytes).
pub fn shown(name: &str) -> String {
    const MAX: usize = 80;
    match name.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}…", &name[..cut]),
        None => format!("{name:?}"),
    }
}

/// Reads a small text file of `kind` natively, refusing it by its size on disk before reading.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_text(path: &std::path::Path, kind: FileKind) -> Result<String, String> {
    let shown_path = path.display();
    let len = std::fs::metadata(path).map_err(|e| format!("cannot read {shown_path}: {e}"))?.len();
    check_size(kind, &shown_path.to_string(), len)?;
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown_path}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_and_paths_do_not() {
        for ok in ["model-00001-of-00002.safetensors", "config.json", "tokenizer.json", "a", "x_y.Z-1"] {
            assert_eq!(check_file_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "../other/model.safetensors",
            "..",
            ".hidden",
            "/etc/passwd",
            "C:\\x",
            "dir/file",
            "https://evil.example/x",
            "a b",
            "caf\u{e9}.json",
            "x\0y",
            "%2e%2e",
        ] {
            assert!(check_file_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_file_name(&"a".repeat(MAX_NAME_BYTES + 1)).unwrap_err().contains("long"));
        assert_eq!(check_file_name(&"a".repeat(MAX_NAME_BYTES)), Ok(()));
    }

    #[test]
    fn sizes_are_capped_per_kind() {
        assert!(check_size(FileKind::Config, "config.json", 3_000_000_000).unwrap_err().contains("model config"));
        assert_eq!(check_size(FileKind::Config, "config.json", 2_600), Ok(()));
        assert_eq!(check_size(FileKind::Tokenizer, "tokenizer.json", 1_400_000), Ok(()));
        assert!(check_size(FileKind::Tokenizer, "tokenizer.json", u64::MAX).is_err());
        assert_eq!(check_size(FileKind::Manifest, "m", FileKind::Manifest.max_bytes()), Ok(()));
        assert!(check_size(FileKind::Manifest, "m", FileKind::Manifest.max_bytes() + 1).is_err());
    }

    #[test]
    fn shown_names_are_bounded_on_any_unicode() {
        let long = "\u{1F600}".repeat(10_000);
        let s = shown(&long);
        assert!(s.chars().count() <= 84, "{}", s.chars().count());
        assert_eq!(shown("abc"), "\"abc\"");
    }
}
