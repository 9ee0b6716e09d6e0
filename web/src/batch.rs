//! A batch, as pure logic the tests reach: many images (or a video's sampled frames) labelled one
//! after another with one instruction. What each item is called and keyed by, the frame times of
//! a video, the throughput line, and the records that persist in browser storage (one small file
//! per finished item, so a reload or a crash loses nothing finished) and export as JSON Lines and
//! as one COCO dataset. The DOM side is `ui::batch_panel`, `ui::batch_runner`, `ui::batch_store`.
//!
//! A record's `line` is the line `visionllm label` writes for an image (`visionllm_florence2::
//! label_line`), so a browser batch's JSON Lines merge with CLI shards (`visionllm label merge`) and
//! its COCO file is the one `label merge --coco` writes from them, byte for byte.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use visionllm_tasks::coco_dataset::coco_text;
use visionllm_tasks::export::Categories;
use visionllm_tasks::label_record::{read_record, LabelRecord, MAX_NAME_BYTES};

use crate::messages::JobResult;

/// Longest side of a thumbnail in the strip (and in storage: a JPEG of a few KB).
pub const THUMB_SIDE: u32 = 96;
/// Most items in one batch: 100,000 names and thumbnails stay well inside a tab's memory.
pub const MAX_ITEMS: usize = 100_000;
/// Most frames sampled from one video, and the sampling rates allowed (frames per second).
pub const MAX_FRAMES: usize = 10_000;
pub const MIN_RATE: f64 = 0.01;
pub const MAX_RATE: f64 = 30.0;
/// Largest stored record (a thumbnail plus a result of up to a thousand instances).
pub const MAX_RECORD_BYTES: usize = 4 << 20;
/// Largest thumbnail data URL.
pub const MAX_THUMB_BYTES: usize = 256 << 10;

/// Where an item's pixels come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemSource {
    /// Stable across visits for the same file: name, size and modification time (and the frame
    /// time for a video frame). Dropping the same folder again after a reload finds its records.
    pub key: String,
    /// What the user sees and the record's `"image"`: the file's path in the folder, and for a
    /// video frame `clip.webm@12.000s`.
    pub name: String,
    /// Seconds into the video, for a frame.
    #[serde(default)]
    pub time_s: Option<f64>,
}

/// `name|size|modified`: the same file gives the same key in any session.
pub fn file_key(name: &str, size: f64, last_modified: f64) -> String {
    format!("{name}|{size}|{last_modified}")
}

/// A video frame's source: keyed and named by its time, to the millisecond.
pub fn frame_source(file_key: &str, name: &str, time_s: f64) -> ItemSource {
    ItemSource { key: format!("{file_key}@{time_s:.3}"), name: format!("{name}@{time_s:.3}s"), time_s: Some(time_s) }
}

/// The times to sample a video of `duration_s` at `rate` frames per second: 0, 1/rate, ... while
/// inside the video. The duration comes from the browser (a live or broken file says `Infinity`
/// or `NaN`), the rate from the user: both are checked.
pub fn frame_times(duration_s: f64, rate: f64) -> Result<Vec<f64>, String> {
    if !duration_s.is_finite() || duration_s <= 0.0 {
        return Err(format!("the video's length is unknown ({duration_s}): it cannot be sampled"));
    }
    if !rate.is_finite() || !(MIN_RATE..=MAX_RATE).contains(&rate) {
        return Err(format!("a sampling rate of {MIN_RATE} to {MAX_RATE} frames per second, not {rate}"));
    }
    let count = (duration_s * rate).ceil();
    if count > MAX_FRAMES as f64 {
        return Err(format!("{duration_s:.1} s at {rate} frames/s is {count} frames: at most {MAX_FRAMES}; lower the rate"));
    }
    Ok((0..count as usize).map(|k| k as f64 / rate).filter(|t| *t < duration_s).collect())
}

/// The OPFS file of an item's record: a hash of the instruction and the item's key, so the same
/// files with the same instruction find their records, and another instruction starts afresh.
pub fn record_file(instruction: &str, key: &str) -> String {
    // FNV-1a, 64 bits: stable across builds and platforms (std's hasher is not).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in instruction.trim().bytes().chain([0u8]).chain(key.bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    format!("r-{h:016x}.json")
}

#[derive(Clone, Debug, PartialEq)]
pub enum ItemStatus {
    Queued,
    Running,
    Done,
    Failed(String),
}

impl ItemStatus {
    /// The `data-status` of a thumbnail (and its CSS class).
    pub fn name(&self) -> &'static str {
        match self {
            ItemStatus::Queued => "queued",
            ItemStatus::Running => "running",
            ItemStatus::Done => "done",
            ItemStatus::Failed(_) => "failed",
        }
    }
}

/// Throughput of this session's part of the batch: images per minute and the time left.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Throughput {
    pub finished: usize,
    pub elapsed_ms: f64,
}

impl Throughput {
    pub fn per_minute(&self) -> Option<f64> {
        (self.finished > 0 && self.elapsed_ms > 0.0).then(|| self.finished as f64 * 60_000.0 / self.elapsed_ms)
    }

    /// Seconds for `remaining` more items at this rate.
    pub fn eta_s(&self, remaining: usize) -> Option<f64> {
        self.per_minute().map(|r| remaining as f64 * 60.0 / r)
    }
}

