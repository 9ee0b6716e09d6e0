//! Key names of the original Microsoft Florence-2 checkpoints (`microsoft/Florence-2-*`, remote
//! code) mapped to the native transformers layout the model loads (mapping in
//! /work/shared/florence2.md, "Checkpoints a user will point the app at"). Those checkpoints ship
//! as `pytorch_model.bin` (a pickle, which we do not read): the converter takes them once they are
//! saved as safetensors with their original names.

/// What becomes of one Microsoft-layout tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mapped {
    Name(String),
    /// Stored [in, out] there, [out, in] in the native layout (`image_projection`).
    Transposed(String),
    /// Not part of the native checkpoint (tied aliases, the all-zero BART `final_logits_bias`).
    Drop,
}

/// True when the names look like the Microsoft layout.
pub fn is_microsoft_layout<'a>(mut names: impl Iterator<Item = &'a str>) -> bool {
    names.any(|n| n == "image_projection" || n.starts_with("vision_tower.") || n.starts_with("language_model.model."))
}

pub fn to_native(name: &str) -> Mapped {
    const DROPPED: [&str; 4] = [
        "language_model.lm_head.weight",
        "language_model.final_logits_bias",
        "language_model.model.encoder.embed_tokens.weight",
        "language_model.model.decoder.embed_tokens.weight",
    ];
    if DROPPED.contains(&name) {
        return Mapped::Drop;
    }
    if name == "image_projection" {
        return Mapped::Transposed("model.multi_modal_projector.image_projection.weight".into());
    }
    if let Some(rest) = name.strip_prefix("language_model.model.") {
        return Mapped::Name(format!("model.language_model.{rest}"));
    }
    for (from, to) in [("image_proj_norm.", "image_proj_norm."), ("image_pos_embed.", "image_position_embed."), ("visual_temporal_embed.", "visual_temporal_embed.")] {
        if let Some(rest) = name.strip_prefix(from) {
            return Mapped::Name(format!("model.multi_modal_projector.{to}{rest}"));
        }
    }
    if let Some(rest) = name.strip_prefix("vision_tower.") {
        let mut n = format!(".{rest}");
        // Order matters: the norms inside the PreNorm wrappers before the wrappers themselves.
        for (from, to) in [
            (".conv1.fn.dw.", ".conv1."),
            (".conv2.fn.dw.", ".conv2."),
            (".window_attn.norm.", ".norm1."),
            (".channel_attn.norm.", ".norm1."),
            (".window_attn.fn.", ".window_attn."),
            (".channel_attn.fn.", ".channel_attn."),
            (".ffn.norm.", ".norm2."),
            (".ffn.fn.net.", ".ffn."),
        ] {
            n = n.replace(from, to);
        }
        if let Some(i) = n.strip_prefix(".convs.").and_then(|r| r.split_once(".proj.")) {
            n = format!(".convs.{}.conv.{}", i.0, i.1);
        }
        return Mapped::Name(format!("model.vision_tower{n}"));
    }
    Mapped::Name(name.to_string())
}

/// The inverse, for tests that make a Microsoft-layout checkpoint out of a native one.
pub fn from_native(name: &str) -> (String, bool) {
    if name == "model.multi_modal_projector.image_projection.weight" {
        return ("image_projection".into(), true);
    }
    if let Some(rest) = name.strip_prefix("model.language_model.") {
        return (format!("language_model.model.{rest}"), false);
    }
    if let Some(rest) = name.strip_prefix("model.multi_modal_projector.") {
        return (rest.replace("image_position_embed.", "image_pos_embed."), false);
    }
    if let Some(rest) = name.strip_prefix("model.vision_tower.") {
        let mut n = format!(".{rest}");
        for (from, to) in [(".conv1.", ".conv1.fn.dw."), (".conv2.", ".conv2.fn.dw."), (".ffn.", ".ffn.fn.net."), (".norm2.", ".ffn.norm.")] {
            n = n.replace(from, to);
        }
        let attn = if n.contains(".spatial_block.") { "window_attn" } else { "channel_attn" };
        n = n.replace(".norm1.", &format!(".{attn}.norm.")).replace(".window_attn.qkv", ".window_attn.fn.qkv").replace(".window_attn.proj", ".window_attn.fn.proj");
        n = n.replace(".channel_attn.qkv", ".channel_attn.fn.qkv").replace(".channel_attn.proj", ".channel_attn.fn.proj");
        if let Some((i, r)) = n.strip_prefix(".convs.").and_then(|r| r.split_once(".conv.")) {
            n = format!(".convs.{i}.proj.{r}");
        }
        return (format!("vision_tower{n}"), false);
    }
    (name.to_string(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_renames() {
        let cases = [
            ("vision_tower.convs.0.proj.weight", "model.vision_tower.convs.0.conv.weight"),
            ("vision_tower.convs.2.norm.bias", "model.vision_tower.convs.2.norm.bias"),
            ("vision_tower.blocks.2.3.spatial_block.conv1.fn.dw.weight", "model.vision_tower.blocks.2.3.spatial_block.conv1.weight"),
            ("vision_tower.blocks.0.0.spatial_block.window_attn.norm.weight", "model.vision_tower.blocks.0.0.spatial_block.norm1.weight"),
            ("vision_tower.blocks.0.0.spatial_block.window_attn.fn.qkv.bias", "model.vision_tower.blocks.0.0.spatial_block.window_attn.qkv.bias"),
            ("vision_tower.blocks.0.0.channel_block.channel_attn.fn.proj.weight", "model.vision_tower.blocks.0.0.channel_block.channel_attn.proj.weight"),
            ("vision_tower.blocks.0.0.channel_block.conv2.fn.dw.bias", "model.vision_tower.blocks.0.0.channel_block.conv2.bias"),
            ("vision_tower.blocks.1.0.channel_block.ffn.norm.weight", "model.vision_tower.blocks.1.0.channel_block.norm2.weight"),
            ("vision_tower.blocks.1.0.channel_block.ffn.fn.net.fc2.weight", "model.vision_tower.blocks.1.0.channel_block.ffn.fc2.weight"),
            ("image_pos_embed.row_embeddings.weight", "model.multi_modal_projector.image_position_embed.row_embeddings.weight"),
            ("language_model.model.encoder.layers.0.fc1.weight", "model.language_model.encoder.layers.0.fc1.weight"),
            ("language_model.model.shared.weight", "model.language_model.shared.weight"),
        ];
        for (ms, native) in cases {
            assert_eq!(to_native(ms), Mapped::Name(native.into()), "{ms}");
            assert_eq!(from_native(native), (ms.to_string(), false), "{native}");
        }
        assert_eq!(to_native("image_projection"), Mapped::Transposed("model.multi_modal_projector.image_projection.weight".into()));
        assert_eq!(to_native("language_model.lm_head.weight"), Mapped::Drop);
    }
}
