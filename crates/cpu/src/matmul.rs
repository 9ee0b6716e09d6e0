//! Dense f32 GEMM over the general strided [`MatmulGeometry`] (batch strides, row and k strides,
//! b plain or transposed, broadcast b with a zero batch stride): c = alpha * (a · b) + bias.
//!
//! Strategy: a linear layer with few rows (decode: m <= [`GEMV_MAX_M`], a and b contiguous
//! along k) is a GEMV parallel over n, streaming the weight once. Otherwise every batch entry is one call of the `gemm` crate (packed, cache-blocked SIMD
//! microkernels), which takes arbitrary row and column strides, so strided views (channel
//! attention reads q, k, v in place from a fused [N, 3C] tensor) need no copy. The bias is
//! written into c first and gemm accumulates onto it. Many small batch entries run in parallel
//! over the batch (gemm single-threaded each); otherwise gemm itself splits each product over the
//! threads. A geometry whose output rows overlap (never produced by the launchers) falls back to a
//! plain loop with the twin's write order, so the result stays defined.

use visionllm_core::geometry::MatmulGeometry;

use crate::math;
use crate::par::{self, SendPtr};

/// Up to this many rows of a, with a and b both contiguous along k (a linear layer's x and
/// weight [n, k]), the product is a GEMV over weight rows: gemm's packing of the whole weight
/// costs more than the product there, and the GEMV streams b from memory exactly once.
pub const GEMV_MAX_M: usize = 16;

/// c = alpha * (a · b) + bias over `g` (bias [n], added to every row). Only the rows and columns
/// `g` covers are written; c may be a larger tensor.
pub fn matmul_scaled_into(a: &[f32], b: &[f32], c: &mut [f32], g: &MatmulGeometry, bias: Option<&[f32]>, alpha: f32) {
    if g.batch == 0 || g.m == 0 || g.n == 0 {
        return;
    }
    let (ea, eb, ec) = g.extents();
    assert!(ec <= c.len(), "matmul: c has {} elements, geometry reaches {ec}", c.len());
    if let Some(bias) = bias {
        assert!(bias.len() >= g.n, "matmul: bias has {} values for n = {}", bias.len(), g.n);
    }
    if !rows_disjoint(g) {
        naive(a, b, c, g, bias, alpha);
        return;
    }
    // Write the bias (or zeros for k = 0) first: gemm then accumulates onto it.
    let read_dst = bias.is_some();
    if read_dst || g.k == 0 {
        prefill(c, g, bias);
    }
    if g.k == 0 {
        return;
    }
    assert!(ea <= a.len() && eb <= b.len(), "matmul: a {} / b {} elements, geometry reaches {ea} / {eb}", a.len(), b.len());

    if g.m <= GEMV_MAX_M && g.a_ks == 1 && g.b_ks == 1 {
        for bi in 0..g.batch {
            gemv(a, b, c, g, bi, bias, alpha);
        }
        return;
    }
    let t = par::threads();
    let per_product = g.m * g.n * g.k;
    let over_batch = t > 1 && g.batch >= 2 && (g.batch >= 4 * t || g.batch.is_multiple_of(t) || per_product < 1 << 18);
    let cp = SendPtr(c.as_mut_ptr());
    let one = |bi: usize, parallelism: gemm::Parallelism| {
        // SAFETY: the extents checked above bound every element gemm reads (a, b) or writes (c)
        // for batch entry bi; rows_disjoint guarantees that no two (batch, row) output segments
        // share an element, so concurrent batch entries write disjoint memory, and nothing else
        // holds a reference into c while this runs.
        unsafe {
            gemm::gemm(
                g.m, g.n, g.k,
                cp.get().add(g.c_off + bi * g.c_bs), 1, g.c_rs as isize,
                read_dst,
                a.as_ptr().add(g.a_off + bi * g.a_bs), g.a_ks as isize, g.a_rs as isize,
                b.as_ptr().add(g.b_off + bi * g.b_bs), g.b_ns as isize, g.b_ks as isize,
                1.0, alpha,
                false, false, false,
                parallelism,
            );
        }
    };
    if over_batch {
        par::par_for(g.batch, |bi| one(bi, gemm::Parallelism::None));
    } else {
        for bi in 0..g.batch {
            one(bi, par::gemm_parallelism());
        }
    }
}

