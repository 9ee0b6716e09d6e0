//! The multi-modal projector: image tokens of the last vision stage -> language-model embeddings.
//! 1. add the learned 2D position table `[column(w) (C - C/2 channels) ; row(h) (C/2)]`;
//! 2. add row 0 of the sin/cos temporal table (interleaved: +1 on odd channels in practice);
//! 3. prepend the mean over all tokens; 4. `image_projection` (no bias), `image_proj_norm`.
//! Steps 1-2 are one table per grid size, built on the CPU from the small learned tables.

use std::collections::HashMap;
use std::sync::Mutex;

use visionllm_gpu::ops::{copy, elementwise, pool};
use visionllm_gpu::{Recorder, Tensor};

use crate::config::Florence2Config;
use crate::load::{norm, Linear, Loader, Norm};
use crate::model::{ModelError, Result};

pub struct Projector {
    column: Vec<f32>,
    row: Vec<f32>,
    temporal0: Vec<f32>,
    max_pos: usize,
    dim: usize,
    projection: Linear,
    norm: Norm,
    /// (h, w) -> position + temporal table [h*w, C], uploaded once per grid size.
    tables: Mutex<HashMap<(usize, usize), Tensor>>,
    dtype: visionllm_gpu::DType,
}

impl Projector {
    pub(crate) fn load(l: &Loader, cfg: &Florence2Config) -> Result<Projector> {
        let c = *cfg.vision_config.embed_dim.last().unwrap();
        let n = cfg.vision_config.max_position_embeddings;
        let p = "model.multi_modal_projector";
        let (_, temporal) = l.ckpt.f32(&format!("{p}.visual_temporal_embed.pos_idx_to_embed"))?;
        if temporal.len() < c {
            return Err(ModelError::Config(format!("{p}.visual_temporal_embed.pos_idx_to_embed is smaller than one row of {c}")));
        }
        Ok(Projector {
            column: l.values(&format!("{p}.image_position_embed.column_embeddings.weight"), &[n, c - c / 2])?,
            row: l.values(&format!("{p}.image_position_embed.row_embeddings.weight"), &[n, c / 2])?,
            temporal0: temporal[..c].to_vec(),
            max_pos: n,
            dim: c,
            projection: Linear::load(l, &format!("{p}.image_projection"), cfg.vision_config.projection_dim, c, false)?,
            norm: norm(l, &format!("{p}.image_proj_norm"), cfg.vision_config.projection_dim)?,
            tables: Mutex::new(HashMap::new()),
            dtype: l.dtype,
        })
    }

    fn table(&self, device: &visionllm_gpu::Device, h: usize, w: usize) -> Result<Tensor> {
        if h > self.max_pos || w > self.max_pos {
            return Err(ModelError::Config(format!("image grid {h}x{w} exceeds the {} learned positions", self.max_pos)));
        }
        let mut tables = self.tables.lock().unwrap();
        if let Some(t) = tables.get(&(h, w)) {
            return Ok(t.clone());
        }
        let c = self.dim;
        let half = c / 2;
        let mut values = vec![0f32; h * w * c];
        for y in 0..h {
            for x in 0..w {
                let out = &mut values[(y * w + x) * c..(y * w + x + 1) * c];
                out[..c - half].copy_from_slice(&self.column[x * (c - half)..(x + 1) * (c - half)]);
                out[c - half..].copy_from_slice(&self.row[y * half..(y + 1) * half]);
                for (o, t) in out.iter_mut().zip(&self.temporal0) {
                    *o += t;
                }
            }
        }
        let t = visionllm_modelkit::loader::upload_values(device, &[h * w, c], &values, self.dtype, "projector positions");
        tables.insert((h, w), t.clone());
        Ok(t)
    }

    /// x [H, W, C] (last vision stage) -> image features [1 + H*W, projection_dim].
    pub fn forward(&self, rec: &mut Recorder, x: &Tensor) -> Result<Tensor> {
        let (h, w, c) = (x.shape[0], x.shape[1], x.shape[2]);
        let tokens = x.reshape(&[h * w, c]);
        let table = self.table(rec.device(), h, w)?;
        let tokens = elementwise::add(rec, &tokens, &table)?;
        let mean = pool::mean_pool(rec, &tokens)?;
        let all = copy::concat(rec, &[&mean, &tokens], 0)?;
        let projected = self.projection.forward(rec, &all)?;
        Ok(self.norm.forward(rec, &projected)?)
    }
}