/// `"12 / 40 images · 3 failed · 5.2 images/min · about 5 min left"`.
pub fn progress_line(finished: usize, failed: usize, total: usize, rate: Throughput) -> String {
    let mut out = format!("{finished} / {total} images");
    if failed > 0 {
        out += &format!(" · {failed} failed");
    }
    if let Some(r) = rate.per_minute() {
        out += &format!(" · {r:.1} images/min");
    }
    if let Some(eta) = rate.eta_s(total.saturating_sub(finished)).filter(|_| finished < total) {
        out += &format!(" · about {} left", duration_text(eta));
    }
    out
}

fn duration_text(s: f64) -> String {
    if s < 90.0 {
        format!("{:.0} s", s.max(1.0))
    } else if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// A finished item as stored: its source, the label line (or `{"image", "error"}`), the page's
/// full result (to draw it when clicked) and its thumbnail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredRecord {
    pub source: ItemSource,
    pub line: Value,
    #[serde(default)]
    pub result: Option<JobResult>,
    pub thumb: String,
}

impl StoredRecord {
    pub fn error(source: ItemSource, message: &str, thumb: String) -> StoredRecord {
        StoredRecord { line: json!({ "image": source.name, "error": message }), source, result: None, thumb }
    }

    pub fn failed(&self) -> Option<&str> {
        self.line.get("error").and_then(Value::as_str)
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Read a record back from browser storage, where anything may have happened to it: sizes,
    /// names and the line itself are checked (the line as `visionllm label merge` reads it).
    pub fn from_text(text: &str) -> Result<StoredRecord, String> {
        if text.len() > MAX_RECORD_BYTES {
            return Err(format!("a stored record of {} bytes (at most {MAX_RECORD_BYTES})", text.len()));
        }
        let record: StoredRecord = serde_json::from_str(text).map_err(|e| format!("a stored record is unreadable: {e}"))?;
        check_source(&record.source)?;
        if record.thumb.len() > MAX_THUMB_BYTES || !(record.thumb.is_empty() || record.thumb.starts_with("data:image/")) {
            return Err("a stored thumbnail is not a small image".into());
        }
        let read = read_record(&record.line.to_string())?;
        if read.image != record.source.name {
            return Err(format!("a stored record names {:?} but belongs to {:?}", read.image, record.source.name));
        }
        Ok(record)
    }

    /// The line of the JSON Lines export: the label line, with the frame time for a video frame.
    pub fn export_line(&self) -> Value {
        let mut line = self.line.clone();
        if let (Some(t), Some(o)) = (self.source.time_s, line.as_object_mut()) {
            o.insert("time_s".into(), json!(t));
        }
        line
    }
}

fn check_source(s: &ItemSource) -> Result<(), String> {
    let bad = |what: &str| Err(format!("a stored item's {what} is empty, too long or holds NUL"));
    if s.key.is_empty() || s.key.len() > 2 * MAX_NAME_BYTES || s.key.contains('\0') {
        return bad("key");
    }
    if s.name.is_empty() || s.name.len() > MAX_NAME_BYTES || s.name.contains('\0') {
        return bad("name");
    }
    match s.time_s {
        Some(t) if !t.is_finite() || t < 0.0 => Err(format!("a stored frame time of {t}")),
        _ => Ok(()),
    }
}

/// The batch as a whole, stored beside its records so the page shows it again after a reload:
/// the instruction and every item in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchMeta {
    pub instruction: String,
    pub items: Vec<ItemSource>,
}

impl BatchMeta {
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_text(text: &str) -> Result<BatchMeta, String> {
        if text.len() > MAX_ITEMS * (3 * MAX_NAME_BYTES) {
            return Err("the stored batch is too large".into());
        }
        let meta: BatchMeta = serde_json::from_str(text).map_err(|e| format!("the stored batch is unreadable: {e}"))?;
        if meta.items.len() > MAX_ITEMS {
            return Err(format!("a stored batch of {} items (at most {MAX_ITEMS})", meta.items.len()));
        }
        if meta.instruction.chars().count() > visionllm_tasks::MAX_INSTRUCTION_CHARS {
            return Err("the stored batch's instruction is too long".into());
        }
        meta.items.iter().try_for_each(check_source)?;
        Ok(meta)
    }
}

/// JSON Lines: one line per finished item, in batch order.
pub fn jsonl<'a>(records: impl IntoIterator<Item = &'a StoredRecord>) -> String {
    records.into_iter().map(|r| r.export_line().to_string() + "\n").collect()
}

/// The batch as one COCO dataset (`images`, `annotations` with the model's scores, and for masks
/// polygons, `categories`: COCO's own ids for COCO classes). Images sorted by name, as `visionllm
/// label merge` sorts them, so the same labels (and `categories`, as `--categories`) give the same file.
pub fn coco(records: &[&StoredRecord], categories: Categories) -> Result<String, String> {
    let mut read: Vec<LabelRecord> = records.iter().map(|r| read_record(&r.line.to_string())).collect::<Result<_, _>>()?;
    read.sort_by(|a, b| a.image.cmp(&b.image));
    read.dedup_by(|a, b| a.image == b.image);
    coco_text(&read, categories).map(|(text, _)| text)
}
