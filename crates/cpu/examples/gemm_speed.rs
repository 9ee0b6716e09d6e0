//! GFLOP/s of the dense and quantized linear kernels at model shapes, on 2 threads:
//! `cargo run --release -p visionllm-cpu --example gemm_speed [M,K,N ...]` (THREADS=n to change;
//! JSON=1: one JSON object per shape, what `crates/bench/gemm_compare.py` reads to print PyTorch's
//! matmul on the same shapes beside it). (Speed is measured here, not in the tests.)

use std::time::Instant;

use visionllm_core::geometry::{AttentionSpec, MatmulGeometry, Rows};
use visionllm_core::quant::quantize;
use visionllm_core::DType;
use visionllm_cpu::{attention::attention_into, matmul::matmul_scaled_into, qmatmul::qlinear};

/// Median seconds per call of `f` over enough calls to fill ~0.4 s (at least 3).
fn time(mut f: impl FnMut()) -> f64 {
    f();
    let t0 = Instant::now();
    f();
    let once = t0.elapsed().as_secs_f64().max(1e-6);
    let reps = ((0.4 / once) as usize).clamp(3, 200);
    let mut ts: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    ts.sort_by(f64::total_cmp);
    ts[reps / 2]
}

fn main() {
    let threads = std::env::var("THREADS").ok().and_then(|t| t.parse().ok()).unwrap_or(2);
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().expect("thread pool");
    let json = std::env::var("JSON").is_ok_and(|v| v == "1");
    if !json {
        println!("threads: {}", visionllm_cpu::par::threads());
    }
    // Florence-2-base's encoder and lm_head, Qwen3-VL-2B's vision MLP (784 patches of a 448 image),
    // decoder MLP at prefill (210 prompt tokens) and decode, and 4 or 64 rows of it.
    let mut shapes = vec![(577, 768, 768), (577, 768, 3072), (577, 3072, 768), (1, 768, 50265), (784, 1024, 4096), (210, 2048, 6144), (1, 2048, 6144), (4, 2048, 6144), (64, 2048, 6144)];
    // Optional arguments M,K,N replace the list.
    let args: Vec<(usize, usize, usize)> = std::env::args()
        .skip(1)
        .filter_map(|a| {
            let v: Vec<usize> = a.split(',').filter_map(|x| x.parse().ok()).collect();
            (v.len() == 3).then(|| (v[0], v[1], v[2]))
        })
        .collect();
    if !args.is_empty() {
        shapes = args;
    }
    if !json {
        println!("{:>5} {:>5} {:>6} | {:>12} {:>12} {:>12}", "m", "k", "n", "f32 GFLOP/s", "Q8 GFLOP/s", "Q4 GFLOP/s");
    }
    for (m, k, n) in shapes {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let x: Vec<f32> = (0..m * k).map(|_| rnd()).collect();
        let w: Vec<f32> = (0..n * k).map(|_| rnd()).collect();
        let bias: Vec<f32> = (0..n).map(|_| rnd()).collect();
        let flops = 2.0 * (m * n * k) as f64;
        let mut c = vec![0f32; m * n];
        let g = MatmulGeometry::contiguous(1, m, n, k, true, true);
        let dense = time(|| matmul_scaled_into(&x, &w, &mut c, &g, Some(&bias), 1.0));
        let q8 = quantize(DType::Q8, n, k, &w);
        let q4 = quantize(DType::Q4, n, k, &w);
        let t8 = time(|| drop(std::hint::black_box(qlinear(&x, &q8, DType::Q8, Some(&bias), m, n, k))));
        let t4 = time(|| drop(std::hint::black_box(qlinear(&x, &q4, DType::Q4, Some(&bias), m, n, k))));
        let (f32_gflops, q8_gflops, q4_gflops) = (flops / dense / 1e9, flops / t8 / 1e9, flops / t4 / 1e9);
        if json {
            println!(r#"{{"m":{m},"k":{k},"n":{n},"threads":{threads},"f32_gflops":{f32_gflops:.2},"q8_gflops":{q8_gflops:.2},"q4_gflops":{q4_gflops:.2}}}"#);
        } else {
            println!("{m:>5} {k:>5} {n:>6} | {f32_gflops:>12.1} {q8_gflops:>12.1} {q4_gflops:>12.1}");
        }
    }
    if json || std::env::var("ATTENTION").is_ok_and(|v| v == "0") {
        return;
    }
    // Attention at model shapes (4 * nq * nk * head_dim flops per head and group).
    println!("attention {:>40} | {:>8} {:>10}", "shape", "ms", "GFLOP/s");
    let window = |hp: usize, c: usize, heads: usize, win: usize| AttentionSpec {
        nq: win * win, nk: win * win, head_dim: c / heads, heads, kv_group: 1,
        groups: (hp / win) * (hp / win), win, grid_w: hp, nwx: hp / win,
        q: Rows { off: 0, rs: 3 * c }, k: Rows { off: c, rs: 3 * c }, v: Rows { off: 2 * c, rs: 3 * c }, o: Rows { off: 0, rs: c },
        scale: ((c / heads) as f32).powf(-0.5), causal_offset: None,
    };
    let specs = [
        ("encoder 577 tokens, 12 heads of 64", AttentionSpec::plain(577, 577, 12, 64, None)),
        ("windows 12x12 on 192x192, C 128, 4 heads", window(192, 128, 4, 12)),
        ("decode 1 over 1024, 16/8 heads of 128", AttentionSpec::grouped(1, 1024, 16, 8, 128, Some(1023))),
        ("prefill 300 causal, 16/8 heads of 128", AttentionSpec::grouped(300, 300, 16, 8, 128, Some(0))),
    ];
    for (name, spec) in specs {
        let rows = |r: &Rows, n: usize| r.off + n * r.rs;
        let tokens = if spec.win > 0 { spec.grid_w * spec.grid_w } else { spec.nq.max(spec.nk) };
        let mut seed = 7u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let q: Vec<f32> = (0..rows(&spec.q, tokens)).map(|_| rnd()).collect();
        let k: Vec<f32> = (0..rows(&spec.k, tokens)).map(|_| rnd()).collect();
        let v: Vec<f32> = (0..rows(&spec.v, tokens)).map(|_| rnd()).collect();
        let mut o = vec![0f32; rows(&spec.o, tokens)];
        let t = time(|| attention_into(&q, &k, &v, &mut o, &spec));
        let flops = 4.0 * (spec.groups * spec.heads * spec.nq * spec.nk * spec.head_dim) as f64;
        println!("attention {name:>40} | {:>8.3} {:>10.1}", t * 1e3, flops / t / 1e9);
    }
}
