//! Convolutions on channels-last maps [H, W, C], with PyTorch's weight layout: a general conv2d
//! (DaViT's patch embeddings, k7 s4 p3 and k3 s2 p1) and the depthwise 3x3 (stride 1, pad 1) of
//! the conv position encodings, with or without its residual.
//!
//! Strategy:
//! - conv2d: im2col + GEMM. The weight is reordered once to [Cout, KH, KW, Cin], so an im2col row
//!   (one output pixel) is KH runs of KW * Cin contiguous input values (zeros where the window
//!   leaves the map). Output rows are split into bands, in parallel; each band fills a
//!   thread-local patch matrix [band pixels, KH*KW*Cin] and multiplies it by the weight with gemm
//!   onto the bias, so the patch matrix of a large map never exists whole.
//! - depthwise 3x3: direct, vectorized over channels (the weight transposed to [9, C]), parallel
//!   over output rows.

use std::cell::RefCell;

use crate::math;
use crate::par::{self, SendPtr};

/// Patch-matrix values per band (4 MiB of f32 at most per thread, kept between calls).
const BAND_VALUES: usize = 1 << 20;

thread_local! {
    static PATCHES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// x [h, w, cin], weight [cout, cin, kh, kw], bias [cout] -> ([ho, wo, cout], ho, wo).
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    x: &[f32], h: usize, w: usize, cin: usize,
    weight: &[f32], cout: usize, kh: usize, kw: usize,
    bias: Option<&[f32]>, stride: [usize; 2], pad: [usize; 2],
) -> (Vec<f32>, usize, usize) {
    let ho = (h + 2 * pad[0] - kh) / stride[0] + 1;
    let wo = (w + 2 * pad[1] - kw) / stride[1] + 1;
    let kk = kh * kw * cin;
    assert!(x.len() >= h * w * cin && weight.len() >= cout * kk, "conv2d: x {} / weight {} values", x.len(), weight.len());
    let mut out = vec![0f32; ho * wo * cout];
    if let Some(b) = bias {
        out.chunks_exact_mut(cout).for_each(|px| px.copy_from_slice(&b[..cout]));
    }
    if out.is_empty() || kk == 0 {
        return (out, ho, wo);
    }
    // [cout, cin, kh, kw] -> [cout, kh, kw, cin]: the order of the im2col columns.
    let mut wt = vec![0f32; cout * kk];
    for co in 0..cout {
        for ci in 0..cin {
            for ky in 0..kh {
                for kx in 0..kw {
                    wt[co * kk + (ky * kw + kx) * cin + ci] = weight[((co * cin + ci) * kh + ky) * kw + kx];
                }
            }
        }
    }
    let band = (BAND_VALUES / (wo * kk)).max(1).min(par::chunk_len(ho, 1, 1));
    let bands = ho.div_ceil(band);
    let op = SendPtr(out.as_mut_ptr());
    par::par_for(bands, |bi| {
        let (y0, y1) = (bi * band, ((bi + 1) * band).min(ho));
        let pixels = (y1 - y0) * wo;
        PATCHES.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < pixels * kk {
                p.resize(pixels * kk, 0.0);
            }
            let patches = &mut p[..pixels * kk];
            im2col(x, h, w, cin, kh, kw, stride, pad, y0..y1, wo, patches);
            // SAFETY: this band writes only output pixels [y0 * wo, y1 * wo) (bands are
            // disjoint), rows of cout values; patches is [pixels, kk] and wt [cout, kk], all in
            // bounds of their allocations.
            unsafe {
                gemm::gemm(
                    pixels, cout, kk,
                    op.get().add(y0 * wo * cout), 1, cout as isize,
                    bias.is_some(),
                    patches.as_ptr(), 1, kk as isize,
                    wt.as_ptr(), kk as isize, 1,
                    1.0, 1.0,
                    false, false, false,
                    gemm::Parallelism::None,
                );
            }
        });
    });
    (out, ho, wo)
}

