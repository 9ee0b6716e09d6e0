//! BART encoder-decoder (post-LN), as Florence-2 uses it: learned positions with offset 2 that
//! count the image tokens, `layernorm_embedding` after the sum, no final LayerNorm, `lm_head`
//! tied to `shared` without bias. The decoder keeps a self-attention KV cache per layer (modelkit's)
//! that grows by one row per step; cross-attention K/V are computed once per image.

use std::sync::Arc;

use visionllm_gpu::ops::{attention, copy, elementwise, embedding, qmatmul};
use visionllm_gpu::ops::linear::Epilogue;
use visionllm_gpu::{DType, Recorder, Tensor};
use visionllm_modelkit::KvCache;

use crate::config::TextConfig;
use crate::load::{norm, Linear, Loader, Norm};
use crate::model::{ModelError, Result};
use crate::vision::Tap;

const POSITION_OFFSET: usize = 2;

struct Attn {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
}

impl Attn {
    fn load(l: &Loader, p: &str, d: usize) -> Result<Attn> {
        Ok(Attn {
            q: Linear::load(l, &format!("{p}.q_proj"), d, d, true)?,
            k: Linear::load(l, &format!("{p}.k_proj"), d, d, true)?,
            v: Linear::load(l, &format!("{p}.v_proj"), d, d, true)?,
            o: Linear::load(l, &format!("{p}.out_proj"), d, d, true)?,
        })
    }
}

struct Ffn {
    fc1: Linear,
    fc2: Linear,
}

impl Ffn {
    fn load(l: &Loader, p: &str, d: usize, hidden: usize) -> Result<Ffn> {
        Ok(Ffn { fc1: Linear::load(l, &format!("{p}.fc1"), hidden, d, true)?, fc2: Linear::load(l, &format!("{p}.fc2"), d, hidden, true)? })
    }

    /// Post-LN: LN(x + fc2(GELU(fc1(x)))), the GELU and the residual fused into the two stores.
    fn forward_add_norm(&self, rec: &mut Recorder, x: &Tensor, norm: &Norm) -> Result<Tensor> {
        let h = self.fc1.forward_with(rec, x, Epilogue::Gelu)?;
        let sum = self.fc2.forward_with(rec, &h, Epilogue::Residual(x))?;
        Ok(norm.forward(rec, &sum)?)
    }
}

/// Post-LN residual after attention: LN(x + out_proj(h)), the residual fused into the store.
fn project_add_norm(rec: &mut Recorder, out_proj: &Linear, h: &Tensor, x: &Tensor, norm: &Norm) -> Result<Tensor> {
    let sum = out_proj.forward_with(rec, h, Epilogue::Residual(x))?;
    Ok(norm.forward(rec, &sum)?)
}

struct EncoderLayer {
    attn: Attn,
    attn_norm: Norm,
    ffn: Ffn,
    ffn_norm: Norm,
}

struct DecoderLayer {
    attn: Attn,
    attn_norm: Norm,
    cross: Attn,
    cross_norm: Norm,
    ffn: Ffn,
    ffn_norm: Norm,
}

pub struct LanguageModel {
    cfg: TextConfig,
    /// The tied word embedding / lm_head table: dense in the activation dtype, or quantized as
    /// the checkpoint stores it (the gather then dequantizes the rows it reads, so a quantized
    /// model never holds a dense copy: 158 MB for base, 210 MB for large as f32).
    shared: Tensor,
    enc_pos: Tensor,
    enc_norm: Norm,
    enc_layers: Vec<EncoderLayer>,
    dec_pos: Tensor,
    dec_norm: Norm,
    dec_layers: Vec<DecoderLayer>,
    dtype: DType,
}

/// Per-sequence decoder state: the self-attention caches per layer and the cross-attention K/V
/// of the encoder output (shared between beams).
#[derive(Clone)]
pub struct DecoderState {
    cache: KvCache,
    cross: Arc<Vec<(Tensor, Tensor)>>,
}

