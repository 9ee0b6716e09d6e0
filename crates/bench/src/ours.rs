//! The kernel cases on our runtime, through the public launchers the model itself calls. Inputs
//! are uploaded once (inputs.rs makes them); a timed run is what a forward pass does for that op: record into a fresh
//! `Recorder`, submit once, wait for the GPU (`Gpu::idle`).

use visionllm_gpu::ops::{attention, channel_attention, conv, matmul, norm, qmatmul};
use visionllm_gpu::recorder::run_and_read;
use visionllm_gpu::{quant, BackendError, DType, Device, Recorder, Tensor};

use crate::cases::{Case, Op, Precision, WINDOW};
use crate::inputs::Operand;
use crate::timing::{median_ms, Plan};

/// A persistent tensor of `values`, stored as `dtype` (F32, F16, Q8 or Q4).
fn upload(gpu: &Device, o: &Operand, dtype: DType) -> Tensor {
    let (shape, values) = (&o.shape, &o.values);
    match dtype {
        DType::F16 => {
            let h: Vec<half::f16> = values.iter().map(|&v| half::f16::from_f32(v)).collect();
            gpu.upload_persistent(shape, dtype, bytemuck::cast_slice(&h), "bench")
        }
        DType::Q8 | DType::Q4 => {
            let words = quant::quantize(dtype, shape[0], shape[1], values);
            gpu.upload_persistent(shape, dtype, bytemuck::cast_slice(&words), "bench")
        }
        _ => gpu.upload_persistent(shape, DType::F32, bytemuck::cast_slice(values), "bench"),
    }
}

/// A case's operands on the GPU, ready to be recorded any number of times.
pub struct Prepared {
    op: Op,
    t: Vec<Tensor>,
}

pub fn prepare(gpu: &Device, case: &Case, operands: &[Operand]) -> Prepared {
    let dtype = if case.precision == Precision::F16 { DType::F16 } else { DType::F32 };
    // The GEMV's weight (operand 1) is stored quantized; everything else in the float dtype.
    let weight = match case.op {
        Op::QGemv { bits: 4, .. } => DType::Q4,
        Op::QGemv { .. } => DType::Q8,
        _ => dtype,
    };
    let t = operands.iter().enumerate().map(|(i, o)| upload(gpu, o, if i == 1 { weight } else { dtype })).collect();
    Prepared { op: case.op, t }
}

impl Prepared {
    fn record(&self, rec: &mut Recorder) -> Result<Tensor, BackendError> {
        let t = &self.t;
        match self.op {
            Op::Matmul { .. } => matmul::linear_dense(rec, &t[0], &t[1], None),
            Op::QGemv { .. } => qmatmul::qlinear(rec, &t[0], &t[1], None),
            Op::WindowAttention { heads, .. } => attention::window_attention(rec, &t[0], heads, WINDOW),
            Op::ChannelAttention { groups, .. } => channel_attention::channel_attention(rec, &t[0], groups),
            Op::DecoderAttention { cache_len, heads, .. } => {
                attention::kv_cache_append(rec, &t[3], &t[1], cache_len - 1)?;
                attention::kv_cache_append(rec, &t[4], &t[2], cache_len - 1)?;
                attention::causal_self_attention(rec, &t[0], &t[3], &t[4], cache_len, heads)
            }
            Op::DwConv { .. } => conv::dwconv3x3(rec, &t[0], &t[1], Some(&t[2])),
            Op::LayerNorm { .. } => norm::layernorm(rec, &t[0], &t[1], &t[2], 1e-5),
        }
    }
}

/// Bytes of the largest operand or result: a tensor is bound whole, so one larger than the
/// adapter's storage binding limit cannot run here at all (the f32 lm_head, 157 MB, on lavapipe's
/// 128 MiB), exactly as the model refuses to load such a weight.
pub fn largest_binding(case: &Case) -> u64 {
    let el: u64 = if case.precision == Precision::F16 { 2 } else { 4 };
    let n = match case.op {
        Op::Matmul { m, k, n } => (m * k).max(n * k).max(m * n),
        Op::QGemv { k, n, .. } => k.max(n),
        Op::WindowAttention { grid, c, .. } => grid * grid * 3 * c,
        Op::ChannelAttention { tokens, c, .. } => tokens * 3 * c,
        Op::DecoderAttention { cache_len, c, .. } => cache_len * c,
        Op::DwConv { h, w, c } => h * w * c,
        Op::LayerNorm { rows, c } => rows * c,
    };
    n as u64 * el
}

/// One run's result, read back (layout as `record` leaves it).
pub fn output(gpu: &Device, prepared: &Prepared) -> Result<Vec<f32>, BackendError> {
    pollster::block_on(run_and_read(gpu, |rec| prepared.record(rec)))
}

/// Median ms of one run: record, submit, wait.
pub fn time_case(gpu: &Device, prepared: &Prepared, plan: Plan) -> Result<f64, BackendError> {
    pollster::block_on(gpu.idle())?;
    median_ms(plan, || {
        let mut rec = Recorder::new(gpu);
        let out = prepared.record(&mut rec)?;
        rec.submit();
        pollster::block_on(gpu.idle())?;
        // Back to the pool: the next run gets the same buffer and the cached bind group, as a
        // decoder step does.
        drop(out);
        Ok(())
    })
}
