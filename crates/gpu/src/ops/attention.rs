//! Launchers over `shaders/attention.wgsl`: window attention (DaViT), plain multi-head attention
//! (encoder self-attention, cross-attention, Qwen3-VL's ViT) and causal self-attention over a KV
//! cache (decoders), multi-head or grouped-query (Qwen3: several query heads share one k/v head).

use crate::caps::Tiling;
use crate::error::{shape_err, Result};
pub use visionllm_core::geometry::{AttentionSpec, Rows};
use crate::kernel;
use crate::pipeline::Kernel;
use crate::recorder::{grid, Recorder};
use crate::tensor::Tensor;

use super::{float_dtype, variant_for};

const ATTENTION: Kernel = kernel!("attention");
pub const MAX_KEYS: usize = 2048;
pub const MAX_HEAD_DIM: usize = 256;
/// lavapipe's shader compiler (gallivm) ends every loop of an invocation once that invocation
/// has made 65,535 loop iterations in all (a guard against endless loops; measured: one query over
/// 500 keys of head dim 64 came back mostly zeros). The one-invocation-per-query kernel takes only
/// attention that fits well inside it; longer attention goes to the workgroup kernel, whose
/// invocations each make a share of the iterations.
const ROWS_LOOP_BUDGET: usize = 60_000;

/// What the WGSL kernel needs of a spec: its parameter block and its loop count.
trait AttentionParams {
    fn rows_loop_iterations(&self) -> usize;
    fn params(&self) -> Vec<u32>;
}

impl AttentionParams for AttentionSpec {
    /// Loop iterations one invocation of the `rows` kernel makes (per key: two loops over the
    /// head dimension's vec4s and one step), with room for the set-up loops.
    fn rows_loop_iterations(&self) -> usize {
        let hd4 = self.head_dim.div_ceil(4);
        self.nk * (2 * hd4 + 1) + 3 * hd4 + 4 * self.head_dim
    }

    fn params(&self) -> Vec<u32> {
        let mut v: Vec<u32> = [
            self.nq, self.nk, self.head_dim, self.heads, self.groups, self.win, self.grid_w, self.nwx,
            self.q.off, self.q.rs, self.k.off, self.k.rs, self.v.off, self.v.rs, self.o.off, self.o.rs,
        ]
        .iter()
        .map(|&x| x as u32)
        .collect();
        v.extend([self.scale.to_bits(), self.causal_offset.unwrap_or(0) as u32, self.kv_group as u32, 0]);
        v
    }
}


/// Record attention over explicit layouts (the general form the helpers below fill in).
pub fn attention_into(rec: &mut Recorder, q: &Tensor, k: &Tensor, v: &Tensor, o: &Tensor, spec: &AttentionSpec) -> Result<()> {
    let dtype = float_dtype(rec, "attention", &[q, k, v, o])?;
    if spec.nk > MAX_KEYS || spec.head_dim > MAX_HEAD_DIM || spec.nk == 0 {
        return Err(shape_err("attention", format!("{} keys, head dim {} (limits 1..={MAX_KEYS}, {MAX_HEAD_DIM})", spec.nk, spec.head_dim)));
    }
    if spec.kv_group == 0 || spec.heads % spec.kv_group != 0 {
        return Err(shape_err("attention", format!("{} query heads cannot share k/v heads in groups of {}", spec.heads, spec.kv_group)));
    }
    let (eq, ek, ev, eo) = spec.extents();
    if eq > q.numel() || ek > k.numel() || ev > v.numel() || eo > o.numel() {
        return Err(shape_err("attention", format!("{spec:?} reaches past q {:?}, k {:?}, v {:?} or o {:?}", q.shape, k.shape, v.shape, o.shape)));
    }
    let n = spec.groups * spec.heads * spec.nq;
    if n == 0 {
        return Ok(());
    }
    if rec.cpu().is_some() {
        return attention_on_cpu(q, k, v, o, spec);
    }
    let variant = variant_for(rec.gpu(), dtype).flag("CAUSAL", spec.causal_offset.is_some());
    let (pipeline, groups) = if rec.gpu().caps.tiling == Tiling::Registers && spec.rows_loop_iterations() <= ROWS_LOOP_BUDGET {
        let hd = spec.head_dim;
        let variant = variant.flag("ROWS", true).flag("HD_VEC4", hd % 4 == 0).define("HD", hd as u32).define("HD4", hd.div_ceil(4) as u32);
        (rec.gpu().pipeline(&ATTENTION, "rows", &variant), grid(n.div_ceil(64) as u32))
    } else {
        (rec.gpu().pipeline(&ATTENTION, "main", &variant), grid(n as u32))
    };
    rec.dispatch(&pipeline, &spec.params(), &[q, k, v, o], groups);
    Ok(())
}

/// The CPU branch of [`attention_into`]: `o` is written in place, so operands sharing its memory
/// are copied first (their read locks would wait on its write lock).
fn attention_on_cpu(q: &Tensor, k: &Tensor, v: &Tensor, o: &Tensor, spec: &AttentionSpec) -> Result<()> {
    const OP: &str = "attention";
    let (q, k, v) = (q.cpu_input(OP, o)?, k.cpu_input(OP, o)?, v.cpu_input(OP, o)?);
    let mut out = o.cpu_buffer(OP)?.write();
    let o_vals: &mut [f32] = &mut bytemuck::cast_slice_mut(&mut out[..])[..o.numel()];
    visionllm_cpu::attention::attention_into(q.f32(), k.f32(), v.f32(), o_vals, spec);
    Ok(())
}

