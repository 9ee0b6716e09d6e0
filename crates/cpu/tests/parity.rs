//! Every fast kernel against its twin in `visionllm_core::twin` (the f64 oracle), over random
//! and awkward shapes: size 1, sizes off every SIMD/block/panel multiple, K off the 32-value
//! quantization block, padded windows, causal offsets, grouped queries, strided geometries,
//! copy offsets, GEMV and panel paths of the quantized linear layer.
//!
//! Tolerance: |got - want| <= RTOL * (|want| + rms(want)), rms over the whole output; indices
//! exact (inputs without near-ties).

use visionllm_core::geometry::{AttentionSpec, CopyGeometry, MatmulGeometry, Rows};
use visionllm_core::quant::{quantize, BLOCK};
use visionllm_core::{twin, DType};
use visionllm_cpu as cpu;

const RTOL: f32 = 1e-4;

/// splitmix64: a small deterministic PRNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    fn f(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f()).collect()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

#[track_caller]
fn close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let rms = (want.iter().map(|&w| (w as f64).powi(2)).sum::<f64>() / want.len().max(1) as f64).sqrt() as f32;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        if g.is_nan() && w.is_nan() {
            continue;
        }
        let tol = RTOL * (w.abs() + rms);
        assert!((g - w).abs() <= tol, "{what}: [{i}] got {g} want {w} (tol {tol:e}, rms {rms})");
    }
}

// ---- math ------------------------------------------------------------------------------------

#[test]
fn math_exp_and_f16() {
    let mut worst = 0f64;
    for i in 0..200_000 {
        let x = -87.0 + 175.7 * i as f32 / 200_000.0;
        let (got, want) = (cpu::math::exp(x) as f64, (x as f64).exp());
        worst = worst.max(((got - want) / want).abs());
    }
    assert!(worst < 4e-7, "exp worst relative error {worst:e}");
    assert_eq!(cpu::math::exp(f32::NEG_INFINITY), 0.0);
    assert_eq!(cpu::math::exp(-110.0), 0.0);
    // Subnormal results, to within their (absolute) resolution.
    for x in [-88.0f32, -95.5, -100.0, -103.0] {
        let (got, want) = (cpu::math::exp(x) as f64, (x as f64).exp());
        assert!((got - want).abs() <= 2.0 * 1.4e-45 + 4e-7 * want, "exp({x}) = {got:e}, want {want:e}");
    }
    assert_eq!(cpu::math::exp(0.0), 1.0);
    // Every f16 (step 3) decodes as quant::dequantize does: a Q8 block [1] with that scale.
    for bits in (0..=u16::MAX).step_by(3) {
        let words = [1u32, 0, 0, 0, 0, 0, 0, 0, bits as u32];
        let want = visionllm_core::quant::dequantize(DType::Q8, 1, 1, &words)[0];
        let got = cpu::math::f16_to_f32(bits);
        assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "f16 {bits:#x}: {got} vs {want}");
    }
}

// ---- matmul ----------------------------------------------------------------------------------

/// Run both on the same initial c (sentinels where the geometry does not write) and compare all.
#[track_caller]
fn check_matmul(what: &str, a: &[f32], b: &[f32], c_len: usize, g: &MatmulGeometry, bias: Option<&[f32]>, alpha: f32) {
    let init: Vec<f32> = (0..c_len).map(|i| 1000.0 + i as f32).collect();
    let (mut got, mut want) = (init.clone(), init);
    cpu::matmul::matmul_scaled_into(a, b, &mut got, g, bias, alpha);
    twin::matmul::matmul_scaled_into(a, b, &mut want, g, bias, alpha);
    // The sentinels dominate the rms; compare the products at their own scale too.
    close(what, &got, &want);
    let written: Vec<usize> = (0..c_len).filter(|&i| want[i] != 1000.0 + i as f32).collect();
    let pick = |v: &[f32]| written.iter().map(|&i| v[i]).collect::<Vec<_>>();
    close(what, &pick(&got), &pick(&want));
}

