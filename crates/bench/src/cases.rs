//! The kernel cases: which operation at which shape, in the model's own terms. Full shapes are
//! Florence-2-base's at a 768 input (DaViT stage 0 is 192x192x128, stage 2 48x48x512; BART d 768,
//! FFN 3072, 12 heads, 577 image tokens + prompt, vocab 51289 + padding); `--quick` keeps one
//! small shape per kernel so CI can run every kernel, ours and burn's, in well under 2 minutes.

/// One operation and its sizes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// y [m, n] = x [m, k] times a weight: ours `linear_dense` (weight [n, k], as the model
    /// stores it), burn `matmul` (weight [k, n], burn's natural layout).
    Matmul { m: usize, k: usize, n: usize },
    /// One row times a Q8/Q4 weight [n, k] (the decoder's linear layers when quantized).
    QGemv { k: usize, n: usize, bits: u32 },
    /// DaViT window attention on a `grid` x `grid` map of `c` channels, 12x12 windows.
    WindowAttention { grid: usize, c: usize, heads: usize },
    /// DaViT channel attention over `tokens` tokens of `c` channels in `groups` groups.
    ChannelAttention { tokens: usize, c: usize, groups: usize },
    /// One decoder step's self-attention: append the new key/value row to the KV cache, then
    /// attend from one query over `cache_len` cached rows.
    DecoderAttention { cache_len: usize, c: usize, heads: usize },
    /// Depthwise 3x3 convolution (DaViT's conv position encoding) on [h, w, c].
    DwConv { h: usize, w: usize, c: usize },
    /// LayerNorm over the last dim of [rows, c].
    LayerNorm { rows: usize, c: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    F32,
    F16,
    /// Quantized weights, f32 activations (the dtype column says q8/q4).
    Quant,
}

#[derive(Clone, Debug)]
pub struct Case {
    pub name: &'static str,
    pub op: Op,
    pub precision: Precision,
}

pub const WINDOW: usize = 12;

impl Case {
    /// The `shape` column: the sizes that define the operation, in the order its name suggests
    /// (matmul and GEMV: M x K x N).
    pub fn shape(&self) -> String {
        match self.op {
            Op::Matmul { m, k, n } => format!("{m}x{k}x{n}"),
            Op::QGemv { k, n, .. } => format!("1x{k}x{n}"),
            Op::WindowAttention { grid, c, heads } => format!("{grid}x{grid}x{c} h{heads} w{WINDOW}"),
            Op::ChannelAttention { tokens, c, groups } => format!("{tokens}x{c} g{groups}"),
            Op::DecoderAttention { cache_len, c, heads } => format!("1x{c} cache {cache_len} h{heads}"),
            Op::DwConv { h, w, c } => format!("{h}x{w}x{c} k3"),
            Op::LayerNorm { rows, c } => format!("{rows}x{c}"),
        }
    }

    pub fn dtype(&self) -> &'static str {
        match (self.precision, self.op) {
            (Precision::F32, _) => "f32",
            (Precision::F16, _) => "f16",
            (Precision::Quant, Op::QGemv { bits: 4, .. }) => "q4",
            (Precision::Quant, _) => "q8",
        }
    }

    /// Floating-point operations of one run (multiply-add = 2), for the `gflops` column. For the
    /// memory-bound kernels (GEMV, depthwise conv, layernorm) the figure is small by nature; it
    /// still moves when the kernel gets faster.
    pub fn flops(&self) -> f64 {
        let f = |v: usize| v as f64;
        match self.op {
            Op::Matmul { m, k, n } => 2.0 * f(m) * f(k) * f(n),
            Op::QGemv { k, n, .. } => 2.0 * f(k) * f(n),
            // q k^T and p v: two products of T x T x head_dim per window and head.
            Op::WindowAttention { grid, c, .. } => {
                let windows = f(grid.div_ceil(WINDOW).pow(2));
                let t = f(WINDOW * WINDOW);
                windows * 4.0 * t * t * f(c)
            }
            // q^T k and p v: two products of Cg x Cg x N per group.
            Op::ChannelAttention { tokens, c, groups } => 4.0 * f(c / groups) * f(c) * f(tokens),
            Op::DecoderAttention { cache_len, c, .. } => 4.0 * f(cache_len) * f(c),
            Op::DwConv { h, w, c } => 2.0 * 9.0 * f(h) * f(w) * f(c),
            // mean, variance, normalise, scale and shift: about 8 operations per value.
            Op::LayerNorm { rows, c } => 8.0 * f(rows) * f(c),
        }
    }
}