/// Batch entry bi of a small-m product: each b row (one output column) is read once and dotted
/// with every a row in lane accumulators; parallel over chunks of n. Outputs are computed
/// column-major [n, m] per chunk and then stored (m * n values, nothing next to reading b).
fn gemv(a: &[f32], b: &[f32], c: &mut [f32], g: &MatmulGeometry, bi: usize, bias: Option<&[f32]>, alpha: f32) {
    let (m, n, k) = (g.m, g.n, g.k);
    let a0 = g.a_off + bi * g.a_bs;
    let arows: Vec<&[f32]> = (0..m).map(|r| &a[a0 + r * g.a_rs..a0 + r * g.a_rs + k]).collect();
    let b0 = g.b_off + bi * g.b_bs;
    let mut out_t = vec![0f32; n * m];
    let cols = par::chunk_len(n, 8, 16);
    par::par_chunks_mut(&mut out_t, cols * m, |ci, chunk| gemv_chunk(&arows, b, b0, g.b_ns, ci * cols, chunk));
    for r in 0..m {
        let at = g.c_off + bi * g.c_bs + r * g.c_rs;
        for (j, out) in c[at..at + n].iter_mut().enumerate() {
            *out = alpha * out_t[j * m + r] + bias.map_or(0.0, |b| b[j]);
        }
    }
}