#[test]
fn matmul_contiguous_random_shapes() {
    let mut r = Rng(1);
    let dims = [1, 2, 7, 16, 17, 33, 64, 65, 130];
    for case in 0..60 {
        let (batch, m, n, k) = (r.pick(&[1, 2, 3, 5]), r.pick(&dims), r.pick(&dims), r.pick(&dims));
        let (trans_b, broadcast_b) = (case % 2 == 0, case % 3 == 0);
        let g = MatmulGeometry::contiguous(batch, m, n, k, trans_b, broadcast_b);
        let a = r.vec(batch * m * k);
        let b = r.vec(if broadcast_b { 1 } else { batch } * k * n);
        let bias = (case % 4 != 1).then(|| r.vec(n));
        let alpha = if case % 5 == 0 { 1.0 } else { r.f() * 3.0 };
        check_matmul(&format!("matmul {batch}x{m}x{n}x{k} t{trans_b} bc{broadcast_b}"), &a, &b, batch * m * n, &g, bias.as_deref(), alpha);
    }
}

#[test]
fn matmul_large_single_product() {
    // Past gemm's cache blocks, split over threads inside gemm (batch 1).
    let mut r = Rng(2);
    let (m, n, k) = (300, 290, 520);
    let g = MatmulGeometry::contiguous(1, m, n, k, true, true);
    let (a, b, bias) = (r.vec(m * k), r.vec(n * k), r.vec(n));
    check_matmul("matmul 300x290x520", &a, &b, m * n, &g, Some(&bias), 0.5);
}

#[test]
fn matmul_strided_geometries() {
    let mut r = Rng(3);
    // Channel attention's two products, reading q, k, v in place from qkv [N, 3C].
    for &(n, c, groups) in &[(1, 8, 1), (37, 24, 3), (200, 96, 3), (65, 64, 8)] {
        let (cg, c3) = (c / groups, 3 * c);
        let qkv = r.vec(n * c3);
        let g1 = MatmulGeometry {
            batch: groups, m: cg, n: cg, k: n,
            a_off: 0, a_bs: cg, a_rs: 1, a_ks: c3,
            b_off: c, b_bs: cg, b_ks: c3, b_ns: 1,
            c_off: 0, c_bs: cg * cg, c_rs: cg,
        };
        check_matmul(&format!("ca scores {n} {c} {groups}"), &qkv, &qkv, groups * cg * cg, &g1, None, (n as f32).powf(-0.5));
        let probs = r.vec(groups * cg * cg);
        let g2 = MatmulGeometry {
            batch: groups, m: n, n: cg, k: cg,
            a_off: 2 * c, a_bs: cg, a_rs: c3, a_ks: 1,
            b_off: 0, b_bs: cg * cg, b_ks: 1, b_ns: cg,
            c_off: 0, c_bs: cg, c_rs: c,
        };
        check_matmul(&format!("ca out {n} {c} {groups}"), &qkv, &probs, n * c, &g2, None, 1.0);
    }
    // Offsets and padded rows everywhere, output into a larger tensor.
    for _ in 0..20 {
        let (batch, m, n, k) = (r.pick(&[1, 2, 4]), r.pick(&[1, 5, 19, 70]), r.pick(&[1, 3, 17, 40]), r.pick(&[1, 9, 33, 80]));
        let (a_rs, b_ns, c_rs) = (k + r.below(3), k + r.below(4), n + r.below(5));
        let g = MatmulGeometry {
            batch, m, n, k,
            a_off: r.below(7), a_bs: m * a_rs + r.below(3), a_rs, a_ks: 1,
            b_off: r.below(5), b_bs: n * b_ns, b_ks: 1, b_ns,
            c_off: r.below(9), c_bs: m * c_rs + r.below(4), c_rs,
        };
        let (ea, eb, ec) = g.extents();
        let (a, b) = (r.vec(ea), r.vec(eb));
        let bias = r.vec(n);
        check_matmul(&format!("strided {g:?}"), &a, &b, ec + 3, &g, Some(&bias), 1.5);
    }
}

