//! What `visionllm label` labels: the images under a folder (recursively, in name order) or the
//! paths a list file names, each with the name its output line carries (the path relative to
//! the folder, or the line as written), and the deterministic 1/N of them `--shard I/N` takes.

use std::path::{Path, PathBuf};

/// File extensions taken from a folder (case-insensitive).
const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff"];
/// Folder depth followed (symbolic links to folders are not followed at all).
const MAX_DEPTH: usize = 32;
/// Most images one run lists, and the longest name.
pub const MAX_INPUTS: usize = 10_000_000;
const MAX_NAME_BYTES: usize = visionllm_tasks::label_record::MAX_NAME_BYTES;

/// An image to label: where it is and the name its record carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    pub name: String,
}

/// `--input DIR|LIST`.
pub fn list(input: &Path) -> Result<Vec<Input>, String> {
    let meta = std::fs::metadata(input).map_err(|e| format!("--input {}: {e}", input.display()))?;
    let mut out = if meta.is_dir() { from_folder(input)? } else { from_list(input)? };
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    Ok(out)
}

fn from_folder(root: &Path) -> Result<Vec<Input>, String> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
            let kind = entry.file_type().map_err(|e| format!("{}: {e}", entry.path().display()))?;
            let path = entry.path();
            if kind.is_dir() {
                if depth + 1 < MAX_DEPTH {
                    stack.push((path, depth + 1));
                }
                continue;
            }
            let is_image = path.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
            if !is_image {
                continue;
            }
            let relative = path.strip_prefix(root).unwrap_or(&path);
            // Names are text in the output; a path that is not UTF-8 is said, not mangled.
            let name = relative.to_str().ok_or_else(|| format!("{}: the file name is not UTF-8 text", path.display()))?.replace('\\', "/");
            if name.len() > MAX_NAME_BYTES {
                return Err(format!("{}: a name of over {MAX_NAME_BYTES} bytes", path.display()));
            }
            out.push(Input { path, name });
            if out.len() > MAX_INPUTS {
                return Err(format!("{}: over {MAX_INPUTS} images", root.display()));
            }
        }
    }
    Ok(out)
}

/// One path per line; empty lines and lines starting with `#` are skipped; relative paths are
/// relative to the list's folder.
fn from_list(list: &Path) -> Result<Vec<Input>, String> {
    let text = std::fs::read_to_string(list).map_err(|e| format!("--input {}: {e}", list.display()))?;
    let base = list.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let name = line.trim();
        if name.is_empty() || name.starts_with('#') {
            continue;
        }
        if name.len() > MAX_NAME_BYTES || name.contains('\0') {
            return Err(format!("{} line {}: not a path (over {MAX_NAME_BYTES} bytes, or NUL)", list.display(), n + 1));
        }
        out.push(Input { path: base.join(name), name: name.to_string() });
        if out.len() > MAX_INPUTS {
            return Err(format!("{}: over {MAX_INPUTS} images", list.display()));
        }
    }
    Ok(out)
}

/// `--shard I/N`: 0 <= I < N <= 65536.
pub fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("--shard {text:?} is not I/N with 0 <= I < N <= 65536 (e.g. 0/4)");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n) = (i.trim().parse::<u64>().map_err(|_| bad())?, n.trim().parse::<u64>().map_err(|_| bad())?);
    if n == 0 || n > 65536 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Whether shard `i` of `n` takes the image named `name`: FNV-1a of the name, so every machine
/// agrees whatever order it lists the files in, and adding images moves no others.
pub fn in_shard(name: &str, (i, n): (u64, u64)) -> bool {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
    hash % n == i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_every_name_exactly_once() {
        let names: Vec<String> = (0..500).map(|k| format!("img/{k:04}.png")).collect();
        for n in [1, 2, 3, 7] {
            let mut counts = vec![0usize; n as usize];
            for name in &names {
                let owners: Vec<u64> = (0..n).filter(|&i| in_shard(name, (i, n))).collect();
                assert_eq!(owners.len(), 1, "{name} in {owners:?} of {n}");
                counts[owners[0] as usize] += 1;
            }
            assert!(counts.iter().all(|&c| c > 500 / n as usize / 2), "{counts:?}: roughly even");
        }
    }

    #[test]
    fn shard_arguments_are_checked() {
        assert_eq!(parse_shard("0/4"), Ok((0, 4)));
        assert_eq!(parse_shard(" 3 / 4 "), Ok((3, 4)));
        for bad in ["", "4/4", "1/0", "-1/4", "a/b", "1", "1/2/3", "0/65537", "0/99999999999999999999999"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn folders_are_listed_recursively_in_name_order() {
        let dir = std::env::temp_dir().join(format!("visionllm-label-inputs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for f in ["b.PNG", "a.jpg", "notes.txt", "sub/c.webp"] {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
        let names: Vec<String> = list(&dir).unwrap().into_iter().map(|i| i.name).collect();
        assert_eq!(names, ["a.jpg", "b.PNG", "sub/c.webp"]);
        std::fs::write(dir.join("list.txt"), "# header\nsub/c.webp\n\na.jpg\na.jpg\n").unwrap();
        let listed = list(&dir.join("list.txt")).unwrap();
        assert_eq!(listed.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["a.jpg", "sub/c.webp"]);
        assert_eq!(listed[1].path, dir.join("sub/c.webp"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
