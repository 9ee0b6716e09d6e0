//! Fused scaled-dot-product attention over the general [`AttentionSpec`], as
//! `shaders/attention.wgsl` defines it: window attention on a padded grid (a group is a window;
//! row i of window w is token base(w) + (i / win) * grid_w + i % win), plain self- and
//! cross-attention (win = 0: row i is token i), causal masking (query i sees keys
//! j <= i + causal_offset) and grouped-query attention (query head h reads k/v head h / kv_group).
//! Element (row r, head h, dim d) of q, k, v, o sits at off + r * rs + h * head_dim + d.
//!
//! Strategy (flash-attention style): one task per (group, k/v head, block of query rows), in
//! parallel, where the query rows of a task are (query, head) pairs of every query head sharing
//! that k/v head, so grouped-query heads read each key and value once. A task walks the visible
//! keys in blocks of [`KB`]: it gathers the block's keys and values into contiguous scratch,
//! computes the scores of all its rows (q pre-scaled) as one small GEMM, applies the mask, does
//! the online-softmax update (running max, rescaled running sum and output) and accumulates P·V
//! as a second small GEMM, so scores never leave a few KiB of cache. Tasks with fewer than 4 rows
//! (decode) read keys and values in place with dot products and axpys instead. Each task returns its output rows,
//! scattered into o at the end (the rows of different tasks interleave within o's rows).

use visionllm_core::geometry::AttentionSpec;

use crate::math;
use crate::par;

/// Query rows per task (at most).
pub const QB: usize = 64;
/// Keys per online-softmax step.
pub const KB: usize = 64;

