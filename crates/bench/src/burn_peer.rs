//! The same kernel cases on burn-wgpu (autotune and fusion on, as burn ships them), on the
//! default wgpu adapter, which is ours too (one adapter on a CI machine; the high-performance one
//! elsewhere). Each case uses burn's own op where it has one (`matmul`, quantized `matmul`,
//! `module::attention`, `module::conv2d` with groups, `module::layer_norm`) and the tensor
//! reshapes a burn model would write around it (window partition, channel attention's layout).
//! A timed run ends with `Device::sync`, with the output still alive so fusion cannot drop it.
//! The operands are the ones ours get (inputs.rs), so kernels.rs can check both results agree.
//!
//! Layouts are each engine's natural ones: burn's matmul weight is [k, n], its images NCHW.

use std::panic::{catch_unwind, AssertUnwindSafe};

use burn::tensor::module::{attention, conv2d, layer_norm};
use burn::tensor::ops::{AttentionModuleOptions, ConvOptions};
use burn::tensor::quantization::{QuantScheme, QuantStore, QuantValue, ScaleDtype};
use burn::tensor::{DType, Device, DeviceKind, Tensor, TensorData};

use crate::cases::{Case, Op, Precision, WINDOW};
use crate::inputs::{transpose, Operand};
use crate::timing::{median_ms, Plan};

pub struct Burn {
    device: Device,
}

/// An operand on burn's device as `dtype`, reshaped to `shape` (same element count).
fn tensor<const D: usize>(device: &Device, values: Vec<f32>, shape: [usize; D], dtype: DType) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape).convert_dtype(dtype), (device, dtype))
}

/// Scaled dot-product attention through burn's op; q, k, v [batch, heads, seq, head_dim].
fn sdpa(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>) -> Tensor<4> {
    attention(q, k, v, None, None, AttentionModuleOptions::default())
}

/// The decoder case's query, new key/value rows and the caches it updates.
struct Decoder {
    q: Tensor<2>,
    k_new: Tensor<2>,
    v_new: Tensor<2>,
    k_cache: Tensor<2>,
    v_cache: Tensor<2>,
}

/// A case's operands.
enum Prepared {
    Matmul(Tensor<2>, Tensor<2>),
    Window(Tensor<3>),
    Channel(Tensor<2>),
    Decoder(Box<Decoder>),
    DwConv(Tensor<4>, Tensor<4>, Tensor<1>),
    LayerNorm(Tensor<2>, Tensor<1>, Tensor<1>),
}

impl Burn {
    pub fn new() -> Burn {
        Burn { device: Device::wgpu(DeviceKind::DefaultDevice) }
    }

    /// Whether burn can compute in f16 on this device.
    pub fn has_f16(&self) -> bool {
        self.device.supports_dtype(DType::F16)
    }

    fn prepare(&self, case: &Case, o: &[Operand]) -> Prepared {
        let d = &self.device;
        let dt = if case.precision == Precision::F16 { DType::F16 } else { DType::F32 };
        let v = |i: usize| o[i].values.clone();
        match case.op {
            // Burn's weight is [k, n]: the transpose of ours.
            Op::Matmul { m, k, n } => Prepared::Matmul(tensor(d, v(0), [m, k], dt), tensor(d, transpose(&o[1].values, n, k), [k, n], dt)),
            Op::QGemv { k, n, bits } => {
                // Burn's symmetric block quantization, 32 values per block with f16 scales,
                // packed in u32 words: the closest match to our Q8/Q4 format.
                let value = if bits == 4 { QuantValue::Q4S } else { QuantValue::Q8S };
                let scheme = QuantScheme::default().with_value(value).with_store(QuantStore::PackedU32(0)).per_block([32], ScaleDtype::F16);
                let w = tensor(d, transpose(&o[1].values, n, k), [k, n], DType::F32).quantize_dynamic(&scheme);
                Prepared::Matmul(tensor(d, v(0), [1, k], DType::F32), w)
            }
            Op::WindowAttention { grid, c, .. } => Prepared::Window(tensor(d, v(0), [grid, grid, 3 * c], dt)),
            Op::ChannelAttention { tokens, c, .. } => Prepared::Channel(tensor(d, v(0), [tokens, 3 * c], dt)),
            Op::DecoderAttention { cache_len, c, .. } => Prepared::Decoder(Box::new(Decoder {
                q: tensor(d, v(0), [1, c], dt),
                k_new: tensor(d, v(1), [1, c], dt),
                v_new: tensor(d, v(2), [1, c], dt),
                k_cache: tensor(d, v(3), [cache_len, c], dt),
                v_cache: tensor(d, v(4), [cache_len, c], dt),
            })),
            // Burn's images are NCHW: ours [h, w, c] transposed to [c, h * w].
            Op::DwConv { h, w, c } => Prepared::DwConv(tensor(d, transpose(&o[0].values, h * w, c), [1, c, h, w], dt), tensor(d, v(1), [c, 1, 3, 3], dt), tensor(d, v(2), [c], dt)),
            Op::LayerNorm { rows, c } => Prepared::LayerNorm(tensor(d, v(0), [rows, c], dt), tensor(d, v(1), [c], dt), tensor(d, v(2), [c], dt)),
        }
    }

