//! The Qwen3 decoder: token embedding with the image tokens' rows replaced by the ViT's image
//! embeddings; per layer RMSNorm, q/k/v projections, per-head RMSNorm of q and k, multimodal
//! rotary embedding, grouped-query causal attention over a KV cache, output projection and
//! residual, RMSNorm, SwiGLU MLP and residual; the DeepStack features added to the image
//! tokens' rows after the first layers; a final RMSNorm; logits against the (tied) embedding.

use visionllm_gpu::ops::attention::{causal_grouped_attention, kv_cache_append};
use visionllm_gpu::ops::copy::slice;
use visionllm_gpu::ops::elementwise;
use visionllm_gpu::ops::linear::Epilogue;
use visionllm_gpu::ops::rope::rope;
use visionllm_gpu::{DType, Recorder, Tensor};
use visionllm_modelkit::{KvCache, Linear, Loader, ModelError, Result, RmsNorm, RowSplitTable, Tap};

use crate::config::Qwen3VlConfig;

struct Layer {
    input_norm: RmsNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    q_norm: RmsNorm,
    k_norm: RmsNorm,
    post_norm: RmsNorm,
    gate: Linear,
    up: Linear,
    down: Linear,
}

pub(crate) struct TextModel {
    /// [vocab, d], dense or quantized, whole or in row parts (175 MB at Q4 for the 2B model).
    embed: RowSplitTable,
    dtype: DType,
    /// None when tied: the logits are the final hidden state against `embed`.
    lm_head: Option<RowSplitTable>,
    layers: Vec<Layer>,
    norm: RmsNorm,
    pub d: usize,
    heads: usize,
    kv_heads: usize,
    pub head_dim: usize,
    pub vocab: usize,
}

/// Where a sequence stands: modelkit's KV cache, one K and V [max_len, kv_heads * head_dim] per
/// layer, and how many rows of them are filled.
pub struct DecoderState {
    cache: KvCache,
}

impl DecoderState {
    /// Positions filled.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

/// The prompt's image: which rows hold image tokens and what goes there.
pub(crate) struct ImageRows<'a> {
    pub start: usize,
    pub embeds: &'a Tensor,
    pub deepstack: &'a [Tensor],
}

impl TextModel {
    pub fn load(l: &Loader, cfg: &Qwen3VlConfig, dtype: DType) -> Result<TextModel> {
        let t = &cfg.text_config;
        let (d, hd, heads, kv) = (t.hidden_size, t.head_dim, t.num_attention_heads, t.num_key_value_heads);
        let eps = t.rms_norm_eps as f32;
        let p = "model.language_model";
        let mut layers = Vec::with_capacity(t.num_hidden_layers);
        for i in 0..t.num_hidden_layers {
            let q = format!("{p}.layers.{i}");
            let bias = t.attention_bias;
            layers.push(Layer {
                input_norm: RmsNorm::load(l, &format!("{q}.input_layernorm"), d, eps)?,
                q: Linear::load(l, &format!("{q}.self_attn.q_proj"), heads * hd, d, bias)?,
                k: Linear::load(l, &format!("{q}.self_attn.k_proj"), kv * hd, d, bias)?,
                v: Linear::load(l, &format!("{q}.self_attn.v_proj"), kv * hd, d, bias)?,
                o: Linear::load(l, &format!("{q}.self_attn.o_proj"), d, heads * hd, bias)?,
                q_norm: RmsNorm::load(l, &format!("{q}.self_attn.q_norm"), hd, eps)?,
                k_norm: RmsNorm::load(l, &format!("{q}.self_attn.k_norm"), hd, eps)?,
                post_norm: RmsNorm::load(l, &format!("{q}.post_attention_layernorm"), d, eps)?,
                gate: Linear::load(l, &format!("{q}.mlp.gate_proj"), t.intermediate_size, d, false)?,
                up: Linear::load(l, &format!("{q}.mlp.up_proj"), t.intermediate_size, d, false)?,
                down: Linear::load(l, &format!("{q}.mlp.down_proj"), d, t.intermediate_size, false)?,
            });
        }
        let embed = RowSplitTable::load(l, &format!("{p}.embed_tokens.weight"), &[t.vocab_size, d])?;
        let lm_head = if cfg.tied_embeddings() { None } else { Some(RowSplitTable::load(l, "lm_head.weight", &[t.vocab_size, d])?) };
        Ok(TextModel { embed, dtype, lm_head, layers, norm: RmsNorm::load(l, &format!("{p}.norm"), d, eps)?, d, heads, kv_heads: kv, head_dim: hd, vocab: t.vocab_size })
    }

