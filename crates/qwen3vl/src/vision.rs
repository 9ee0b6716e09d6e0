//! The ViT: patch embedding (the Conv3d over temporal x patch x patch is a linear layer on the
//! processor's flattened patches), learned positions resampled to the grid, blocks of LayerNorm +
//! attention with 2-D rotary angles + LayerNorm + tanh-GELU MLP, and patch mergers that fold each
//! merge x merge block of patches into one token of the decoder's width: the final merger for the
//! image tokens, one DeepStack merger per listed block for the features added into the first
//! decoder layers. Activations are [patches, C] in the processor's merge-block order, so a
//! merger's [patches / m^2, m^2 C] is the same buffer reshaped.

use visionllm_gpu::ops::attention::{attention_into, AttentionSpec, Rows};
use visionllm_gpu::ops::elementwise;
use visionllm_gpu::ops::linear::Epilogue;
use visionllm_gpu::ops::rope::rope;
use visionllm_gpu::{Recorder, Tensor};
use visionllm_modelkit::{LayerNorm, Linear, Loader, ModelError, Result, Tap};

use crate::config::Qwen3VlConfig;
use crate::positions::{interpolated_positions, patch_positions, vision_rotary, Grid};

/// LayerNorm eps of every ViT norm (fixed in the reference, not in the config).
const VIT_EPS: f32 = 1e-6;

struct Block {
    norm1: LayerNorm,
    qkv: Linear,
    proj: Linear,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

/// Folds merge x merge patches into one decoder-width token: LayerNorm (over C per patch, or
/// over the folded m^2 C for the DeepStack mergers), Linear, exact GELU, Linear.
struct Merger {
    norm: LayerNorm,
    norm_after_fold: bool,
    fc1: Linear,
    fc2: Linear,
}

impl Merger {
    fn load(l: &Loader, p: &str, c: usize, unit: usize, out: usize, norm_after_fold: bool) -> Result<Merger> {
        let folded = c * unit;
        Ok(Merger {
            norm: LayerNorm::load(l, &format!("{p}.norm"), if norm_after_fold { folded } else { c }, VIT_EPS)?,
            norm_after_fold,
            fc1: Linear::load(l, &format!("{p}.linear_fc1"), folded, folded, true)?,
            fc2: Linear::load(l, &format!("{p}.linear_fc2"), out, folded, true)?,
        })
    }

    fn forward(&self, rec: &mut Recorder, x: &Tensor, unit: usize) -> Result<Tensor> {
        let (n, c) = x.dims2();
        let folded = [n / unit, c * unit];
        let normed = if self.norm_after_fold { self.norm.forward(rec, &x.reshape(&folded))? } else { self.norm.forward(rec, x)?.reshape(&folded) };
        let h = self.fc1.forward_with(rec, &normed, Epilogue::Gelu)?;
        Ok(self.fc2.forward(rec, &h)?)
    }
}

pub(crate) struct VisionTower {
    patch_embed: Linear,
    /// The learned position grid [side^2, C], kept on the CPU: each image resamples it.
    pos_table: Vec<f32>,
    side: usize,
    blocks: Vec<Block>,
    merger: Merger,
    deepstack: Vec<(usize, Merger)>,
    c: usize,
    heads: usize,
    merge: usize,
    theta: f64,
    pub patch_len: usize,
}

/// What the tower hands the decoder: the image tokens and the DeepStack features, each
/// [image tokens, d], in the order of the decoder layers they are added after.
pub struct VisionOutput {
    pub image_embeds: Tensor,
    pub deepstack: Vec<Tensor>,
}

impl VisionTower {
    pub fn load(l: &Loader, cfg: &Qwen3VlConfig) -> Result<VisionTower> {
        let v = &cfg.vision_config;
        let (c, p, t) = (v.hidden_size, v.patch_size, v.temporal_patch_size);
        let patch_len = 3 * t * p * p;
        let pe = "model.visual.patch_embed.proj";
        let patch_embed = Linear { w: l.tensor(&format!("{pe}.weight"), &[c, 3, t, p, p])?.reshape(&[c, patch_len]), b: Some(l.tensor(&format!("{pe}.bias"), &[c])?) };
        let side = cfg.position_grid_side();
        let pos_table = l.values("model.visual.pos_embed.weight", &[side * side, c])?;
        let unit = v.spatial_merge_size * v.spatial_merge_size;
        let mut blocks = Vec::with_capacity(v.depth);
        for i in 0..v.depth {
            let b = format!("model.visual.blocks.{i}");
            blocks.push(Block {
                norm1: LayerNorm::load(l, &format!("{b}.norm1"), c, VIT_EPS)?,
                qkv: Linear::load(l, &format!("{b}.attn.qkv"), 3 * c, c, true)?,
                proj: Linear::load(l, &format!("{b}.attn.proj"), c, c, true)?,
                norm2: LayerNorm::load(l, &format!("{b}.norm2"), c, VIT_EPS)?,
                fc1: Linear::load(l, &format!("{b}.mlp.linear_fc1"), v.intermediate_size, c, true)?,
                fc2: Linear::load(l, &format!("{b}.mlp.linear_fc2"), c, v.intermediate_size, true)?,
            });
        }
        let merger = Merger::load(l, "model.visual.merger", c, unit, v.out_hidden_size, false)?;
        let mut deepstack = Vec::new();
        for (k, &layer) in v.deepstack_visual_indexes.iter().enumerate() {
            deepstack.push((layer, Merger::load(l, &format!("model.visual.deepstack_merger_list.{k}"), c, unit, v.out_hidden_size, true)?));
        }
        Ok(VisionTower { patch_embed, pos_table, side, blocks, merger, deepstack, c, heads: v.num_heads, merge: v.spatial_merge_size, theta: cfg.vision_rope_theta(), patch_len })
    }