#[test]
fn matmul_degenerate_geometries() {
    let mut r = Rng(4);
    // k = 0: bias only.
    let g = MatmulGeometry::contiguous(2, 3, 5, 0, false, false);
    check_matmul("k=0", &[], &[], 30, &g, Some(&r.vec(5)), 2.0);
    // Overlapping output rows (c_rs = 1 < n): the twin's write order decides.
    let g = MatmulGeometry { batch: 1, m: 4, n: 6, k: 3, a_off: 0, a_bs: 12, a_rs: 3, a_ks: 1, b_off: 0, b_bs: 0, b_ks: 6, b_ns: 1, c_off: 0, c_bs: 0, c_rs: 1 };
    check_matmul("overlap", &r.vec(12), &r.vec(18), 9, &g, None, 1.0);
    // Broadcast rows of a (a_rs = 0).
    let g = MatmulGeometry { batch: 2, m: 3, n: 4, k: 5, a_off: 0, a_bs: 5, a_rs: 0, a_ks: 1, b_off: 0, b_bs: 20, b_ks: 4, b_ns: 1, c_off: 0, c_bs: 12, c_rs: 4 };
    check_matmul("a_rs=0", &r.vec(10), &r.vec(40), 24, &g, None, 1.0);
}

#[test]
fn matmul_epilogue() {
    let mut r = Rng(5);
    for len in [1, 15, 1000, 70_001] {
        let y: Vec<f32> = r.vec(len).iter().map(|v| v * 6.0).collect();
        let res = r.vec(len);
        for (gelu, residual) in [(true, None), (false, Some(&res[..])), (true, Some(&res[..]))] {
            let mut got = y.clone();
            cpu::matmul::epilogue_in_place(&mut got, gelu, residual);
            close(&format!("epilogue {len} {gelu}"), &got, &twin::matmul::epilogue(&y, gelu, residual));
        }
    }
}

// ---- quantized linear ------------------------------------------------------------------------

#[test]
fn qlinear_gemv_and_panels() {
    check_qlinear(6);
}

/// The portable (non-AVX2) paths of the GEMVs, attention's dots and the SIMD dispatch, forced
/// on; the other tests cover the AVX2 paths where the CPU has them (both paths are correct, so
/// tests running meanwhile pass either way).
#[test]
fn portable_paths() {
    cpu::math::use_simd(false);
    check_qlinear(60);
    let mut r = Rng(61);
    for &(m, n, k) in &[(1, 37, 100), (3, 20, 16), (9, 70, 33), (16, 5, 64)] {
        let g = MatmulGeometry::contiguous(1, m, n, k, true, true);
        check_matmul("portable gemv", &r.vec(m * k), &r.vec(n * k), m * n, &g, Some(&r.vec(n)), 0.7);
    }
    let (q, k, v) = (r.vec(2 * 4 * 24), r.vec(90 * 2 * 24), r.vec(90 * 2 * 24));
    let mut got = vec![0f32; 2 * 4 * 24];
    cpu::attention::attention_into(&q, &k, &v, &mut got, &AttentionSpec::grouped(2, 90, 4, 2, 24, Some(88)));
    close("portable attention", &got, &twin::attention::grouped_attention(&q, &k, &v, 2, 90, 4, 2, 24, Some(88)));
    cpu::math::use_simd(true);
}

fn check_qlinear(seed: u64) {
    let mut r = Rng(seed);
    // GEMV up to 16 rows (AVX2 in groups of 8), dequantized panels of 128 weight rows above.
    let cases = [
        (1, 1, 1), (1, 7, 31), (1, 300, 33), (1, 64, 200), (2, 129, 95), (3, 5, 64), (4, 257, 100),
        (5, 9, 32), (6, 130, 45), (8, 33, 64), (9, 40, 70), (16, 17, 96), (17, 129, 33), (64, 200, 96),
        (77, 129, 33), (300, 260, 70), (150, 1, 7),
    ];
    for (i, &(rows, n, k)) in cases.iter().enumerate() {
        let x = r.vec(rows * k);
        let w = r.vec(n * k);
        let bias = (i % 3 != 2).then(|| r.vec(n));
        for dtype in [DType::Q8, DType::Q4] {
            let words = quantize(dtype, n, k, &w);
            let got = cpu::qmatmul::qlinear(&x, &words, dtype, bias.as_deref(), rows, n, k);
            let want = twin::qmatmul::qlinear(&x, &words, dtype, bias.as_deref(), rows, n, k);
            close(&format!("qlinear {dtype:?} rows {rows} n {n} k {k}"), &got, &want);
        }
    }
}

// ---- attention -------------------------------------------------------------------------------