/// The patch matrix of output rows `ys`: row (oy, ox) holds x at (oy*sy + ky - py, ox*sx + kx - px)
/// for every (ky, kx, ci), zero outside the map.
#[allow(clippy::too_many_arguments)]
fn im2col(
    x: &[f32], h: usize, w: usize, cin: usize, kh: usize, kw: usize,
    stride: [usize; 2], pad: [usize; 2], ys: std::ops::Range<usize>, wo: usize, patches: &mut [f32],
) {
    let kk = kh * kw * cin;
    let y0 = ys.start;
    for (pi, row) in patches.chunks_exact_mut(kk).enumerate() {
        let (oy, ox) = (y0 + pi / wo, pi % wo);
        for ky in 0..kh {
            let dst = &mut row[ky * kw * cin..(ky + 1) * kw * cin];
            let iy = (oy * stride[0] + ky) as isize - pad[0] as isize;
            if iy < 0 || iy >= h as isize {
                dst.fill(0.0);
                continue;
            }
            // Columns ix0 .. ix0 + kw, of which [lo, hi) fall inside the map.
            let ix0 = (ox * stride[1]) as isize - pad[1] as isize;
            let lo = (-ix0).clamp(0, kw as isize) as usize;
            let hi = (w as isize - ix0).clamp(0, kw as isize) as usize;
            dst[..lo * cin].fill(0.0);
            if hi > lo {
                let src = (iy as usize * w + (ix0 + lo as isize) as usize) * cin;
                dst[lo * cin..hi * cin].copy_from_slice(&x[src..src + (hi - lo) * cin]);
            }
            dst[hi.max(lo) * cin..].fill(0.0);
        }
    }
}

/// Depthwise 3x3, stride 1, pad 1: x [h, w, c], weight [c, 1, 3, 3], bias [c] -> [h, w, c].
pub fn dwconv3x3(x: &[f32], h: usize, w: usize, c: usize, weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    dw(x, h, w, c, weight, bias, false)
}

/// x + dwconv3x3(x), in one pass.
pub fn dwconv3x3_residual(x: &[f32], h: usize, w: usize, c: usize, weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    dw(x, h, w, c, weight, bias, true)
}

fn dw(x: &[f32], h: usize, w: usize, c: usize, weight: &[f32], bias: Option<&[f32]>, residual: bool) -> Vec<f32> {
    let mut out = vec![0f32; h * w * c];
    if out.is_empty() {
        return out;
    }
    assert!(x.len() >= h * w * c && weight.len() >= 9 * c, "dwconv3x3: x {} / weight {} values", x.len(), weight.len());
    // [c, 3, 3] -> [9, c]: tap t's weights for all channels side by side.
    let mut wt = vec![0f32; 9 * c];
    for ch in 0..c {
        for t in 0..9 {
            wt[t * c + ch] = weight[ch * 9 + t];
        }
    }
    let row = w * c;
    let rows_per = par::chunk_len(h, 1, (par::MIN_PAR_ELEMS / row).max(1));
    par::par_chunks_mut(&mut out, rows_per * row, |ci, band| {
        math::dispatch(#[inline(always)] || dw_rows(x, h, w, c, &wt, bias, residual, ci * rows_per, band))
    });
    out
}

/// Output rows y0 .. y0 + band.len() / (w * c), inlined into the SIMD dispatch: per pixel, the
/// bias then each in-map tap's channel vector times its weights, vectorized over channels.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn dw_rows(x: &[f32], h: usize, w: usize, c: usize, wt: &[f32], bias: Option<&[f32]>, residual: bool, y0: usize, band: &mut [f32]) {
    for (r, orow) in band.chunks_exact_mut(w * c).enumerate() {
        let y = y0 + r;
        for (xo, o) in orow.chunks_exact_mut(c).enumerate() {
            match bias {
                Some(b) => o.copy_from_slice(&b[..c]),
                None => o.fill(0.0),
            }
            for ky in 0..3 {
                let Some(iy) = (y + ky).checked_sub(1).filter(|&iy| iy < h) else { continue };
                for kx in 0..3 {
                    let Some(ix) = (xo + kx).checked_sub(1).filter(|&ix| ix < w) else { continue };
                    let src = &x[(iy * w + ix) * c..(iy * w + ix + 1) * c];
                    let wk = &wt[(ky * 3 + kx) * c..(ky * 3 + kx + 1) * c];
                    for ((o, s), k) in o.iter_mut().zip(src).zip(wk) {
                        *o += s * k;
                    }
                }
            }
            if residual {
                let src = &x[(y * w + xo) * c..(y * w + xo + 1) * c];
                o.iter_mut().zip(src).for_each(|(o, s)| *o += s);
            }
        }
    }
}
