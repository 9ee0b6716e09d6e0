//! The geometry of each op family, shared by every backend: what a launcher checks and what each
//! backend's kernel (WGSL, fast CPU, twin) reads. No device here, only indices.

use crate::error::{shape_err, Result};

/// Element strides of a batched matmul, see `shaders/matmul.wgsl`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatmulGeometry {
    pub batch: usize,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a_off: usize,
    pub a_bs: usize,
    pub a_rs: usize,
    pub a_ks: usize,
    pub b_off: usize,
    pub b_bs: usize,
    pub b_ks: usize,
    pub b_ns: usize,
    pub c_off: usize,
    pub c_bs: usize,
    pub c_rs: usize,
}

impl MatmulGeometry {
    /// Contiguous a [batch, m, k], b [batch or 1, k, n] (or [.., n, k] when `trans_b`), c [batch, m, n].
    pub fn contiguous(batch: usize, m: usize, n: usize, k: usize, trans_b: bool, broadcast_b: bool) -> Self {
        let (b_ks, b_ns) = if trans_b { (1, k) } else { (n, 1) };
        MatmulGeometry {
            batch, m, n, k,
            a_off: 0, a_bs: m * k, a_rs: k, a_ks: 1,
            b_off: 0, b_bs: if broadcast_b { 0 } else { k * n }, b_ks, b_ns,
            c_off: 0, c_bs: m * n, c_rs: n,
        }
    }

    /// The largest element index each operand reaches, +1 (to validate against tensor sizes).
    pub fn extents(&self) -> (usize, usize, usize) {
        let last = |off: usize, bs: usize, r: usize, rs: usize, c: usize, cs: usize| {
            off + (self.batch.max(1) - 1) * bs + r.saturating_sub(1) * rs + c.saturating_sub(1) * cs + 1
        };
        (
            last(self.a_off, self.a_bs, self.m, self.a_rs, self.k, self.a_ks),
            last(self.b_off, self.b_bs, self.k, self.b_ks, self.n, self.b_ns),
            last(self.c_off, self.c_bs, self.m, self.c_rs, self.n, 1),
        )
    }

}

/// Where rows of one operand live: element (row r, head h, dim d) = off + r * rs + h * hd + d.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rows {
    pub off: usize,
    pub rs: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttentionSpec {
    pub nq: usize,
    pub nk: usize,
    pub head_dim: usize,
    pub heads: usize,
    /// Query heads per key/value head (1: multi-head attention; heads / kv_heads for GQA).
    pub kv_group: usize,
    /// Number of windows (1 for plain attention).
    pub groups: usize,
    /// Window side (0 for plain attention), padded grid width, windows per grid row.
    pub win: usize,
    pub grid_w: usize,
    pub nwx: usize,
    pub q: Rows,
    pub k: Rows,
    pub v: Rows,
    pub o: Rows,
    pub scale: f32,
    /// Causal masking: query i sees keys j <= i + offset.
    pub causal_offset: Option<usize>,
}

impl AttentionSpec {
    /// Contiguous q [nq, C], k and v [nk, C], o [nq, C] with C = heads * head_dim.
    pub fn plain(nq: usize, nk: usize, heads: usize, head_dim: usize, causal_offset: Option<usize>) -> Self {
        Self::grouped(nq, nk, heads, heads, head_dim, causal_offset)
    }

    /// Contiguous q and o [nq, heads * head_dim], k and v [nk, kv_heads * head_dim]; kv_heads
    /// divides heads.
    pub fn grouped(nq: usize, nk: usize, heads: usize, kv_heads: usize, head_dim: usize, causal_offset: Option<usize>) -> Self {
        let qo = Rows { off: 0, rs: heads * head_dim };
        let kv = Rows { off: 0, rs: kv_heads * head_dim };
        AttentionSpec {
            nq, nk, head_dim, heads, kv_group: heads / kv_heads.max(1), groups: 1, win: 0, grid_w: 0, nwx: 1,
            q: qo, k: kv, v: kv, o: qo,
            scale: (head_dim as f32).powf(-0.5), causal_offset,
        }
    }


    /// Rows each operand spans: (query and output rows, key and value rows). Window attention
    /// reads and writes whole grid rows of `grid_w` tokens.
    fn rows(&self) -> (usize, usize) {
        if self.win == 0 {
            return (self.nq, self.nk);
        }
        let grid_rows = self.groups.div_ceil(self.nwx.max(1)) * self.win;
        (grid_rows * self.grid_w, grid_rows * self.grid_w)
    }

    /// One past the largest element index of (q, k, v, o) the spec touches, to check against the
    /// tensors' sizes; zeros when there is no work.
    pub fn extents(&self) -> (usize, usize, usize, usize) {
        if self.groups * self.heads * self.nq == 0 || self.nk == 0 {
            return (0, 0, 0, 0);
        }
        let (qrows, krows) = self.rows();
        let kv_heads = self.heads / self.kv_group.max(1);
        let end = |r: Rows, rows: usize, heads: usize| r.off + (rows - 1) * r.rs + heads * self.head_dim;
        (end(self.q, qrows, self.heads), end(self.k, krows, kv_heads), end(self.v, krows, kv_heads), end(self.o, qrows, self.heads))
    }
}

/// dst[dst_off + i . dst_stride] = src[src_off + i . src_stride] for every i < shape (elements).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopyGeometry {
    pub shape: [usize; 4],
    pub src_off: usize,
    pub src_stride: [usize; 4],
    pub dst_off: usize,
    pub dst_stride: [usize; 4],
}

impl CopyGeometry {
    /// A box of `shape` (rank <= 4, padded with leading 1s) with the given strides per dim.
    pub fn new(shape: &[usize], src_off: usize, src_stride: &[usize], dst_off: usize, dst_stride: &[usize]) -> Result<Self> {
        if shape.len() > 4 || src_stride.len() != shape.len() || dst_stride.len() != shape.len() {
            return Err(shape_err("copy", format!("shape {shape:?} with strides {src_stride:?} / {dst_stride:?}: rank <= 4, one stride per dim")));
        }
        let lead = 4 - shape.len();
        let mut g = CopyGeometry { shape: [1; 4], src_off, dst_off, ..Default::default() };
        g.shape[lead..].copy_from_slice(shape);
        g.src_stride[lead..].copy_from_slice(src_stride);
        g.dst_stride[lead..].copy_from_slice(dst_stride);
        Ok(g)
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// One past the largest (src, dst) element index touched; (0, 0) for an empty box.
    pub fn extents(&self) -> (usize, usize) {
        if self.numel() == 0 {
            return (0, 0);
        }
        let last = |off: usize, st: &[usize; 4]| off + (0..4).map(|d| (self.shape[d] - 1) * st[d]).sum::<usize>() + 1;
        (last(self.src_off, &self.src_stride), last(self.dst_off, &self.dst_stride))
    }
}

/// Row-major strides of a contiguous tensor.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// Output size along one axis, or `None` when the padded input is smaller than the kernel.
pub fn conv_out_len(len: usize, k: usize, stride: usize, pad: usize) -> Option<usize> {
    (stride > 0 && len + 2 * pad >= k).then(|| (len + 2 * pad - k) / stride + 1)
}