#[test]
fn attention_plain_causal_grouped_cross() {
    let mut r = Rng(7);
    // (nq, nk, heads, kv_heads, hd, causal offset)
    let cases = [
        (1, 1, 1, 1, 1, None), (1, 1, 1, 1, 4, Some(0)), (5, 5, 2, 2, 8, Some(0)), (1, 150, 4, 2, 64, Some(149)),
        (3, 70, 8, 2, 16, Some(67)), (40, 40, 3, 3, 24, Some(0)), (33, 130, 2, 1, 5, None), (130, 33, 2, 2, 20, None),
        (65, 65, 4, 4, 32, None), (7, 200, 6, 3, 12, Some(193)), (100, 100, 1, 1, 64, Some(0)),
    ];
    for &(nq, nk, heads, kv_heads, hd, off) in &cases {
        let (q, k, v) = (r.vec(nq * heads * hd), r.vec(nk * kv_heads * hd), r.vec(nk * kv_heads * hd));
        // Larger-magnitude q so softmaxes are peaked, not flat.
        let q: Vec<f32> = q.iter().map(|x| x * 4.0).collect();
        let mut got = vec![0f32; nq * heads * hd];
        cpu::attention::attention_into(&q, &k, &v, &mut got, &AttentionSpec::grouped(nq, nk, heads, kv_heads, hd, off));
        let want = twin::attention::grouped_attention(&q, &k, &v, nq, nk, heads, kv_heads, hd, off);
        close(&format!("attention nq {nq} nk {nk} h {heads}/{kv_heads} hd {hd} off {off:?}"), &got, &want);
    }
}

#[test]
fn attention_window_on_padded_grid() {
    let mut r = Rng(8);
    for &(hp, wp, c, heads, win) in &[(2, 2, 4, 1, 1), (7, 14, 24, 3, 7), (12, 8, 16, 2, 4), (6, 6, 64, 2, 3)] {
        let qkv: Vec<f32> = r.vec(hp * wp * 3 * c).iter().map(|x| x * 3.0).collect();
        let nwx = wp / win;
        let spec = AttentionSpec {
            nq: win * win, nk: win * win, head_dim: c / heads, heads, kv_group: 1,
            groups: (hp / win) * nwx, win, grid_w: wp, nwx,
            q: Rows { off: 0, rs: 3 * c }, k: Rows { off: c, rs: 3 * c }, v: Rows { off: 2 * c, rs: 3 * c }, o: Rows { off: 0, rs: c },
            scale: ((c / heads) as f32).powf(-0.5), causal_offset: None,
        };
        let mut got = vec![0f32; hp * wp * c];
        cpu::attention::attention_into(&qkv, &qkv, &qkv, &mut got, &spec);
        close(&format!("window {hp}x{wp} c {c} h {heads} win {win}"), &got, &twin::attention::window_attention(&qkv, hp, wp, c, heads, win));
    }
}

#[test]
fn attention_writes_only_its_rows_of_a_larger_output() {
    let mut r = Rng(9);
    let (nq, nk, heads, hd) = (9, 20, 2, 8);
    let c = heads * hd;
    let (q, k, v) = (r.vec(nq * c), r.vec(nk * c), r.vec(nk * c));
    let want_core = twin::attention::attention(&q, &k, &v, nq, nk, heads, c, Some(11));
    // q, k, v embedded at offsets in wider rows; o a wider tensor with sentinels.
    let embed = |x: &[f32], rows: usize, off: usize, rs: usize| {
        let mut y = vec![7.0f32; off + rows * rs];
        for i in 0..rows {
            y[off + i * rs..off + i * rs + c].copy_from_slice(&x[i * c..(i + 1) * c]);
        }
        y
    };
    let (qo, ko, vo, oo) = (3, 5, 1, 4);
    let spec = AttentionSpec {
        q: Rows { off: qo, rs: c + 3 }, k: Rows { off: ko, rs: c + 1 }, v: Rows { off: vo, rs: 2 * c }, o: Rows { off: oo, rs: c + 6 },
        ..AttentionSpec::plain(nq, nk, heads, hd, Some(11))
    };
    let (qe, ke, ve) = (embed(&q, nq, qo, c + 3), embed(&k, nk, ko, c + 1), embed(&v, nk, vo, 2 * c));
    let mut got = vec![-5.0f32; oo + nq * (c + 6) + 2];
    cpu::attention::attention_into(&qe, &ke, &ve, &mut got, &spec);
    let mut want = vec![-5.0f32; got.len()];
    for i in 0..nq {
        want[oo + i * (c + 6)..oo + i * (c + 6) + c].copy_from_slice(&want_core[i * c..(i + 1) * c]);
    }
    let written = |v: &[f32]| (0..nq).flat_map(|i| v[oo + i * (c + 6)..oo + i * (c + 6) + c].to_vec()).collect::<Vec<_>>();
    close("attention into a larger o", &written(&got), &written(&want));
    let rest = |v: &[f32]| v.iter().copied().filter(|&x| x == -5.0).count();
    assert_eq!(rest(&got), got.len() - nq * c, "attention wrote outside its rows");
}