    /// Empty caches for up to `max_len` positions.
    pub fn start(&self, rec: &mut Recorder, max_len: usize, dtype: DType) -> DecoderState {
        DecoderState { cache: KvCache::new(rec, self.layers.len(), max_len, self.kv_heads * self.head_dim, dtype) }
    }

    /// Run `ids` (the prompt, or one generated token) at the next rows of the caches, with
    /// rotary tables cos/sin [ids, head_dim] for their positions and, for the prompt, the image.
    /// Returns the logits of the last position [1, vocab].
    pub fn forward(&self, rec: &mut Recorder, state: &mut DecoderState, ids: &[u32], cos: &Tensor, sin: &Tensor, image: Option<ImageRows>, tap: Tap) -> Result<Tensor> {
        let l = ids.len();
        state.cache.check_room(l)?;
        if let Some(&bad) = ids.iter().find(|&&t| t as usize >= self.vocab) {
            return Err(ModelError::Input(format!("token id {bad} is outside the vocabulary of {}", self.vocab)));
        }
        let (hd, heads, kv) = (self.head_dim, self.heads, self.kv_heads);
        let mut x = self.embed.gather(rec, ids, self.dtype)?;
        if let Some(img) = &image {
            let rows = img.embeds.dims2().0;
            if img.start + rows > l || img.embeds.dims2().1 != self.d || img.embeds.dtype != x.dtype {
                return Err(ModelError::Input(format!("image embeddings {:?} at row {} of a {l}-token prompt", img.embeds.shape, img.start)));
            }
            kv_cache_append(rec, &x, img.embeds, img.start)?;
        }
        tap("prefill.inputs_embeds", &x);
        let at = state.cache.len();
        for (i, layer) in self.layers.iter().enumerate() {
            let h = layer.input_norm.forward(rec, &x)?;
            let q = layer.q.forward(rec, &h)?;
            let q = layer.q_norm.forward(rec, &q.reshape(&[l * heads, hd]))?.reshape(&[l, heads * hd]);
            let q = rope(rec, &q, cos, sin, hd, heads * hd)?;
            let k = layer.k.forward(rec, &h)?;
            let k = layer.k_norm.forward(rec, &k.reshape(&[l * kv, hd]))?.reshape(&[l, kv * hd]);
            let k = rope(rec, &k, cos, sin, hd, kv * hd)?;
            let v = layer.v.forward(rec, &h)?;
            let (kc, vc) = state.cache.append(rec, i, &k, &v)?;
            let attn = causal_grouped_attention(rec, &q, kc, vc, at + l, heads, kv)?;
            x = layer.o.forward_with(rec, &attn, Epilogue::Residual(&x))?;
            let h = layer.post_norm.forward(rec, &x)?;
            let gate = layer.gate.forward(rec, &h)?;
            let up = layer.up.forward(rec, &h)?;
            let act = elementwise::silu_mul(rec, &gate, &up)?;
            x = layer.down.forward_with(rec, &act, Epilogue::Residual(&x))?;
            tap(&format!("prefill.layer{i}.before_deepstack"), &x);
            if let Some(img) = &image {
                if let Some(feature) = img.deepstack.get(i) {
                    let rows = feature.dims2().0;
                    let mine = slice(rec, &x, &[img.start, 0], &[rows, self.d])?;
                    let sum = elementwise::add(rec, &mine, feature)?;
                    // Into a copy, not x itself: x has been tapped (and a tap reads after submit).
                    let with_features = slice(rec, &x, &[0, 0], &[l, self.d])?;
                    kv_cache_append(rec, &with_features, &sum, img.start)?;
                    x = with_features;
                }
            }
            tap(&format!("prefill.layer{i}"), &x);
        }
        state.cache.advance(l)?;
        let normed = self.norm.forward(rec, &x)?;
        tap("prefill.last_hidden_state", &normed);
        let last = slice(rec, &normed, &[l - 1, 0], &[1, self.d])?;
        self.lm_head.as_ref().unwrap_or(&self.embed).logits(rec, &last)
    }
}
