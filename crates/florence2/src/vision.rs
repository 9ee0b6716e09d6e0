//! The DaViT vision tower. Activations are channels-last [H, W, C] (token h*W + w), which is
//! what every kernel reads; the reference keeps NCHW between sub-blocks, the math is the same.

use visionllm_gpu::ops::linear::Epilogue;
use visionllm_gpu::ops::{attention, channel_attention, conv, copy};
use visionllm_gpu::{Recorder, Tensor};

use crate::config::VisionConfig;
use crate::load::{norm, Linear, Loader, Norm};
use crate::model::Result;

/// A callback that sees named intermediate tensors (tests compare them with the reference).
pub use visionllm_modelkit::Tap;

struct ConvEmbed {
    w: Tensor,
    b: Tensor,
    norm: Norm,
    pre_norm: bool,
    stride: usize,
    pad: usize,
}

/// One of the two halves of a block: depthwise conv, attention (window or channel), depthwise
/// conv, MLP; each with its residual.
struct SubBlock {
    conv1: (Tensor, Tensor),
    norm1: Norm,
    qkv: Linear,
    proj: Linear,
    conv2: (Tensor, Tensor),
    norm2: Norm,
    fc1: Linear,
    fc2: Linear,
}

struct Block {
    spatial: SubBlock,
    channel: SubBlock,
}

pub struct VisionTower {
    cfg: VisionConfig,
    convs: Vec<ConvEmbed>,
    stages: Vec<Vec<Block>>,
}

impl SubBlock {
    fn load(l: &Loader, p: &str, attn: &str, dim: usize, hidden: usize) -> Result<SubBlock> {
        let dw = |name: &str| -> Result<(Tensor, Tensor)> {
            Ok((l.tensor(&format!("{p}.{name}.weight"), &[dim, 1, 3, 3])?, l.tensor(&format!("{p}.{name}.bias"), &[dim])?))
        };
        Ok(SubBlock {
            conv1: dw("conv1")?,
            norm1: norm(l, &format!("{p}.norm1"), dim)?,
            qkv: Linear::load(l, &format!("{p}.{attn}.qkv"), 3 * dim, dim, true)?,
            proj: Linear::load(l, &format!("{p}.{attn}.proj"), dim, dim, true)?,
            conv2: dw("conv2")?,
            norm2: norm(l, &format!("{p}.norm2"), dim)?,
            fc1: Linear::load(l, &format!("{p}.ffn.fc1"), hidden, dim, true)?,
            fc2: Linear::load(l, &format!("{p}.ffn.fc2"), dim, hidden, true)?,
        })
    }

    /// x [H, W, C] -> [H, W, C]. `attend` maps LN(x) [H, W, C] to the attention output before
    /// `proj`, [H*W, C].
    fn forward(&self, rec: &mut Recorder, x: &Tensor, attend: impl FnOnce(&mut Recorder, &Tensor, &Linear) -> Result<Tensor>) -> Result<Tensor> {
        // Every residual is fused into the op before it (the conv's or the linear layer's store).
        let shape = x.shape.clone();
        let x = conv::dwconv3x3_residual(rec, x, &self.conv1.0, Some(&self.conv1.1))?;
        let y = self.norm1.forward(rec, &x)?;
        let a = attend(rec, &y, &self.qkv)?;
        let x = self.proj.forward_with(rec, &a, Epilogue::Residual(&x))?.reshape(&shape);
        let x = conv::dwconv3x3_residual(rec, &x, &self.conv2.0, Some(&self.conv2.1))?;
        let y = self.norm2.forward(rec, &x)?;
        let h = self.fc1.forward_with(rec, &y, Epilogue::Gelu)?;
        Ok(self.fc2.forward_with(rec, &h, Epilogue::Residual(&x))?.reshape(&shape))
    }
}