/// o[rows the spec covers] = softmax(q k^T * scale) v per (group, head, query).
pub fn attention_into(q: &[f32], k: &[f32], v: &[f32], o: &mut [f32], spec: &AttentionSpec) {
    let s = spec;
    if s.groups == 0 || s.heads == 0 || s.nq == 0 || s.head_dim == 0 {
        return;
    }
    let kvg = s.kv_group.clamp(1, s.heads);
    let kv_heads = s.heads / kvg;
    let rows = s.nq * kvg;
    // Row blocks: QB, or smaller when that leaves threads idle (few heads, few queries).
    let tasks_min = 4 * par::threads();
    let mut nqb = rows.div_ceil(QB);
    while rows.div_ceil(nqb) > 8 && s.groups * kv_heads * nqb < tasks_min {
        nqb *= 2;
    }
    // Even blocks (144 rows: 3 x 48, not 64 + 64 + 16).
    let qb = rows.div_ceil(nqb);
    let nqb = rows.div_ceil(qb);
    let task = |t: usize| (t / (kv_heads * nqb), (t / nqb) % kv_heads, (t % nqb) * qb);
    let blocks = par::par_map(s.groups * kv_heads * nqb, |t| {
        let (w, kh, r0) = task(t);
        math::dispatch(#[inline(always)] || kv_head_block(q, k, v, s, w, kh, r0..(r0 + qb).min(rows)))
    });
    let hd = s.head_dim;
    for (t, out) in blocks.into_iter().enumerate() {
        let (w, kh, r0) = task(t);
        for (rr, row) in out.chunks_exact(hd).enumerate() {
            let (i, h) = query_row(r0 + rr, kh, kvg);
            let at = s.o.off + token(s, w, i) * s.o.rs + h * hd;
            o[at..at + hd].copy_from_slice(row);
        }
    }
}

/// Task row r of k/v head kh: (query i, query head h).
#[inline(always)]
fn query_row(r: usize, kh: usize, kvg: usize) -> (usize, usize) {
    (r / kvg, kh * kvg + r % kvg)
}

/// The token of row i in group w.
#[inline(always)]
fn token(s: &AttentionSpec, w: usize, i: usize) -> usize {
    if s.win == 0 {
        return i;
    }
    let base = (w / s.nwx) * s.win * s.grid_w + (w % s.nwx) * s.win;
    base + (i / s.win) * s.grid_w + i % s.win
}

/// Keys [0, visible(i)) are visible to query i.
#[inline(always)]
fn visible(s: &AttentionSpec, i: usize) -> usize {
    s.causal_offset.map_or(s.nk, |off| s.nk.min(i + off + 1))
}

/// Attention of task rows `rows` of group w over k/v head kh: [rows.len(), head_dim].
#[inline(always)]
fn kv_head_block(q: &[f32], k: &[f32], v: &[f32], s: &AttentionSpec, w: usize, kh: usize, rows: std::ops::Range<usize>) -> Vec<f32> {
    let hd = s.head_dim;
    let kvg = s.kv_group.clamp(1, s.heads);
    let nr = rows.len();
    // Query rows times the scale, [nr, hd].
    let mut qm = vec![0f32; nr * hd];
    let mut last = vec![0usize; nr];
    for (rr, r) in rows.clone().enumerate() {
        let (i, h) = query_row(r, kh, kvg);
        let at = s.q.off + token(s, w, i) * s.q.rs + h * hd;
        for (d, x) in qm[rr * hd..(rr + 1) * hd].iter_mut().zip(&q[at..at + hd]) {
            *d = x * s.scale;
        }
        last[rr] = visible(s, i);
    }
    let kmax = last.iter().copied().max().unwrap_or(0);
    let mut m = vec![f32::NEG_INFINITY; nr];
    let mut l = vec![0f32; nr];
    let mut acc = vec![0f32; nr * hd];
    let mut sc = vec![0f32; nr * KB];
    // The key block's keys and values, gathered contiguous [nb, hd] (rows of a window are not
    // evenly strided; contiguous blocks are what the small GEMMs want).
    let small = nr < 4;
    let scratch = if small { 0 } else { KB * hd };
    let (mut kb, mut vb) = (vec![0f32; scratch], vec![0f32; scratch]);
    // Even key blocks too (144 keys: 3 x 48).
    let kbs = kmax.div_ceil(kmax.div_ceil(KB).max(1)).max(1);
    let mut rows_at = [(0usize, 0usize); KB];
    for j0 in (0..kmax).step_by(kbs) {
        let nb = kbs.min(kmax - j0);
        for (jj, at) in rows_at[..nb].iter_mut().enumerate() {
            let tok = token(s, w, j0 + jj);
            *at = (s.k.off + tok * s.k.rs + kh * hd, s.v.off + tok * s.v.rs + kh * hd);
        }
        // Scores [nr, nb] (row stride KB).
        if small {
            // Few rows (decode): keys read in place, no gather.
            for rr in 0..nr {
                for (jj, &(ka, _)) in rows_at[..nb].iter().enumerate() {
                    sc[rr * KB + jj] = math::dot(&qm[rr * hd..(rr + 1) * hd], &k[ka..ka + hd]);
                }
            }
        } else {
            for (jj, &(ka, va)) in rows_at[..nb].iter().enumerate() {
                kb[jj * hd..(jj + 1) * hd].copy_from_slice(&k[ka..ka + hd]);
                vb[jj * hd..(jj + 1) * hd].copy_from_slice(&v[va..va + hd]);
            }
            small_gemm(nr, nb, hd, &mut sc, KB, false, &qm, hd, (1, hd), &kb);
        }
        // Mask, online softmax update, rescale of the running output.
        for rr in 0..nr {
            let vis = last[rr].saturating_sub(j0).min(nb);
            let row = &mut sc[rr * KB..rr * KB + nb];
            if vis == 0 {
                row.fill(0.0);
                continue;
            }
            let m_new = m[rr].max(math::max(&row[..vis]));
            let rescale = math::exp(m[rr] - m_new);
            row[..vis].iter_mut().for_each(|x| *x = math::exp(*x - m_new));
            row[vis..].fill(0.0);
            l[rr] = l[rr] * rescale + math::sum(&row[..vis]);
            m[rr] = m_new;
            if rescale != 1.0 {
                acc[rr * hd..(rr + 1) * hd].iter_mut().for_each(|x| *x *= rescale);
            }
        }
        // acc += P · V.
        if small {
            for rr in 0..nr {
                let a = &mut acc[rr * hd..(rr + 1) * hd];
                for (&p, &(_, va)) in sc[rr * KB..rr * KB + nb].iter().zip(&rows_at[..nb]) {
                    math::axpy(a, p, &v[va..va + hd]);
                }
            }
        } else {
            small_gemm(nr, hd, nb, &mut acc, hd, true, &sc, KB, (hd, 1), &vb);
        }
    }
    for rr in 0..nr {
        let inv = 1.0 / l[rr];
        acc[rr * hd..(rr + 1) * hd].iter_mut().for_each(|x| *x *= inv);
    }
    acc
}

/// c[m, n] (row stride ldc) (+)= a[m, k] (row stride lda, unit column stride) · b, where element
/// (kk, j) of b is b[kk * b_strides.0 + j * b_strides.1]; single-threaded gemm.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn small_gemm(m: usize, n: usize, k: usize, c: &mut [f32], ldc: usize, accumulate: bool, a: &[f32], lda: usize, b_strides: (usize, usize), b: &[f32]) {
    assert!(m > 0 && n > 0 && k > 0);
    assert!((m - 1) * ldc + n <= c.len() && (m - 1) * lda + k <= a.len(), "small_gemm: a or c too short");
    assert!((k - 1) * b_strides.0 + (n - 1) * b_strides.1 < b.len(), "small_gemm: b too short");
    // SAFETY: the asserts above bound every element gemm reads from a and b and writes in c
    // (c rows are ldc >= n apart, so they do not overlap); all three are distinct slices.
    unsafe {
        gemm::gemm(
            m, n, k,
            c.as_mut_ptr(), 1, ldc as isize,
            accumulate,
            a.as_ptr(), 1, lda as isize,
            b.as_ptr(), b_strides.1 as isize, b_strides.0 as isize,
            1.0, 1.0,
            false, false, false,
            gemm::Parallelism::None,
        );
    }
}
