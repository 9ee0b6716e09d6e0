//! Element types a tensor can hold, on any backend.

/// Storage type of a tensor. Quantized types describe a weight matrix [N, K] stored as in
/// [`crate::quant`]: packed values per block of 32 along K, then one f16 scale per block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F16,
    U32,
    Q8,
    Q4,
}

impl DType {
    /// Bytes per element for plain types; `None` for block-quantized ones.
    pub fn size(self) -> Option<usize> {
        match self {
            DType::F32 | DType::U32 => Some(4),
            DType::F16 => Some(2),
            DType::Q8 | DType::Q4 => None,
        }
    }

    pub fn is_quantized(self) -> bool {
        matches!(self, DType::Q8 | DType::Q4)
    }
}

/// Bytes needed by a tensor of this shape and dtype (for quantized tensors: values, padding and
/// scales, see [`crate::quant`]).
pub fn byte_len(shape: &[usize], dtype: DType) -> u64 {
    match dtype.size() {
        Some(s) => (shape.iter().product::<usize>() * s) as u64,
        None => {
            let (n, k) = match shape {
                [n, k] => (*n, *k),
                _ => panic!("quantized tensors are 2-D [N, K], got {shape:?}"),
            };
            crate::quant::QuantLayout::new(dtype, n, k).total_bytes()
        }
    }
}