#[test]
fn channel_attention_matches() {
    let mut r = Rng(10);
    for &(n, c, groups) in &[(1, 3, 1), (49, 24, 3), (300, 48, 2), (17, 64, 8)] {
        let qkv = r.vec(n * 3 * c);
        close(&format!("channel attention {n} {c} {groups}"), &cpu::channel_attention::channel_attention(&qkv, n, c, groups), &twin::channel_attention::channel_attention(&qkv, n, c, groups));
    }
}

// ---- conv ------------------------------------------------------------------------------------

#[test]
fn conv2d_patch_embeds_and_odd_shapes() {
    let mut r = Rng(11);
    // (h, w, cin, cout, kh, kw, stride, pad)
    let cases = [
        (32, 28, 3, 16, 7, 7, [4, 4], [3, 3]), (15, 17, 8, 12, 3, 3, [2, 2], [1, 1]), (1, 1, 1, 1, 1, 1, [1, 1], [0, 0]),
        (5, 9, 2, 3, 3, 2, [1, 2], [0, 1]), (9, 6, 5, 7, 4, 4, [3, 1], [2, 0]), (40, 3, 1, 1, 7, 3, [1, 1], [3, 1]),
    ];
    for (i, &(h, w, cin, cout, kh, kw, stride, pad)) in cases.iter().enumerate() {
        let x = r.vec(h * w * cin);
        let weight = r.vec(cout * cin * kh * kw);
        let bias = (i % 2 == 0).then(|| r.vec(cout));
        let (got, gh, gw) = cpu::conv::conv2d(&x, h, w, cin, &weight, cout, kh, kw, bias.as_deref(), stride, pad);
        let (want, th, tw) = twin::conv::conv2d(&x, h, w, cin, &weight, cout, kh, kw, bias.as_deref(), stride, pad);
        assert_eq!((gh, gw), (th, tw));
        close(&format!("conv2d case {i}"), &got, &want);
    }
}

#[test]
fn dwconv3x3_with_and_without_residual() {
    let mut r = Rng(12);
    for &(h, w, c) in &[(1, 1, 1), (1, 5, 3), (4, 1, 17), (9, 7, 33), (24, 20, 64)] {
        let (x, weight, bias) = (r.vec(h * w * c), r.vec(9 * c), r.vec(c));
        for b in [None, Some(&bias[..])] {
            close(&format!("dw {h}x{w}x{c}"), &cpu::conv::dwconv3x3(&x, h, w, c, &weight, b), &twin::conv::dwconv3x3(&x, h, w, c, &weight, b));
            close(&format!("dw res {h}x{w}x{c}"), &cpu::conv::dwconv3x3_residual(&x, h, w, c, &weight, b), &twin::conv::dwconv3x3_residual(&x, h, w, c, &weight, b));
        }
    }
}

// ---- copy ------------------------------------------------------------------------------------

fn strides(shape: &[usize]) -> Vec<usize> {
    visionllm_core::geometry::contiguous_strides(shape)
}