impl LanguageModel {
    pub(crate) fn load(l: &Loader, cfg: &TextConfig) -> Result<LanguageModel> {
        let d = cfg.d_model;
        let p = "model.language_model";
        let positions = cfg.max_position_embeddings + POSITION_OFFSET;
        let mut enc_layers = Vec::new();
        for i in 0..cfg.encoder_layers {
            let q = format!("{p}.encoder.layers.{i}");
            enc_layers.push(EncoderLayer {
                attn: Attn::load(l, &format!("{q}.self_attn"), d)?,
                attn_norm: norm(l, &format!("{q}.self_attn_layer_norm"), d)?,
                ffn: Ffn::load(l, &q, d, cfg.encoder_ffn_dim)?,
                ffn_norm: norm(l, &format!("{q}.final_layer_norm"), d)?,
            });
        }
        let mut dec_layers = Vec::new();
        for i in 0..cfg.decoder_layers {
            let q = format!("{p}.decoder.layers.{i}");
            dec_layers.push(DecoderLayer {
                attn: Attn::load(l, &format!("{q}.self_attn"), d)?,
                attn_norm: norm(l, &format!("{q}.self_attn_layer_norm"), d)?,
                cross: Attn::load(l, &format!("{q}.encoder_attn"), d)?,
                cross_norm: norm(l, &format!("{q}.encoder_attn_layer_norm"), d)?,
                ffn: Ffn::load(l, &q, d, cfg.decoder_ffn_dim)?,
                ffn_norm: norm(l, &format!("{q}.final_layer_norm"), d)?,
            });
        }
        let shared_name = format!("{p}.shared.weight");
        let shared = l.matmul_weight(&shared_name, &[cfg.vocab_size, d])?;
        Ok(LanguageModel {
            cfg: cfg.clone(),
            shared,
            enc_pos: l.tensor(&format!("{p}.encoder.embed_positions.weight"), &[positions, d])?,
            enc_norm: norm(l, &format!("{p}.encoder.layernorm_embedding"), d)?,
            enc_layers,
            dec_pos: l.tensor(&format!("{p}.decoder.embed_positions.weight"), &[positions, d])?,
            dec_norm: norm(l, &format!("{p}.decoder.layernorm_embedding"), d)?,
            dec_layers,
            dtype: l.dtype,
        })
    }

    /// Word embeddings of `ids` with every `image_token_id` row replaced, in order, by the rows of
    /// `image_features`; then positions, `layernorm_embedding`, the encoder layers.
    pub fn encode(&self, rec: &mut Recorder, ids: &[u32], image_token_id: u32, image_features: &Tensor, tap: Tap) -> Result<Tensor> {
        let (l, d) = (ids.len(), self.cfg.d_model);
        let image_rows = ids.iter().filter(|&&t| t == image_token_id).count();
        if image_rows != image_features.dims2().0 {
            return Err(ModelError::Input(format!("the prompt has {image_rows} image tokens but the image gives {} features", image_features.dims2().0)));
        }
        if l == 0 || l > self.cfg.max_position_embeddings {
            return Err(ModelError::Input(format!(
                "the image and the instruction make {l} tokens, and this model reads at most {}: shorten the instruction",
                self.cfg.max_position_embeddings
            )));
        }
        let id_tensor = rec.upload_u32(&[l], ids);
        let x = embedding::embedding_as(rec, &self.shared, &id_tensor, self.dtype)?;
        // Replace each run of image tokens by the next rows of the image features.
        let mut used = 0;
        let mut i = 0;
        while i < l {
            if ids[i] != image_token_id {
                i += 1;
                continue;
            }
            let run = ids[i..].iter().take_while(|&&t| t == image_token_id).count();
            let g = copy::CopyGeometry::new(&[run, d], used * d, &[d, 1], i * d, &[d, 1])?;
            copy::copy_into(rec, image_features, &x, &g)?;
            used += run;
            i += run;
        }
        tap("encoder.inputs_embeds", &x);
        let pos = copy::slice(rec, &self.enc_pos, &[POSITION_OFFSET, 0], &[l, d])?;
        let x = elementwise::add(rec, &x, &pos)?;
        let mut x = self.enc_norm.forward(rec, &x)?;
        tap("encoder.embeddings", &x);
        let heads = self.cfg.encoder_attention_heads;
        for (n, layer) in self.enc_layers.iter().enumerate() {
            let a = &layer.attn;
            let (q, k, v) = (a.q.forward(rec, &x)?, a.k.forward(rec, &x)?, a.v.forward(rec, &x)?);
            let h = attention::attention(rec, &q, &k, &v, heads, None)?;
            x = project_add_norm(rec, &a.o, &h, &x, &layer.attn_norm)?;
            x = layer.ffn.forward_add_norm(rec, &x, &layer.ffn_norm)?;
            tap(&format!("encoder.layer{n}"), &x);
        }
        tap("encoder.last_hidden_state", &x);
        Ok(x)
    }

