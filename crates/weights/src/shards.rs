//! Shards: greedy packing into files of at most `max_bytes`, each a plain safetensors file whose
//! header is known from shapes alone, before any value is quantized (the streaming converter
//! fills the data behind it).

use sha2::{Digest, Sha256};

use crate::manifest::Stored;

/// Default shard limit: the issue asks for 32-64 MB shards (small enough to fetch, verify and
/// cache one at a time in a browser, big enough to keep the request count low).
pub const MAX_SHARD_BYTES: u64 = 64 << 20;

/// A tensor as it will be written.
#[derive(Clone, Debug)]
pub struct Planned {
    pub name: String,
    pub class: String,
    pub stored: Stored,
    pub shape: Vec<usize>,
    pub length: u64,
    /// For a row part of a larger source matrix: its first row there.
    pub source_rows: Option<usize>,
}

impl Planned {
    /// The source tensor's name (a row part's name without its `.partNNN`).
    pub fn source_name(&self) -> &str {
        match self.source_rows {
            Some(_) => self.name.rsplit_once(".part").map(|(n, _)| n).unwrap_or(&self.name),
            None => &self.name,
        }
    }
}

/// Split `tensors` (in the given order) into shards of at most `max_bytes` of data each. A tensor
/// larger than the limit gets a shard of its own (the format does not split tensors, so a loader
/// can always upload a tensor from one buffer).
pub fn pack(tensors: &[Planned], max_bytes: u64) -> Vec<Vec<usize>> {
    let mut shards: Vec<Vec<usize>> = Vec::new();
    let mut current = Vec::new();
    let mut size = 0u64;
    for (i, t) in tensors.iter().enumerate() {
        if !current.is_empty() && size + t.length > max_bytes {
            shards.push(std::mem::take(&mut current));
            size = 0;
        }
        current.push(i);
        size += t.length;
    }
    if !current.is_empty() {
        shards.push(current);
    }
    shards
}

pub fn shard_file_name(index: usize, count: usize) -> String {
    format!("model-{:05}-of-{:05}.safetensors", index + 1, count)
}

/// The order of tensors inside a shard and its safetensors header (padded). Tensors with 4-byte
/// elements come first, so every tensor's data stays aligned to its element size (typed-array
/// views in a browser need that).
pub fn layout<'a>(tensors: &[&'a Planned]) -> (Vec<&'a Planned>, Vec<u8>) {
    let mut order: Vec<&Planned> = tensors.to_vec();
    order.sort_by_key(|t| std::cmp::Reverse(t.stored.safetensors_dtype().1));
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!({
        "format": crate::manifest::FORMAT,
        "note": "q8/q4 tensors are packed u32 words (see manifest.json for their logical dtype and shape)",
    }));
    let mut offset = 0u64;
    for t in &order {
        let (dtype, elem) = t.stored.safetensors_dtype();
        let shape = if t.stored.is_quantized() { vec![(t.length / elem as u64) as usize] } else { t.shape.clone() };
        header.insert(t.name.clone(), serde_json::json!({ "dtype": dtype, "shape": shape, "data_offsets": [offset, offset + t.length] }));
        offset += t.length;
    }
    let mut header = serde_json::to_vec(&header).expect("json");
    // safetensors pads the header with spaces so the data starts 8-byte aligned.
    header.resize(header.len().next_multiple_of(8), b' ');
    (order, header)
}

/// Exactly the bytes `write_shard` would write for these shards (sizes only, nothing quantized).
pub fn predicted_bytes(tensors: &[Planned], shards: &[Vec<usize>]) -> u64 {
    shards
        .iter()
        .map(|s| {
            let refs: Vec<&Planned> = s.iter().map(|&i| &tensors[i]).collect();
            let (_, header) = layout(&refs);
            8 + header.len() as u64 + refs.iter().map(|t| t.length).sum::<u64>()
        })
        .sum()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