#[test]
fn copy_permute_slice_pad_concat() {
    let mut r = Rng(13);
    // Permutes (the launcher's geometry), f32 and u32.
    for (shape, perm) in [(vec![2, 3, 4, 5], vec![0, 2, 3, 1]), (vec![7, 1, 9], vec![2, 1, 0]), (vec![1], vec![0]), (vec![3, 17], vec![1, 0]), (vec![4, 6, 33], vec![1, 0, 2])] {
        let n: usize = shape.iter().product();
        let x = r.vec(n);
        let xs = strides(&shape);
        let out: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let g = CopyGeometry::new(&out, 0, &perm.iter().map(|&p| xs[p]).collect::<Vec<_>>(), 0, &strides(&out)).unwrap();
        let mut got = vec![0f32; n];
        cpu::copy::copy_into(&x, &mut got, &g);
        assert_eq!(got, twin::copy::permute(&x, &shape, &perm), "permute {shape:?} {perm:?}");
        let xu: Vec<u32> = (0..n as u32).collect();
        let mut gu = vec![0u32; n];
        cpu::copy::copy_into(&xu, &mut gu, &g);
        assert_eq!(gu, twin::copy::permute(&xu, &shape, &perm));
    }
    // Slices with offsets.
    for (shape, start, size) in [(vec![5, 6, 7], vec![1, 2, 3], vec![3, 4, 2]), (vec![4, 9], vec![0, 3], vec![4, 6]), (vec![8, 3, 2, 5], vec![2, 0, 1, 0], vec![5, 3, 1, 5])] {
        let x = r.vec(shape.iter().product());
        let xs = strides(&shape);
        let off = (0..shape.len()).map(|d| start[d] * xs[d]).sum();
        let g = CopyGeometry::new(&size, off, &xs, 0, &strides(&size)).unwrap();
        let mut got = vec![0f32; size.iter().product()];
        cpu::copy::copy_into(&x, &mut got, &g);
        assert_eq!(got, twin::copy::slice(&x, &shape, &start, &size), "slice {shape:?}");
    }
    // Zero padding: a box written at an offset into a zeroed larger tensor.
    for (shape, before, after) in [(vec![3, 5, 4], vec![1, 0, 0], vec![2, 3, 0]), (vec![2, 2], vec![1, 1], vec![1, 1])] {
        let x = r.vec(shape.iter().product());
        let out: Vec<usize> = (0..shape.len()).map(|d| before[d] + shape[d] + after[d]).collect();
        let os = strides(&out);
        let off = (0..shape.len()).map(|d| before[d] * os[d]).sum();
        let mut got = vec![0f32; out.iter().product()];
        cpu::copy::copy_into(&x, &mut got, &CopyGeometry::new(&shape, 0, &strides(&shape), off, &os).unwrap());
        assert_eq!(got, twin::copy::pad(&x, &shape, &before, &after, 0.0), "pad {shape:?}");
    }
    // Concat along dim 1 of [2, *, 3].
    let parts = [(r.vec(2 * 4 * 3), vec![2, 4, 3]), (r.vec(6), vec![2, 1, 3]), (r.vec(2 * 5 * 3), vec![2, 5, 3])];
    let out = vec![2, 10, 3];
    let os = strides(&out);
    let mut got = vec![0f32; 60];
    let mut at = 0;
    for (data, shape) in &parts {
        cpu::copy::copy_into(data, &mut got, &CopyGeometry::new(shape, 0, &strides(shape), at * os[1], &os).unwrap());
        at += shape[1];
    }
    let views: Vec<(&[f32], &[usize])> = parts.iter().map(|(d, s)| (&d[..], &s[..])).collect();
    assert_eq!(got, twin::copy::concat(&views, 1));
}

// ---- elementwise -----------------------------------------------------------------------------

#[test]
fn elementwise_ops() {
    let mut r = Rng(14);
    for len in [1, 7, 64, 1000, 100_003] {
        let x: Vec<f32> = r.vec(len).iter().map(|v| v * 8.0).collect();
        let y = r.vec(len);
        close("gelu", &cpu::elementwise::gelu(&x), &twin::elementwise::gelu(&x));
        close("gelu_tanh", &cpu::elementwise::gelu_tanh(&x), &twin::elementwise::gelu_tanh(&x));
        close("silu_mul", &cpu::elementwise::silu_mul(&x, &y), &twin::elementwise::silu_mul(&x, &y));
        close("scale", &cpu::elementwise::scale(&x, -0.3), &twin::elementwise::scale(&x, -0.3));
        close("add", &cpu::elementwise::add(&x, &y), &twin::elementwise::binary(&x, &y, |a, b| a + b));
        close("mul", &cpu::elementwise::mul(&x, &y), &twin::elementwise::binary(&x, &y, |a, b| a * b));
    }
    // A row broadcast over rows (a bias), cols off every vector width.
    for (rows, cols) in [(1, 1), (3, 5), (1000, 37), (7, 4096)] {
        let (a, b) = (r.vec(rows * cols), r.vec(cols));
        close("add row", &cpu::elementwise::add(&a, &b), &twin::elementwise::binary(&a, &b, |a, b| a + b));
        close("mul row", &cpu::elementwise::mul(&a, &b), &twin::elementwise::binary(&a, &b, |a, b| a * b));
    }
}