    /// A fresh decoder state for `encoded` [L, d], room for `max_len` decoder positions.
    pub fn start(&self, rec: &mut Recorder, encoded: &Tensor, max_len: usize) -> Result<DecoderState> {
        if max_len > self.cfg.max_position_embeddings {
            return Err(ModelError::Input(format!("{max_len} decoder positions requested, the model has {}", self.cfg.max_position_embeddings)));
        }
        let mut cross = Vec::new();
        for layer in &self.dec_layers {
            let k = layer.cross.k.forward(rec, encoded)?;
            let v = layer.cross.v.forward(rec, encoded)?;
            cross.push((k, v));
        }
        let cache = KvCache::new(rec, self.dec_layers.len(), max_len, self.cfg.d_model, self.dtype);
        Ok(DecoderState { cache, cross: Arc::new(cross) })
    }

    /// Feed `ids` at the next positions; returns logits [ids.len(), V].
    pub fn step(&self, rec: &mut Recorder, state: &mut DecoderState, ids: &[u32], tap: Tap) -> Result<Tensor> {
        let (n, d) = (ids.len(), self.cfg.d_model);
        state.cache.check_room(n)?;
        let at = state.cache.len();
        let id_tensor = rec.upload_u32(&[n], ids);
        let x = embedding::embedding_as(rec, &self.shared, &id_tensor, self.dtype)?;
        let pos = copy::slice(rec, &self.dec_pos, &[POSITION_OFFSET + at, 0], &[n, d])?;
        let x = elementwise::add(rec, &x, &pos)?;
        let mut x = self.dec_norm.forward(rec, &x)?;
        tap("decoder.embeddings", &x);
        let heads = self.cfg.decoder_attention_heads;
        let total = at + n;
        for (i, layer) in self.dec_layers.iter().enumerate() {
            let a = &layer.attn;
            let q = a.q.forward(rec, &x)?;
            let (k, v) = (a.k.forward(rec, &x)?, a.v.forward(rec, &x)?);
            let (kc, vc) = state.cache.append(rec, i, &k, &v)?;
            let h = attention::causal_self_attention(rec, &q, kc, vc, total, heads)?;
            x = project_add_norm(rec, &a.o, &h, &x, &layer.attn_norm)?;
            let c = &layer.cross;
            let (ck, cv) = &state.cross[i];
            let q = c.q.forward(rec, &x)?;
            let h = attention::attention(rec, &q, ck, cv, heads, None)?;
            x = project_add_norm(rec, &c.o, &h, &x, &layer.cross_norm)?;
            x = layer.ffn.forward_add_norm(rec, &x, &layer.ffn_norm)?;
            tap(&format!("decoder.layer{i}"), &x);
        }
        state.cache.advance(n)?;
        Ok(qmatmul::linear(rec, &x, &self.shared, None)?)
    }

    /// A copy of `state` whose caches are new buffers (beam search reorders by copying).
    pub fn fork(&self, rec: &mut Recorder, state: &DecoderState) -> Result<DecoderState> {
        Ok(DecoderState { cache: state.cache.fork(rec)?, cross: state.cross.clone() })
    }
}