    /// The result of one run (in our layout, to compare) and the median ms of a run; `None` when
    /// burn cannot run the case here (an unsupported dtype or quantization scheme panics inside
    /// burn; the message goes to stderr).
    pub fn run_case(&self, case: &Case, operands: &[Operand], plan: Plan) -> Option<(Vec<f32>, f64)> {
        if case.precision == Precision::F16 && !self.has_f16() {
            return None;
        }
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut prepared = self.prepare(case, operands);
            let mut values = run(&mut prepared, case.op).into_data_as::<f32>().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
            if let Op::DwConv { h, w, c } = case.op {
                values = transpose(&values, c, h * w);
            }
            let ms = median_ms(plan, || {
                let out = run(&mut prepared, case.op);
                self.device.sync().map_err(|e| format!("{e:?}"))?;
                drop(out);
                Ok::<(), String>(())
            })?;
            Ok::<_, String>((values, ms))
        }));
        match result {
            Ok(Ok(r)) => Some(r),
            Ok(Err(e)) => {
                eprintln!("  burn: {e}");
                None
            }
            Err(_) => {
                eprintln!("  burn: {} {} {} is not supported here (panicked)", case.name, case.shape(), case.dtype());
                None
            }
        }
    }
}

/// One run of the operation; the result is returned so it stays alive until the sync.
fn run(p: &mut Prepared, op: Op) -> Tensor<2> {
    match (p, op) {
        (Prepared::Matmul(a, b), _) => a.clone().matmul(b.clone()),
        (Prepared::Window(qkv), Op::WindowAttention { grid, c, heads }) => {
            let (nw, hd) = (grid / WINDOW, c / heads);
            // [wy, y, wx, x, 3, heads, hd] -> [3, wy, wx, heads, y, x, hd] -> [3, windows*heads, T, hd]
            let parts = qkv
                .clone()
                .reshape([nw, WINDOW, nw, WINDOW, 3, heads, hd])
                .permute([4, 0, 2, 5, 1, 3, 6])
                .reshape([3, nw * nw, heads, WINDOW * WINDOW, hd]);
            let pick = |i: usize| parts.clone().narrow(0, i, 1).reshape([nw * nw, heads, WINDOW * WINDOW, hd]);
            let o = sdpa(pick(0), pick(1), pick(2));
            // [wy, wx, heads, y, x, hd] -> [wy, y, wx, x, heads, hd] -> [grid*grid, c]
            o.reshape([nw, nw, heads, WINDOW, WINDOW, hd]).permute([0, 3, 1, 4, 2, 5]).reshape([grid * grid, c])
        }
        (Prepared::Channel(qkv), Op::ChannelAttention { tokens, c, groups }) => {
            let cg = c / groups;
            // [N, 3, G, Cg] -> [3, G, Cg, N]: each group's channels as rows over all tokens.
            let parts = qkv.clone().reshape([tokens, 3, groups, cg]).permute([1, 2, 3, 0]);
            let pick = |i: usize| parts.clone().narrow(0, i, 1).reshape([1, groups, cg, tokens]);
            // softmax(q k^T * N^-0.5) v with "sequence" = channels and "head dim" = tokens.
            let options = AttentionModuleOptions { scale: Some((tokens as f64).powf(-0.5)), ..Default::default() };
            let o = attention(pick(0), pick(1), pick(2), None, None, options);
            o.reshape([c, tokens]).transpose()
        }
        (Prepared::Decoder(dec), Op::DecoderAttention { cache_len, c, heads }) => {
            let Decoder { q, k_new, v_new, k_cache, v_cache } = &mut **dec;
            let hd = c / heads;
            let at = [cache_len - 1..cache_len, 0..c];
            *k_cache = k_cache.clone().slice_assign(at.clone(), k_new.clone());
            *v_cache = v_cache.clone().slice_assign(at, v_new.clone());
            let split = |t: &Tensor<2>, rows: usize| t.clone().reshape([1, rows, heads, hd]).swap_dims(1, 2);
            // One query (the newest position) sees every cached row: no mask needed.
            sdpa(split(q, 1), split(k_cache, cache_len), split(v_cache, cache_len)).swap_dims(1, 2).reshape([1, c])
        }
        (Prepared::DwConv(x, w, b), _) => {
            let c = w.dims()[0];
            let y = conv2d(x.clone(), w.clone(), Some(b.clone()), ConvOptions::new([1, 1], [1, 1], [1, 1], c));
            let [_, _, h, wd] = y.dims();
            y.reshape([c, h * wd])
        }
        (Prepared::LayerNorm(x, g, b), _) => layer_norm(x.clone(), g.clone(), Some(b.clone()), 1e-5),
        (_, op) => unreachable!("prepared operands do not match {op:?}"),
    }
}