fn case(name: &'static str, op: Op, precision: Precision) -> Case {
    Case { name, op, precision }
}

/// The cases to run; f16 cases only when the adapter has shader-f16 (`f16`).
pub fn cases(quick: bool, f16: bool) -> Vec<Case> {
    use Op::*;
    use Precision::*;
    let mut v = Vec::new();
    if quick {
        v.push(case("matmul", Matmul { m: 256, k: 256, n: 256 }, F32));
        if f16 {
            v.push(case("matmul", Matmul { m: 256, k: 256, n: 256 }, F16));
        }
        v.push(case("gemv_q8", QGemv { k: 768, n: 768, bits: 8 }, Quant));
        v.push(case("gemv_q4", QGemv { k: 768, n: 768, bits: 4 }, Quant));
        v.push(case("window_attention", WindowAttention { grid: 24, c: 64, heads: 2 }, F32));
        v.push(case("channel_attention", ChannelAttention { tokens: 576, c: 64, groups: 2 }, F32));
        v.push(case("decoder_attention", DecoderAttention { cache_len: 16, c: 768, heads: 12 }, F32));
        v.push(case("dwconv3x3", DwConv { h: 24, w: 24, c: 128 }, F32));
        v.push(case("layernorm", LayerNorm { rows: 577, c: 768 }, F32));
        return v;
    }
    // f32 and f16 matmuls: the square reference, then the model's shapes (DaViT stage-0 qkv at a
    // 192 input, the BART FFN over 577 image tokens, the lm_head for one token).
    let matmuls = [
        ("matmul", Matmul { m: 1024, k: 1024, n: 1024 }),
        ("matmul_davit_qkv", Matmul { m: 2304, k: 128, n: 384 }),
        ("matmul_bart_ffn", Matmul { m: 577, k: 768, n: 3072 }),
        ("matmul_lm_head", Matmul { m: 1, k: 768, n: 51289 }),
    ];
    for precision in if f16 { vec![F32, F16] } else { vec![F32] } {
        for (name, op) in matmuls {
            v.push(case(name, op, precision));
        }
    }
    for bits in [8, 4] {
        let name = if bits == 8 { "gemv_q8" } else { "gemv_q4" };
        v.push(case(name, QGemv { k: 768, n: 3072, bits }, Quant));
        v.push(case(name, QGemv { k: 3072, n: 768, bits }, Quant));
    }
    v.push(case("window_attention", WindowAttention { grid: 192, c: 128, heads: 4 }, F32));
    v.push(case("window_attention", WindowAttention { grid: 48, c: 512, heads: 16 }, F32));
    v.push(case("channel_attention", ChannelAttention { tokens: 36864, c: 128, groups: 4 }, F32));
    v.push(case("channel_attention", ChannelAttention { tokens: 2304, c: 512, groups: 16 }, F32));
    v.push(case("decoder_attention", DecoderAttention { cache_len: 20, c: 768, heads: 12 }, F32));
    v.push(case("decoder_attention", DecoderAttention { cache_len: 400, c: 768, heads: 12 }, F32));
    v.push(case("dwconv3x3", DwConv { h: 192, w: 192, c: 128 }, F32));
    v.push(case("dwconv3x3", DwConv { h: 48, w: 48, c: 512 }, F32));
    v.push(case("layernorm", LayerNorm { rows: 36864, c: 128 }, F32));
    v.push(case("layernorm", LayerNorm { rows: 577, c: 768 }, F32));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_has_a_quick_case() {
        let full: std::collections::BTreeSet<_> = cases(false, true).iter().map(|c| c.name.split('_').next().unwrap()).collect();
        let quick: std::collections::BTreeSet<_> = cases(true, true).iter().map(|c| c.name.split('_').next().unwrap()).collect();
        assert_eq!(full, quick);
    }

    #[test]
    fn shapes_and_flops() {
        let c = case("matmul", Op::Matmul { m: 2, k: 3, n: 4 }, Precision::F32);
        assert_eq!(c.shape(), "2x3x4");
        assert_eq!(c.flops(), 48.0);
        assert_eq!(cases(false, false).iter().filter(|c| c.precision == Precision::F16).count(), 0);
    }
}