    /// `patches` [grid.h * grid.w, patch_len] from the processor; the grid's sides are multiples
    /// of the merge size.
    pub fn forward(&self, rec: &mut Recorder, patches: &Tensor, grid: Grid, tap: Tap) -> Result<VisionOutput> {
        let n = grid.patches();
        if grid.h % self.merge != 0 || grid.w % self.merge != 0 || n == 0 || patches.shape != [n, self.patch_len] {
            return Err(ModelError::Input(format!("patches {:?} for a {}x{} grid (merge {})", patches.shape, grid.h, grid.w, self.merge)));
        }
        if n > visionllm_gpu::ops::attention::MAX_KEYS {
            return Err(ModelError::Input(format!("{n} patches exceed the {} the ViT's attention takes", visionllm_gpu::ops::attention::MAX_KEYS)));
        }
        let (c, heads) = (self.c, self.heads);
        let hd = c / heads;
        let positions = patch_positions(grid, self.merge);
        let mut x = self.patch_embed.forward(rec, patches)?;
        tap("vision.patch_embed", &x);
        let pos = interpolated_positions(&self.pos_table, self.side, c, grid, &positions);
        let pos = rec.upload_as(&[n, c], &pos, x.dtype);
        tap("vision.pos_embed", &pos);
        x = elementwise::add(rec, &x, &pos)?;
        let (cos, sin) = vision_rotary(&positions, hd, self.theta);
        let cos = rec.upload_f32(&[n, hd], &cos);
        let sin = rec.upload_f32(&[n, hd], &sin);
        tap("vision.rotary_cos", &cos);
        tap("vision.rotary_sin", &sin);
        let unit = self.merge * self.merge;
        let mut deepstack = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            let h = b.norm1.forward(rec, &x)?;
            let qkv = b.qkv.forward(rec, &h)?;
            // Rotate q and k (the first 2C columns) in place of a split; v rides along.
            let qkv = rope(rec, &qkv, &cos, &sin, hd, 2 * c)?;
            let mut spec = AttentionSpec::plain(n, n, heads, hd, None);
            spec.q = Rows { off: 0, rs: 3 * c };
            spec.k = Rows { off: c, rs: 3 * c };
            spec.v = Rows { off: 2 * c, rs: 3 * c };
            spec.o = Rows { off: 0, rs: c };
            let attn = rec.alloc(&[n, c], x.dtype);
            attention_into(rec, &qkv, &qkv, &qkv, &attn, &spec)?;
            x = b.proj.forward_with(rec, &attn, Epilogue::Residual(&x))?;
            let h = b.norm2.forward(rec, &x)?;
            let h = b.fc1.forward(rec, &h)?;
            let h = elementwise::gelu_tanh(rec, &h)?;
            x = b.fc2.forward_with(rec, &h, Epilogue::Residual(&x))?;
            tap(&format!("vision.block{i}"), &x);
            for (k, (layer, merger)) in self.deepstack.iter().enumerate() {
                if *layer == i {
                    let feature = merger.forward(rec, &x, unit)?;
                    tap(&format!("vision.deepstack{k}"), &feature);
                    deepstack.push((k, feature));
                }
            }
        }
        let image_embeds = self.merger.forward(rec, &x, unit)?;
        tap("vision.image_embeds", &image_embeds);
        // In the order of deepstack_visual_indexes (feature k goes after decoder layer k).
        deepstack.sort_by_key(|(k, _)| *k);
        Ok(VisionOutput { image_embeds, deepstack: deepstack.into_iter().map(|(_, t)| t).collect() })
    }
}
