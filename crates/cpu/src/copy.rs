//! Strided copies of up to 4 dims: dst[dst_off + i · dst_stride] = src[src_off + i · src_stride]
//! for every multi-index i < shape (permute, concat, slice, pad are built on it by the caller).
//!
//! Strategy: dims of size 1 are dropped and neighbouring dims that are contiguous with each other
//! on both sides are merged, so a slice of rows or a concat part becomes a few long runs; when
//! the innermost remaining dim is contiguous on both sides each run is one `copy_from_slice`
//! (a memcpy), otherwise an element loop. Sequential: a copy is bound by memory bandwidth, and
//! strided destinations cannot be split into disjoint slices safely.

use visionllm_core::geometry::CopyGeometry;

pub fn copy_into<T: Copy + Send + Sync>(src: &[T], dst: &mut [T], g: &CopyGeometry) {
    if g.numel() == 0 {
        return;
    }
    // (size, src stride, dst stride), outermost first, size-1 dims dropped.
    let mut dims: Vec<(usize, usize, usize)> = Vec::with_capacity(4);
    for d in 0..4 {
        if g.shape[d] == 1 {
            continue;
        }
        let cur = (g.shape[d], g.src_stride[d], g.dst_stride[d]);
        match dims.last_mut() {
            // The previous (outer) dim steps exactly over this whole dim on both sides: merge.
            Some(prev) if prev.1 == cur.0 * cur.1 && prev.2 == cur.0 * cur.2 => *prev = (prev.0 * cur.0, cur.1, cur.2),
            _ => dims.push(cur),
        }
    }
    let (inner, si, di) = dims.pop().unwrap_or((1, 1, 1));
    // Outer dims padded to three, each (size, src stride, dst stride).
    let mut outer = [(1usize, 0usize, 0usize); 3];
    let skip = 3 - dims.len();
    outer[skip..].copy_from_slice(&dims);
    let contiguous = si == 1 && di == 1;
    for a in 0..outer[0].0 {
        for b in 0..outer[1].0 {
            for c in 0..outer[2].0 {
                let s0 = g.src_off + a * outer[0].1 + b * outer[1].1 + c * outer[2].1;
                let d0 = g.dst_off + a * outer[0].2 + b * outer[1].2 + c * outer[2].2;
                if contiguous {
                    dst[d0..d0 + inner].copy_from_slice(&src[s0..s0 + inner]);
                } else {
                    for i in 0..inner {
                        dst[d0 + i * di] = src[s0 + i * si];
                    }
                }
            }
        }
    }
}