/// Multi-head attention of q [nq, C] over k, v [nk, C]; `causal_offset` for masked self-attention.
pub fn attention(rec: &mut Recorder, q: &Tensor, k: &Tensor, v: &Tensor, heads: usize, causal_offset: Option<usize>) -> Result<Tensor> {
    let (nq, c) = q.dims2();
    let (nk, kc) = k.dims2();
    if kc != c || v.dims2() != (nk, c) || heads == 0 || c % heads != 0 {
        return Err(shape_err("attention", format!("q {:?}, k {:?}, v {:?}, {heads} heads", q.shape, k.shape, v.shape)));
    }
    let o = rec.alloc(&q.shape, q.dtype);
    attention_into(rec, q, k, v, &o, &AttentionSpec::plain(nq, nk, heads, c / heads, causal_offset))?;
    Ok(o)
}

/// DaViT window attention on a padded grid: `qkv` is [Hp, Wp, 3C] (q, k, v concatenated per token,
/// as the qkv linear layer emits them), Hp and Wp multiples of `window`. Padded tokens are not
/// masked: they take part as keys and values, as in the reference. Returns [Hp, Wp, C].
pub fn window_attention(rec: &mut Recorder, qkv: &Tensor, heads: usize, window: usize) -> Result<Tensor> {
    let (hp, wp, c3) = match qkv.shape[..] {
        [h, w, c] => (h, w, c),
        _ => return Err(shape_err("window_attention", format!("qkv must be [H, W, 3C], got {:?}", qkv.shape))),
    };
    let c = c3 / 3;
    if c3 % 3 != 0 || window == 0 || hp % window != 0 || wp % window != 0 || heads == 0 || c % heads != 0 {
        return Err(shape_err("window_attention", format!("qkv {:?}, window {window}, {heads} heads", qkv.shape)));
    }
    let nwx = wp / window;
    let spec = AttentionSpec {
        nq: window * window,
        nk: window * window,
        head_dim: c / heads,
        heads,
        kv_group: 1,
        groups: (hp / window) * nwx,
        win: window,
        grid_w: wp,
        nwx,
        q: Rows { off: 0, rs: c3 },
        k: Rows { off: c, rs: c3 },
        v: Rows { off: 2 * c, rs: c3 },
        o: Rows { off: 0, rs: c },
        scale: ((c / heads) as f32).powf(-0.5),
        causal_offset: None,
    };
    let o = rec.alloc(&[hp, wp, c], qkv.dtype);
    attention_into(rec, qkv, qkv, qkv, &o, &spec)?;
    Ok(o)
}

/// Write `new` rows [L, C] into a KV cache [max_len, C] starting at row `at`.
pub fn kv_cache_append(rec: &mut Recorder, cache: &Tensor, new: &Tensor, at: usize) -> Result<()> {
    let (max_len, c) = cache.dims2();
    let (l, nc) = new.dims2();
    if nc != c || at + l > max_len || new.dtype != cache.dtype {
        return Err(shape_err("kv_cache_append", format!("{l} rows of {nc} at {at} into {:?}", cache.shape)));
    }
    // A buffer copy when the rows are whole words (f32, or f16 with even C); else the copy kernel.
    let row_bytes = (c * new.dtype.size().unwrap_or(4)) as u64;
    if row_bytes % 4 == 0 {
        rec.copy_into(new, cache, at as u64 * row_bytes)
    } else {
        let g = super::copy::CopyGeometry::new(&[l, c], 0, &[c, 1], at * c, &[c, 1])?;
        super::copy::copy_into(rec, new, cache, &g)
    }
}

/// Decoder self-attention: queries q [L, C] are the newest L positions; the caches hold
/// `cache_len` rows (including these L). Query i sees keys 0 ..= cache_len - L + i.
pub fn causal_self_attention(rec: &mut Recorder, q: &Tensor, k_cache: &Tensor, v_cache: &Tensor, cache_len: usize, heads: usize) -> Result<Tensor> {
    causal_grouped_attention(rec, q, k_cache, v_cache, cache_len, heads, heads)
}

/// [`causal_self_attention`] with grouped queries: q [L, heads * hd], caches [max_len, kv_heads * hd].
pub fn causal_grouped_attention(rec: &mut Recorder, q: &Tensor, k_cache: &Tensor, v_cache: &Tensor, cache_len: usize, heads: usize, kv_heads: usize) -> Result<Tensor> {
    let (l, c) = q.dims2();
    let (max_len, kc) = k_cache.dims2();
    let bad = heads == 0 || kv_heads == 0 || heads % kv_heads != 0 || c % heads != 0 || kc * heads != c * kv_heads;
    if bad || cache_len < l || cache_len > max_len || v_cache.dims2() != k_cache.dims2() {
        return Err(shape_err("causal_self_attention", format!("q {:?}, cache {:?} with {cache_len} rows, {heads}/{kv_heads} heads", q.shape, k_cache.shape)));
    }
    let o = rec.alloc(&q.shape, q.dtype);
    let spec = AttentionSpec::grouped(l, cache_len, heads, kv_heads, c / heads, Some(cache_len - l));
    attention_into(rec, q, k_cache, v_cache, &o, &spec)?;
    Ok(o)
}
