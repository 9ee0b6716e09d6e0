//! The header of a safetensors file read on its own, before any tensor data: the first 8 bytes
//! give the header's length, the JSON after them every tensor's dtype, shape and byte range. A
//! streaming converter needs exactly this to plan the whole conversion (which tensor goes to which
//! output shard, at which offset) before the first value arrives over the network.

use crate::limits::{check_file_name, check_size, shown, FileKind};
use crate::manifest::MAX_RANK;
use crate::shards::sha256_hex;

/// Element type of a source tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceDtype {
    F32,
    F16,
    BF16,
    /// Anything else (I64 buffers, U8 masks...): fine to skip, an error to convert.
    Other(String),
}

impl SourceDtype {
    fn parse(s: &str) -> SourceDtype {
        match s {
            "F32" => SourceDtype::F32,
            "F16" => SourceDtype::F16,
            "BF16" => SourceDtype::BF16,
            other => SourceDtype::Other(other.to_string()),
        }
    }

    /// The safetensors spelling ("F32", "U32", ...).
    pub fn name(&self) -> &str {
        match self {
            SourceDtype::F32 => "F32",
            SourceDtype::F16 => "F16",
            SourceDtype::BF16 => "BF16",
            SourceDtype::Other(s) => s,
        }
    }

    /// Bytes per element of the float types.
    pub fn size(&self) -> Option<usize> {
        match self {
            SourceDtype::F32 => Some(4),
            SourceDtype::F16 | SourceDtype::BF16 => Some(2),
            SourceDtype::Other(_) => None,
        }
    }
}

/// One tensor of a source file. `start..end` are absolute byte offsets in the file.
#[derive(Clone, Debug)]
pub struct SourceTensor {
    pub name: String,
    pub dtype: SourceDtype,
    pub shape: Vec<usize>,
    pub start: u64,
    pub end: u64,
}

/// A source file as its header describes it.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The file's name (in the checkpoint directory or repository).
    pub name: String,
    /// 8 + header length: where tensor data starts.
    pub data_start: u64,
    /// sha256 of the header bytes: identifies this exact file layout (a resumed conversion must
    /// continue from the same file it started on).
    pub header_sha256: String,
    pub tensors: Vec<SourceTensor>,
}

/// The files a `model.safetensors.index.json` names (sorted, each once), each a plain file name.
pub fn index_files(index_json: &str) -> Result<Vec<String>, String> {
    check_size(FileKind::Index, "model.safetensors.index.json", index_json.len() as u64)?;
    let json: serde_json::Value = serde_json::from_str(index_json).map_err(|e| e.to_string())?;
    let mut files: Vec<String> = json["weight_map"].as_object().ok_or("no weight_map")?.values().filter_map(|v| v.as_str().map(str::to_string)).collect();
    files.sort();
    files.dedup();
    for f in &files {
        check_file_name(f)?;
    }
    if files.is_empty() {
        return Err("the weight_map names no files".into());
    }
    Ok(files)
}

/// How many bytes the header takes (8 + its length), from the first 8 bytes of the file; a
/// length past `FileKind::SafetensorsHeader`'s cap is refused before anything is read for it.
pub fn header_len(first8: &[u8]) -> Result<u64, String> {
    let bytes: [u8; 8] = first8.get(..8).and_then(|b| b.try_into().ok()).ok_or("the file is shorter than 8 bytes: not a safetensors file")?;
    let n = u64::from_le_bytes(bytes);
    if n > FileKind::SafetensorsHeader.max_bytes() {
        return Err(format!("its header claims {n} bytes: not a safetensors file (or a damaged one)"));
    }
    Ok(8 + n)
}