#[test]
fn gelu_tails_are_relatively_accurate() {
    // Far into the negative tail each value is tiny; compare each relative to itself.
    let x: Vec<f32> = (0..2000).map(|i| -12.0 + 24.0 * i as f32 / 2000.0).collect();
    for (name, got, want) in [
        ("gelu", cpu::elementwise::gelu(&x), twin::elementwise::gelu(&x)),
        ("gelu_tanh", cpu::elementwise::gelu_tanh(&x), twin::elementwise::gelu_tanh(&x)),
        ("silu", cpu::elementwise::silu_mul(&x, &vec![1.0; x.len()]), twin::elementwise::silu_mul(&x, &vec![1.0; x.len()])),
    ] {
        for i in 0..x.len() {
            let err = ((got[i] - want[i]) / want[i].abs().max(1e-37)).abs();
            // Subnormal results (below f32::MIN_POSITIVE) only need to be tiny.
            let tiny = want[i].abs() < f32::MIN_POSITIVE && got[i].abs() < f32::MIN_POSITIVE;
            assert!(err < 2e-5 || tiny, "{name}({}) = {} want {}", x[i], got[i], want[i]);
        }
    }
}

// ---- embedding, norms, pool, rope, softmax -----------------------------------------------------

#[test]
fn embedding_dense_and_quantized() {
    let mut r = Rng(15);
    for &(vocab, dim) in &[(1, 1), (10, 33), (50, 64), (7, 100)] {
        let table = r.vec(vocab * dim);
        let ids: Vec<u32> = (0..23).map(|i| if i % 5 == 4 { 1000 + i } else { r.below(vocab) as u32 }).collect();
        assert_eq!(cpu::embedding::embedding(&table, vocab, dim, &ids), twin::embedding::embedding(&table, vocab, dim, &ids));
        for dtype in [DType::Q8, DType::Q4] {
            let words = quantize(dtype, vocab, dim, &table);
            assert_eq!(
                cpu::embedding::embedding_quantized(&words, dtype, vocab, dim, &ids),
                twin::embedding::embedding_quantized(&words, dtype, vocab, dim, &ids),
                "{dtype:?} {vocab}x{dim}"
            );
        }
    }
    assert_eq!(BLOCK, 32);
}

#[test]
fn norms_with_large_means() {
    let mut r = Rng(16);
    for &(rows, cols, mean) in &[(1, 1, 0.0), (3, 7, 1.0), (40, 768, 1000.0), (5, 1025, -300.0), (2000, 33, 0.0)] {
        let x: Vec<f32> = r.vec(rows * cols).iter().map(|v| mean + v).collect();
        let (g, b) = (r.vec(cols), r.vec(cols));
        close(&format!("layernorm {rows}x{cols}"), &cpu::norm::layernorm(&x, rows, cols, &g, &b, 1e-5), &twin::norm::layernorm(&x, rows, cols, &g, &b, 1e-5));
        close(&format!("rmsnorm {rows}x{cols}"), &cpu::norm::rmsnorm(&x, rows, cols, &g, 1e-6), &twin::norm::rmsnorm(&x, rows, cols, &g, 1e-6));
    }
}

#[test]
fn mean_pool_matches() {
    let mut r = Rng(17);
    for &(rows, cols) in &[(1, 1), (5, 3), (577, 768), (9000, 17)] {
        let x: Vec<f32> = r.vec(rows * cols).iter().map(|v| v + 0.5).collect();
        close(&format!("mean_pool {rows}x{cols}"), &cpu::pool::mean_pool(&x, rows, cols), &twin::pool::mean_pool(&x, rows, cols));
    }
}