impl VisionTower {
    pub(crate) fn load(l: &Loader, cfg: &VisionConfig) -> Result<VisionTower> {
        let mut convs = Vec::new();
        let mut stages = Vec::new();
        for s in 0..cfg.embed_dim.len() {
            let dim = cfg.embed_dim[s];
            let cin = if s == 0 { 3 } else { cfg.embed_dim[s - 1] };
            let k = cfg.patch_size[s];
            let p = format!("model.vision_tower.convs.{s}");
            convs.push(ConvEmbed {
                w: l.tensor(&format!("{p}.conv.weight"), &[dim, cin, k, k])?,
                b: l.tensor(&format!("{p}.conv.bias"), &[dim])?,
                norm: norm(l, &format!("{p}.norm"), if cfg.patch_prenorm[s] { cin } else { dim })?,
                pre_norm: cfg.patch_prenorm[s],
                stride: cfg.patch_stride[s],
                pad: cfg.patch_padding[s],
            });
            let hidden = (dim as f64 * cfg.mlp_ratio) as usize;
            let mut blocks = Vec::new();
            for b in 0..cfg.depths[s] {
                let p = format!("model.vision_tower.blocks.{s}.{b}");
                blocks.push(Block {
                    spatial: SubBlock::load(l, &format!("{p}.spatial_block"), "window_attn", dim, hidden)?,
                    channel: SubBlock::load(l, &format!("{p}.channel_block"), "channel_attn", dim, hidden)?,
                });
            }
            stages.push(blocks);
        }
        Ok(VisionTower { cfg: cfg.clone(), convs, stages })
    }

    /// pixels [S, S, 3] (channels-last) -> last stage [H, W, C].
    pub fn forward(&self, rec: &mut Recorder, pixels: &Tensor, tap: Tap) -> Result<Tensor> {
        let mut x = pixels.clone();
        for (s, (embed, blocks)) in self.convs.iter().zip(&self.stages).enumerate() {
            if embed.pre_norm {
                x = embed.norm.forward(rec, &x)?;
            }
            x = conv::conv2d(rec, &x, &embed.w, Some(&embed.b), [embed.stride; 2], [embed.pad; 2])?;
            if !embed.pre_norm {
                x = embed.norm.forward(rec, &x)?;
            }
            tap(&format!("vision.patch_embed{s}"), &x);
            for (b, block) in blocks.iter().enumerate() {
                let (heads, groups, window) = (self.cfg.num_heads[s], self.cfg.num_groups[s], self.cfg.window_size);
                x = block.spatial.forward(rec, &x, |rec, y, qkv| window_branch(rec, y, qkv, heads, window))?;
                tap(&format!("vision.stage{s}.block{b}.spatial"), &x);
                x = block.channel.forward(rec, &x, |rec, y, qkv| {
                    let (h, w, c) = (y.shape[0], y.shape[1], y.shape[2]);
                    let q = qkv.forward(rec, &y.reshape(&[h * w, c]))?;
                    Ok(channel_attention::channel_attention(rec, &q, groups)?)
                })?;
                if b + 1 < blocks.len() {
                    tap(&format!("vision.stage{s}.block{b}"), &x);
                }
            }
            tap(&format!("vision.stage{s}"), &x);
        }
        Ok(x)
    }
}

/// Window attention on LN(x) [H, W, C]: zero-pad to a multiple of the window (after the norm, as
/// the reference does: padded tokens then carry the qkv bias as keys and values), attend, crop.
fn window_branch(rec: &mut Recorder, y: &Tensor, qkv: &Linear, heads: usize, window: usize) -> Result<Tensor> {
    let (h, w, c) = (y.shape[0], y.shape[1], y.shape[2]);
    let (hp, wp) = (h.next_multiple_of(window), w.next_multiple_of(window));
    let padded = if (hp, wp) == (h, w) { y.clone() } else { copy::pad(rec, y, &[0, 0, 0], &[hp - h, wp - w, 0])? };
    let q = qkv.forward(rec, &padded)?;
    let a = attention::window_attention(rec, &q, heads, window)?;
    let a = if (hp, wp) == (h, w) { a } else { copy::slice(rec, &a, &[0, 0, 0], &[h, w, c])? };
    Ok(a.reshape(&[h * w, c]))
}