/// Parse the header from the file's first bytes (at least `header_len` of them).
pub fn parse(name: &str, prefix: &[u8]) -> Result<SourceFile, String> {
    let bad = |detail: String| format!("{name} is not a valid safetensors file: {detail}");
    let data_start = header_len(prefix).map_err(bad)?;
    let header = usize::try_from(data_start).ok().and_then(|end| prefix.get(8..end)).ok_or_else(|| bad(format!("the header needs {data_start} bytes, got {}", prefix.len())))?;
    let json: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(header).map_err(|e| bad(format!("header JSON: {e}")))?;
    let mut tensors = Vec::new();
    for (tensor, v) in json {
        if tensor == "__metadata__" {
            continue;
        }
        let t = shown(&tensor);
        let field = |f: &str| v.get(f).ok_or_else(|| bad(format!("{t} has no {f}")));
        let dtype = SourceDtype::parse(field("dtype")?.as_str().ok_or_else(|| bad(format!("{t}: dtype is not a string")))?);
        let shape = field("shape")?
            .as_array()
            .filter(|a| a.len() <= MAX_RANK)
            .and_then(|a| a.iter().map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok())).collect::<Option<Vec<_>>>())
            .ok_or_else(|| bad(format!("{t}: shape is not a list of at most {MAX_RANK} sizes")))?;
        let (begin, end) = match field("data_offsets")?.as_array().map(|a| a.iter().map(|d| d.as_u64()).collect::<Vec<_>>()).as_deref() {
            Some(&[Some(begin), Some(end)]) if begin <= end => (begin, end),
            _ => return Err(bad(format!("{t}: data_offsets is not [begin, end]"))),
        };
        if let Some(size) = dtype.size() {
            let want = shape.iter().try_fold(size as u64, |acc, &d| acc.checked_mul(u64::try_from(d).ok()?));
            if want != Some(end - begin) {
                return Err(bad(format!("{t}: {} bytes for shape {shape:?}", end - begin)));
            }
        }
        tensors.push(SourceTensor { name: tensor, dtype, shape, start: data_start.saturating_add(begin), end: data_start.saturating_add(end) });
    }
    tensors.sort_by_key(|t| t.start);
    for pair in tensors.windows(2) {
        if let [a, b] = pair {
            if b.start < a.end {
                return Err(bad(format!("{} and {} overlap", shown(&a.name), shown(&b.name))));
            }
        }
    }
    Ok(SourceFile { name: name.to_string(), data_start, header_sha256: sha256_hex(header), tensors })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out
    }

    #[test]
    fn reads_tensors_in_file_order_with_absolute_offsets() {
        let h = r#"{"__metadata__":{"format":"pt"},"b":{"dtype":"F16","shape":[2,3],"data_offsets":[8,20]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"i":{"dtype":"I64","shape":[1],"data_offsets":[20,28]}}"#;
        let f = parse("m.safetensors", &file(h)).unwrap();
        let start = 8 + h.len() as u64;
        assert_eq!(f.data_start, start);
        let got: Vec<(&str, u64, u64)> = f.tensors.iter().map(|t| (t.name.as_str(), t.start - start, t.end - start)).collect();
        assert_eq!(got, [("a", 0, 8), ("b", 8, 20), ("i", 20, 28)]);
        assert_eq!(f.tensors[2].dtype, SourceDtype::Other("I64".into()));
    }

    #[test]
    fn damaged_headers_are_errors_not_panics() {
        for (h, want) in [
            (r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, "8 bytes for shape"),
            (r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, "overlap"),
            (r#"{"a":{"dtype":"F32","shape":[2]}}"#, "no data_offsets"),
            (r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, "not [begin, end]"),
            (r#"{"a":"#, "header JSON"),
        ] {
            let err = parse("x", &file(h)).unwrap_err();
            assert!(err.contains(want), "{h}: {err}");
        }
        assert!(parse("x", &[1, 2, 3]).unwrap_err().contains("shorter than 8"));
        assert!(parse("x", &u64::MAX.to_le_bytes()).unwrap_err().contains("claims"));
        let mut cut = file(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#);
        cut.truncate(20);
        assert!(parse("x", &cut).unwrap_err().contains("needs"));
    }
}