#[test]
fn rope_rotates_whole_heads() {
    let mut r = Rng(18);
    for &(rows, heads, extra, hd, rot_heads) in &[(1, 1, 0, 2, 1), (5, 3, 4, 8, 2), (17, 4, 64, 64, 4), (3, 2, 0, 6, 0)] {
        let width = heads * hd + extra;
        let x = r.vec(rows * width);
        let (cos, sin) = (r.vec(rows * hd), r.vec(rows * hd));
        let rotated = rot_heads * hd;
        close(&format!("rope {rows} {width} {hd}"), &cpu::rope::rope(&x, rows, width, &cos, &sin, hd, rotated), &twin::rope::rope(&x, rows, width, &cos, &sin, hd, rotated));
    }
}

#[test]
fn softmax_with_scales() {
    let mut r = Rng(19);
    for &(rows, cols, scale) in &[(1, 1, 1.0), (3, 17, 0.125), (100, 64, 1.0), (4, 5000, -2.0), (2000, 49, 8.0)] {
        let x = r.vec(rows * cols);
        close(&format!("softmax {rows}x{cols}"), &cpu::softmax::softmax(&x, rows, cols, scale), &twin::softmax::softmax(&x, rows, cols, scale));
    }
}

// ---- topk, logprobs --------------------------------------------------------------------------

/// Rows of distinct values (a shuffled ladder), so the order is unambiguous.
fn ladder(r: &mut Rng, rows: usize, cols: usize) -> Vec<f32> {
    let mut x = Vec::with_capacity(rows * cols);
    for _ in 0..rows {
        let mut row: Vec<f32> = (0..cols).map(|i| i as f32 * 0.01 - 3.0).collect();
        for i in (1..cols).rev() {
            row.swap(i, r.below(i + 1));
        }
        x.extend(row);
    }
    x
}

#[test]
fn topk_and_argmax_exact() {
    let mut r = Rng(20);
    for &(rows, cols, k) in &[(1, 1, 1), (3, 10, 10), (4, 1000, 16), (2, 50_265, 5), (5, 300, 100), (1, 17, 3)] {
        let x = ladder(&mut r, rows, cols);
        let (gv, gi) = cpu::topk::topk(&x, rows, cols, k);
        let (wv, wi) = twin::topk::topk(&x, rows, cols, k);
        assert_eq!((gv, gi), (wv, wi), "topk {rows}x{cols} k {k}");
        assert_eq!(cpu::topk::argmax(&x, rows, cols), twin::topk::argmax(&x, rows, cols));
    }
    // Exact ties go to the lower index.
    let x = [1.0, 3.0, 2.0, 3.0, 3.0, -1.0, 2.0, 0.0];
    assert_eq!(cpu::topk::topk(&x, 1, 8, 5), twin::topk::topk(&x, 1, 8, 5));
    assert_eq!(cpu::topk::topk(&x, 2, 4, 3), twin::topk::topk(&x, 2, 4, 3));
    assert_eq!(cpu::topk::argmax(&x, 2, 4), vec![1, 0]);
}

#[test]
fn search_log_probs_matches() {
    let mut r = Rng(21);
    for &(rows, cols) in &[(1, 1), (4, 33), (3, 50_265)] {
        let x: Vec<f32> = r.vec(rows * cols).iter().map(|v| v * 10.0).collect();
        let bias = r.vec(rows);
        let banned = [(0u32, 0u32), (rows as u32 - 1, cols as u32 - 1), (rows as u32, 0), (0, cols as u32)];
        for forced in [None, Some(0), Some(cols as u32 - 1), Some(cols as u32 + 5)] {
            for bans in [&banned[..0], &banned[..]] {
                let got = cpu::logprobs::search_log_probs(&x, rows, cols, &bias, forced, bans);
                let want = twin::logprobs::search_log_probs(&x, rows, cols, &bias, forced, bans);
                // -inf (-f32::MAX) exactly where the twin has it; the rest within tolerance.
                let neg = |v: &[f32]| v.iter().map(|&x| x == twin::logprobs::NEG_INF).collect::<Vec<_>>();
                assert_eq!(neg(&got), neg(&want), "logprobs {rows}x{cols} {forced:?}: masked positions");
                let keep = |v: &[f32]| v.iter().copied().filter(|&x| x != twin::logprobs::NEG_INF).collect::<Vec<_>>();
                close(&format!("logprobs {rows}x{cols} {forced:?}"), &keep(&got), &keep(&want));
            }
        }
    }
}