/// Dots of b rows j0.. (at b0 + j * b_ns) with every a row, into chunk [j, row]. Each b row is
/// read from memory once and dotted with the a rows in groups of [`GROUP`] (explicit AVX2 when
/// the CPU has it: LLVM does not vectorize the portable multi-row form well).
fn gemv_chunk(arows: &[&[f32]], b: &[f32], b0: usize, b_ns: usize, j0: usize, chunk: &mut [f32]) {
    let (m, k) = (arows.len(), arows[0].len());
    let avx2 = math::has_avx2();
    for (jj, o) in chunk.chunks_exact_mut(m).enumerate() {
        let at = b0 + (j0 + jj) * b_ns;
        let brow = &b[at..at + k];
        for (grp, og) in arows.chunks(GROUP).zip(o.chunks_mut(GROUP)) {
            if avx2 {
                dots_avx2(grp, brow, og);
            } else {
                // Portable: one a row at a time (the b row stays in L1 for the next).
                math::dispatch(#[inline(always)] || og.iter_mut().zip(grp).for_each(|(o, ar)| *o = math::dot(ar, brow)));
            }
        }
    }
}

/// a rows dotted with one b row per GEMV step.
pub(crate) const GROUP: usize = 8;

/// out[r] = grp[r] · brow for up to GROUP rows, with the AVX2 kernel of that row count.
#[cfg(target_arch = "x86_64")]
fn dots_avx2(grp: &[&[f32]], brow: &[f32], out: &mut [f32]) {
    fn run<const M: usize>(grp: &[&[f32]], brow: &[f32], out: &mut [f32]) {
        let rows: [&[f32]; M] = std::array::from_fn(|r| grp[r]);
        // SAFETY: only called when math::has_avx2() holds.
        out.copy_from_slice(&unsafe { crate::simd::dot_rows(rows, brow) });
    }
    match grp.len() {
        1 => run::<1>(grp, brow, out),
        2 => run::<2>(grp, brow, out),
        3 => run::<3>(grp, brow, out),
        4 => run::<4>(grp, brow, out),
        5 => run::<5>(grp, brow, out),
        6 => run::<6>(grp, brow, out),
        7 => run::<7>(grp, brow, out),
        _ => run::<8>(grp, brow, out),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn dots_avx2(_: &[&[f32]], _: &[f32], _: &mut [f32]) {
    unreachable!("has_avx2() is false off x86_64")
}

/// In place after a linear layer: the exact GELU of every element (when `gelu`), then
/// + residual[i] (residual has y's length and order).
pub fn epilogue_in_place(y: &mut [f32], gelu: bool, residual: Option<&[f32]>) {
    if !gelu && residual.is_none() {
        return;
    }
    if let Some(r) = residual {
        assert_eq!(r.len(), y.len(), "epilogue: residual has {} values for {}", r.len(), y.len());
    }
    let chunk = par::chunk_len(y.len(), 64, par::MIN_PAR_ELEMS);
    par::par_chunks_mut(y, chunk, |ci, ys| {
        let res = residual.map(|r| &r[ci * chunk..ci * chunk + ys.len()]);
        math::dispatch(#[inline(always)] || epilogue_chunk(ys, gelu, res))
    });
}

#[inline(always)]
fn epilogue_chunk(ys: &mut [f32], gelu: bool, res: Option<&[f32]>) {
    match res {
        Some(r) if gelu => ys.iter_mut().zip(r).for_each(|(v, r)| *v = math::gelu(*v) + r),
        Some(r) => ys.iter_mut().zip(r).for_each(|(v, r)| *v += r),
        None => ys.iter_mut().for_each(|v| *v = math::gelu(*v)),
    }
}

/// Whether the m * batch output rows (n contiguous elements each) are pairwise disjoint: the row
/// starts form a lattice of two strides; sorted by stride, the inner one must clear a row and the
/// outer one must clear the whole inner run.
fn rows_disjoint(g: &MatmulGeometry) -> bool {
    let mut dims: Vec<(usize, usize)> = [(g.c_rs, g.m), (g.c_bs, g.batch)].into_iter().filter(|&(_, cnt)| cnt > 1).collect();
    dims.sort_unstable();
    match dims[..] {
        [] => true,
        [(s, _)] => s >= g.n,
        [(s1, c1), (s2, _)] => s1 >= g.n && s2 >= (c1 - 1) * s1 + g.n,
        _ => unreachable!(),
    }
}

/// Every output row set to the bias (or zero): in parallel where the rows tile one contiguous
/// range, else row by row.
fn prefill(c: &mut [f32], g: &MatmulGeometry, bias: Option<&[f32]>) {
    let n = g.n;
    let fill = |row: &mut [f32]| match bias {
        Some(b) => row.copy_from_slice(&b[..n]),
        None => row.fill(0.0),
    };
    let contiguous = g.c_rs == n && (g.batch == 1 || g.c_bs == g.m * n);
    if contiguous {
        let all = &mut c[g.c_off..g.c_off + g.batch * g.m * n];
        let rows_per = par::chunk_len(g.batch * g.m, 1, (par::MIN_PAR_ELEMS / n).max(1));
        par::par_chunks_mut(all, rows_per * n, |_, chunk| chunk.chunks_mut(n).for_each(fill));
    } else {
        for bi in 0..g.batch {
            for r in 0..g.m {
                let at = g.c_off + bi * g.c_bs + r * g.c_rs;
                fill(&mut c[at..at + n]);
            }
        }
    }
}

/// The twin's loop in f32, for output geometries whose rows overlap (later writes win, in the
/// twin's order).
fn naive(a: &[f32], b: &[f32], c: &mut [f32], g: &MatmulGeometry, bias: Option<&[f32]>, alpha: f32) {
    for bi in 0..g.batch {
        for m in 0..g.m {
            for n in 0..g.n {
                let mut s = 0f32;
                for k in 0..g.k {
                    s += a[g.a_off + bi * g.a_bs + m * g.a_rs + k * g.a_ks] * b[g.b_off + bi * g.b_bs + k * g.b_ks + n * g.b_ns];
                }
                c[g.c_off + bi * g.c_bs + m * g.c_rs + n] = alpha * s + bias.map_or(0.0, |b| b[n]);
            }
        }
    }
}
