//! A [rows, cols] table too large for one GPU binding (Qwen3-VL's 151,936-token embedding, tied
//! to its lm_head: 175 MB at Q4, 622 MB at f16; WebGPU guarantees 128 MiB per binding) held as
//! row parts. The converter writes the parts (`NAME.part000`, ..: `conversion_plan::row_parts`);
//! a table small enough is one part, and then this is exactly one embedding gather and one matmul.
//!
//! Gathering rows from parts needs no kernel of its own: the ids are known on the CPU, so each run
//! of consecutive positions whose ids fall in one part is one gather from that part, written into
//! the output rows (prompts alternate parts rarely: text ids are low, the special tokens sit at
//! the top of the vocabulary). The logits are one matmul per part, concatenated along the vocab.

use visionllm_gpu::ops::attention::kv_cache_append;
use visionllm_gpu::ops::copy::concat;
use visionllm_gpu::ops::embedding::embedding_as;
use visionllm_gpu::ops::linear::linear;
use visionllm_gpu::{DType, Recorder, Tensor};
use visionllm_weights::conversion_plan::part_name;

use crate::{Loader, ModelError, Result};

pub struct RowSplitTable {
    /// (first row, part [rows, cols]) in row order.
    parts: Vec<(usize, Tensor)>,
    pub rows: usize,
    pub cols: usize,
}

impl RowSplitTable {
    /// `name` whole, or its row parts `name.part000`, `name.part001`, .. in order; together they
    /// must be `shape` [rows, cols].
    pub fn load(l: &Loader, name: &str, shape: &[usize]) -> Result<RowSplitTable> {
        let &[rows, cols] = shape else {
            return Err(ModelError::Config(format!("{name}: a table is [rows, cols], not {shape:?}")));
        };
        if l.ckpt.contains(name) {
            return Ok(RowSplitTable { parts: vec![(0, l.matmul_weight(name, shape)?)], rows, cols });
        }
        let mut parts = Vec::new();
        let mut at = 0usize;
        while l.ckpt.contains(&part_name(name, parts.len())) {
            let part = part_name(name, parts.len());
            let part_rows = match l.ckpt.shape(&part)? {
                &[r, c] if c == cols && r > 0 && at + r <= rows => r,
                other => return Err(ModelError::Config(format!("{part} is {other:?}: not a row part of {name} {shape:?} at row {at}"))),
            };
            parts.push((at, l.matmul_weight(&part, &[part_rows, cols])?));
            at += part_rows;
        }
        if parts.is_empty() {
            return Err(visionllm_weights::WeightsError::Missing(name.to_string()).into());
        }
        if at != rows {
            return Err(ModelError::Config(format!("the parts of {name} hold {at} rows; the model needs {rows}")));
        }
        Ok(RowSplitTable { parts, rows, cols })
    }

    pub fn part_count(&self) -> usize {
        self.parts.len()
    }

    /// Which part holds `row`, and the row within it.
    fn locate(&self, row: usize) -> Result<(usize, u32)> {
        if row >= self.rows {
            return Err(ModelError::Input(format!("row {row} of a {}-row table", self.rows)));
        }
        let p = self.parts.partition_point(|(first, _)| *first <= row) - 1;
        Ok((p, (row - self.parts[p].0) as u32))
    }

    /// Rows `ids` -> [ids, cols] in `dtype`.
    pub fn gather(&self, rec: &mut Recorder, ids: &[u32], dtype: DType) -> Result<Tensor> {
        let located = ids.iter().map(|&id| self.locate(id as usize)).collect::<Result<Vec<_>>>()?;
        if self.parts.len() == 1 {
            let local: Vec<u32> = located.iter().map(|&(_, r)| r).collect();
            let ids = rec.upload_u32(&[local.len()], &local);
            return Ok(embedding_as(rec, &self.parts[0].1, &ids, dtype)?);
        }
        let out = rec.zeros(&[ids.len(), self.cols], dtype);
        let mut start = 0;
        while start < located.len() {
            let part = located[start].0;
            let end = located[start..].iter().position(|&(p, _)| p != part).map_or(located.len(), |n| start + n);
            let local: Vec<u32> = located[start..end].iter().map(|&(_, r)| r).collect();
            let run_ids = rec.upload_u32(&[local.len()], &local);
            let rows = embedding_as(rec, &self.parts[part].1, &run_ids, dtype)?;
            kv_cache_append(rec, &out, &rows, start)?;
            start = end;
        }
        Ok(out)
    }

    /// x [n, cols] against every row: [n, rows] (the lm_head of a tied embedding).
    pub fn logits(&self, rec: &mut Recorder, x: &Tensor) -> Result<Tensor> {
        if self.parts.len() == 1 {
            return Ok(linear(rec, x, &self.parts[0].1, None)?);
        }
        let pieces = self.parts.iter().map(|(_, w)| linear(rec, x, w, None)).collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(concat(rec, &pieces.iter().collect::<Vec<_>>(), 1)?)
    }
}
