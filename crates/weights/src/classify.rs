//! Which tensors are which (native key names of Florence-2 and Qwen3-VL), and how each class is
//! stored.
//!
//! Only the weights that go through `linear` (qkv, proj, fc1, fc2, q/k/v/out_proj,
//! image_projection) are quantized: they are ~80% of the parameters and the quantized kernels read
//! them directly. The tied `shared` table is both the word embedding (a gather) and the lm_head (a
//! matmul); it follows its own setting (by default the same as the matmul weights, which is what
//! brings Florence-2-base Q4 under 150 MB): the loader keeps it quantized for the lm_head and
//! dequantizes one dense copy for the gather. Norms, biases, convolutions and position tables are
//! small and precision-sensitive; they stay f16 (or f32 when everything is asked f32).

use crate::manifest::Stored;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Matmul,
    Embedding,
    Norm,
    Bias,
    Conv,
    Position,
    Other,
}

pub const CLASSES: [Class; 7] = [Class::Matmul, Class::Embedding, Class::Norm, Class::Bias, Class::Conv, Class::Position, Class::Other];

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Matmul => "matmul",
            Class::Embedding => "embedding",
            Class::Norm => "norm",
            Class::Bias => "bias",
            Class::Conv => "conv",
            Class::Position => "position",
            Class::Other => "other",
        }
    }
}

/// The native name of the tied word embedding / lm_head table.
pub const SHARED: &str = "model.language_model.shared.weight";

/// Aliases of `SHARED` that `save_pretrained` leaves out and the converter drops if present
/// (`lm_head.weight` only beside `SHARED`: a Qwen3-VL checkpoint with untied embeddings needs its own).
pub const TIED_ALIASES: [&str; 3] = ["lm_head.weight", "model.language_model.encoder.embed_tokens.weight", "model.language_model.decoder.embed_tokens.weight"];

/// Qwen3-VL's token embedding (tied to its lm_head in the 2B model), and an untied lm_head.
pub const QWEN_EMBEDDING: [&str; 2] = ["model.language_model.embed_tokens.weight", "lm_head.weight"];

const MATMUL_MODULES: [&str; 15] = [
    // Florence-2
    "qkv", "proj", "fc1", "fc2", "q_proj", "k_proj", "v_proj", "out_proj", "image_projection",
    // Qwen3-VL (its ViT shares qkv and proj)
    "o_proj", "gate_proj", "up_proj", "down_proj", "linear_fc1", "linear_fc2",
];

pub fn classify(name: &str, shape: &[usize]) -> Class {
    if name == SHARED || QWEN_EMBEDDING.contains(&name) {
        return Class::Embedding;
    }
    if name.contains("embed_positions") || name.contains("image_position_embed") || name.contains("pos_idx_to_embed") || name.ends_with("visual.pos_embed.weight") {
        return Class::Position;
    }
    let (module, leaf) = name.rsplit_once('.').unwrap_or(("", name));
    let last = module.rsplit('.').next().unwrap_or("");
    if last.contains("norm") {
        return Class::Norm;
    }
    if leaf == "bias" {
        return Class::Bias;
    }
    // Florence-2's Conv2d [out, in, kh, kw]; Qwen3-VL's Conv3d patch embedding [out, in, t, kh, kw].
    if leaf == "weight" && shape.len() >= 4 {
        return Class::Conv;
    }
    if leaf == "weight" && shape.len() == 2 && MATMUL_MODULES.contains(&last) {
        return Class::Matmul;
    }
    Class::Other
}

/// What the converter was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Matmul weights: f32, f16, q8 or q4.
    pub matmul: Stored,
    /// The tied embedding / lm_head table.
    pub embedding: Stored,
    /// Everything else: f16, or f32.
    pub rest: Stored,
}

impl Plan {
    /// `--quant`: matmul weights and the embedding as asked, the rest f16 (f32 when asked f32).
    pub fn for_quant(quant: Stored) -> Plan {
        Plan { matmul: quant, embedding: quant, rest: if quant == Stored::F32 { Stored::F32 } else { Stored::F16 } }
    }

    pub fn stored(&self, class: Class) -> Stored {
        match class {
            Class::Matmul => self.matmul,
            Class::Embedding => self.embedding,
            _ => self.rest,
        }
    }

    /// As recorded in the manifest: class name -> stored dtype.
    pub fn table(&self) -> std::collections::BTreeMap<String, Stored> {
        CLASSES.iter().map(|c| (c.name().to_string(), self.stored(*c))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_of_representative_names() {
        let cases: [(&str, &[usize], Class); 12] = [
            ("model.vision_tower.blocks.2.3.spatial_block.window_attn.qkv.weight", &[1536, 512], Class::Matmul),
            ("model.vision_tower.blocks.2.3.channel_block.channel_attn.proj.weight", &[512, 512], Class::Matmul),
            ("model.vision_tower.blocks.0.0.channel_block.ffn.fc2.weight", &[128, 512], Class::Matmul),
            ("model.multi_modal_projector.image_projection.weight", &[768, 1024], Class::Matmul),
            ("model.language_model.decoder.layers.0.encoder_attn.out_proj.weight", &[768, 768], Class::Matmul),
            ("model.language_model.decoder.layers.0.encoder_attn_layer_norm.weight", &[768], Class::Norm),
            ("model.vision_tower.convs.1.norm.bias", &[128], Class::Norm),
            ("model.vision_tower.convs.1.conv.weight", &[256, 128, 3, 3], Class::Conv),
            ("model.vision_tower.blocks.0.0.spatial_block.conv1.weight", &[128, 1, 3, 3], Class::Conv),
            ("model.language_model.encoder.layers.0.fc1.bias", &[3072], Class::Bias),
            ("model.multi_modal_projector.image_position_embed.row_embeddings.weight", &[50, 512], Class::Position),
            (SHARED, &[51328, 768], Class::Embedding),
        ];
        for (name, shape, want) in cases {
            assert_eq!(classify(name, shape), want, "{name}");
        }
    }
}
