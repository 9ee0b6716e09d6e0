//! The conversion as a stream: source bytes go in, in file order and in pieces of any size (a
//! network read, a memory-mapped file), and finished output shards come out as soon as their last
//! tensor has passed. Memory: the shards being filled (one, for a checkpoint in the native layout)
//! and at most ~4 MB of staged values of the tensor being read. The same code converts on disk
//! (`convert_dir`) and in the browser, so both produce the same bytes.
//!
//! Resuming: `new` takes the shards already finished (and verified) in an earlier session, and the
//! stream starts at the first byte still needed; after a cut inside a session, `next_fetch` gives
//! the exact byte to continue from (an HTTP Range request), since the state lives on in memory.

use std::collections::BTreeMap;

use crate::conversion_plan::{ConversionPlan, ItemKind};
use crate::encode::{self, ErrorStats};
use crate::manifest::Stored;
use crate::shards::sha256_hex;

/// Values staged before they are encoded (quantized tensors: whole rows, so up to one row more).
const STAGE_VALUES: usize = 1 << 20;

/// A finished output shard: its bytes, ready to store, and their sha256.
pub struct FinishedShard {
    pub index: usize,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// Per converted tensor, for the report.
#[derive(Clone, Debug)]
pub struct TensorStats {
    pub name: String,
    pub class: String,
    pub stored: Stored,
    pub values: u64,
    pub bytes: u64,
    /// (max|w - s| / max|w|, ||w - s|| / ||w||)
    pub error: (f64, f64),
}

/// The byte range of one source file to fetch next: `from..to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fetch {
    pub file: usize,
    pub from: u64,
    pub to: u64,
}

/// The tensor whose bytes are passing.
struct Reading {
    /// Bytes of a value split between two pieces.
    carry: Vec<u8>,
    staged: Vec<f32>,
    /// Values encoded so far.
    written: usize,
    stats: ErrorStats,
}

pub struct StreamConverter {
    plan: ConversionPlan,
    /// Shards finished here or before (not to be produced again).
    finished: Vec<bool>,
    /// Tensors still to arrive, per shard.
    missing: Vec<usize>,
    filling: BTreeMap<usize, Vec<u8>>,
    file: usize,
    pos: u64,
    /// Index of the first item not yet fully passed.
    cursor: usize,
    reading: Option<Reading>,
    stats: Vec<TensorStats>,
}

impl StreamConverter {
    /// `finished[i]`: shard i is already stored and verified (an earlier session made it).
    pub fn new(plan: ConversionPlan, finished: &[bool]) -> StreamConverter {
        let mut finished = finished.to_vec();
        finished.resize(plan.shards.len(), false);
        let mut missing = vec![0; plan.shards.len()];
        for item in &plan.items {
            if let ItemKind::Convert { shard, .. } = item.kind {
                missing[shard] += 1;
            }
        }
        let (file, pos) = plan.items.first().map_or((0, 0), |i| (i.file, i.start));
        StreamConverter { plan, finished, missing, filling: BTreeMap::new(), file, pos, cursor: 0, reading: None, stats: Vec::new() }
    }

    pub fn plan(&self) -> &ConversionPlan {
        &self.plan
    }

    fn needed(&self, item: usize) -> bool {
        match self.plan.items[item].kind {
            ItemKind::Convert { shard, .. } => !self.finished[shard],
            // Checked whenever the stream passes it for a shard still being made.
            ItemKind::MustBeZero => self.plan.items[item].end > self.plan.items[item].start && self.finished.iter().any(|f| !f),
        }
    }

    /// Where to read next (moving the position there), or `None` when everything needed has
    /// passed. Bytes between needed tensors of one file are read and skipped (one request per
    /// file); files with nothing needed are not read at all.
    pub fn next_fetch(&mut self) -> Option<Fetch> {
        if self.reading.is_some() {
            let file = self.file;
            return Some(Fetch { file, from: self.pos, to: self.needed_end(file) });
        }
        let next = (self.cursor..self.plan.items.len()).find(|&i| self.needed(i))?;
        let item = &self.plan.items[next];
        let (file, start) = (item.file, item.start);
        self.cursor = next;
        if file != self.file || self.pos < start {
            self.file = file;
            self.pos = start;
        }
        Some(Fetch { file, from: self.pos, to: self.needed_end(file) })
    }

    /// Source bytes of the tensors still to pass (what is left to download, gaps aside).
    pub fn bytes_to_read(&self) -> u64 {
        let partly = self.reading.as_ref().map_or(0, |_| self.pos - self.plan.items[self.cursor].start);
        (self.cursor..self.plan.items.len()).filter(|&i| self.needed(i)).map(|i| self.plan.items[i].end - self.plan.items[i].start).sum::<u64>() - partly
    }

    fn needed_end(&self, file: usize) -> u64 {
        (self.cursor..self.plan.items.len()).filter(|&i| self.plan.items[i].file == file && self.needed(i)).map(|i| self.plan.items[i].end).max().unwrap_or(self.pos)
    }

    /// Bytes that follow the position of the last `next_fetch`/`push`. Bytes past the needed
    /// range are ignored. Returns the shards this piece finished.
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<Vec<FinishedShard>, String> {
        let mut done = Vec::new();
        while !bytes.is_empty() && self.cursor < self.plan.items.len() {
            let (file, start, end) = {
                let i = &self.plan.items[self.cursor];
                (i.file, i.start, i.end)
            };
            if file != self.file {
                break;
            }
            // Bytes before the tensor belong to nothing we need.
            if self.pos < start {
                let take = (start - self.pos).min(bytes.len() as u64);
                self.pos += take;
                bytes = &bytes[take as usize..];
                continue;
            }
            if self.pos >= end {
                self.cursor += 1;
                continue;
            }
            let take = (end - self.pos).min(bytes.len() as u64) as usize;
            let needed = self.needed(self.cursor);
            if needed {
                self.feed(&bytes[..take])?;
            }
            self.pos += take as u64;
            bytes = &bytes[take..];
            if self.pos == end {
                if needed {
                    if let Some(shard) = self.complete()? {
                        done.push(shard);
                    }
                }
                self.cursor += 1;
            }
        }
        Ok(done)
    }

    fn feed(&mut self, bytes: &[u8]) -> Result<(), String> {
        let item = &self.plan.items[self.cursor];
        let reading = self.reading.get_or_insert_with(|| Reading { carry: Vec::new(), staged: Vec::new(), written: 0, stats: ErrorStats::default() });
        let size = item.dtype.size().expect("the plan only keeps float tensors");
        let mut data = std::mem::take(&mut reading.carry);
        data.extend_from_slice(bytes);
        let whole = data.len() / size * size;
        encode::decode(&item.dtype, &data[..whole], &mut reading.staged);
        reading.carry = data[whole..].to_vec();
        let stage_full = match &item.kind {
            ItemKind::MustBeZero => {
                if reading.staged.iter().any(|&v| v != 0.0) {
                    return Err(format!("{} is not all zeros; Florence-2's lm_head has no bias, so this checkpoint is not one we can run", item.source));
                }
                reading.staged.clear();
                false
            }
            // A transposed matrix is encoded whole (only the small image_projection is one).
            ItemKind::Convert { transpose, .. } => !transpose && reading.staged.len() >= STAGE_VALUES,
        };
        if stage_full {
            self.flush(false);
        }
        Ok(())
    }

    /// Encode staged values into the shard (all of them at the end of the tensor, else whole rows).
    fn flush(&mut self, last: bool) {
        let item = &self.plan.items[self.cursor];
        let ItemKind::Convert { shard, offset, planned, transpose } = &item.kind else { return };
        let reading = self.reading.as_mut().expect("flush while reading");
        let row = if planned.stored.is_quantized() { planned.shape[1] } else { 1 };
        let n = if last { reading.staged.len() } else { reading.staged.len() / row * row };
        if n == 0 {
            return;
        }
        let plan = &self.plan;
        let buffer = self.filling.entry(*shard).or_insert_with(|| {
            let mut b = vec![0u8; plan.shards[*shard].bytes as usize];
            b[..plan.shards[*shard].header.len()].copy_from_slice(&plan.shards[*shard].header);
            b
        });
        let out = &mut buffer[*offset as usize..(*offset + planned.length) as usize];
        let values: Vec<f32> = reading.staged.drain(..n).collect();
        let values = if *transpose { encode::transpose(&values, planned.shape[1], planned.shape[0]) } else { values };
        encode::write_values(planned.stored, &planned.shape, reading.written, &values, out, &mut reading.stats);
        reading.written += n;
    }

    /// The current tensor has passed: encode the rest, and hand back its shard if it was the last.
    fn complete(&mut self) -> Result<Option<FinishedShard>, String> {
        self.flush(true);
        let reading = self.reading.take().expect("complete while reading");
        let item = &self.plan.items[self.cursor];
        let ItemKind::Convert { shard, planned, .. } = &item.kind else { return Ok(None) };
        let expected: usize = planned.shape.iter().product();
        if reading.written != expected || !reading.carry.is_empty() {
            return Err(format!("{}: read {} values, expected {expected} (a bug or a damaged header)", item.source, reading.written));
        }
        self.stats.push(TensorStats {
            name: planned.name.clone(),
            class: planned.class.clone(),
            stored: planned.stored,
            values: expected as u64,
            bytes: planned.length,
            error: reading.stats.relative(),
        });
        self.missing[*shard] -= 1;
        if self.missing[*shard] > 0 {
            return Ok(None);
        }
        let shard = *shard;
        let bytes = match self.filling.remove(&shard) {
            Some(b) => b,
            // A shard of empty tensors only: its header is all there is.
            None => self.plan.shards[shard].header.clone(),
        };
        self.finished[shard] = true;
        Ok(Some(FinishedShard { index: shard, sha256: sha256_hex(&bytes), bytes }))
    }

    /// Every shard produced (here or before)? Then the per-tensor statistics of this session.
    pub fn finish(self) -> Result<(ConversionPlan, Vec<TensorStats>), String> {
        if let Some(i) = self.finished.iter().position(|f| !f) {
            return Err(format!("the source ended before shard {} was complete (a cut download, or a damaged source file)", self.plan.shards[i].file));
        }
        Ok((self.plan, self.stats))
    }
}
