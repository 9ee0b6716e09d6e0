"""The CPU backend's linear kernels against PyTorch's matmul on the same shapes, in one script:
runs `gemm_speed` (crates/cpu/examples, JSON=1) on --threads threads, then `torch.nn.functional.linear`
(x [m, k] times w [n, k] transposed, plus a bias: the model's linear layer) on the same shapes and
threads, and prints GFLOP/s side by side with the ratio ours/PyTorch (above 1: we are faster).
Two peaks are printed first: the nominal one, threads x the clock /proc/cpuinfo reports x
--flops-per-cycle (32 for Zen 4 and for AVX2 cores with two 256-bit FMA pipes; 64 for two 512-bit
pipes), and the measured one, the best f32 GFLOP/s seen here (PyTorch's --peak-side square
matmul or any shape on either side): boost clocks put the measured one above the nominal.

    python3 crates/bench/gemm_compare.py [--threads 2] [--json] [M,K,N ...]

Needs torch (see README.md); CI never runs it.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))


def best_seconds(f, budget=0.4):
    f()
    t0 = time.perf_counter()
    f()
    once = max(time.perf_counter() - t0, 1e-6)
    reps = max(3, min(200, int(budget / once)))
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peak-side", type=int, default=2048)
    ap.add_argument("--flops-per-cycle", type=int, default=32)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("shapes", nargs="*", help="M,K,N (default: the example's model shapes)")
    a = ap.parse_args()
    env = dict(os.environ, JSON="1", THREADS=str(a.threads))
    cmd = ["cargo", "run", "--release", "-q", "-p", "visionllm-cpu", "--example", "gemm_speed", "--"] + a.shapes
    print("$ " + " ".join(cmd), file=sys.stderr)
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"gemm_speed failed ({done.returncode})")
    ours = [json.loads(l) for l in done.stdout.splitlines() if l.startswith("{")]

    import torch
    import torch.nn.functional as F
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(0)
    s = a.peak_side
    x, w = torch.rand(s, s, generator=gen), torch.rand(s, s, generator=gen)
    with torch.inference_mode():
        square = 2 * s ** 3 / best_seconds(lambda: torch.mm(x, w)) / 1e9
    mhz = [float(l.split(":")[1]) for l in open("/proc/cpuinfo") if l.startswith("cpu MHz")]
    nominal = a.threads * (max(mhz) if mhz else float("nan")) / 1000 * a.flops_per_cycle
    rows = []
    for o in ours:
        m, k, n = o["m"], o["k"], o["n"]
        x = torch.rand(m, k, generator=gen) - 0.5
        w = torch.rand(n, k, generator=gen) - 0.5
        b = torch.rand(n, generator=gen) - 0.5
        with torch.inference_mode():
            t = best_seconds(lambda: F.linear(x, w, b))
        torch_gflops = 2 * m * n * k / t / 1e9
        rows.append(dict(o, pytorch_f32_gflops=round(torch_gflops, 2), ratio_f32=round(o["f32_gflops"] / torch_gflops, 3)))
    peak = max([square] + [r["f32_gflops"] for r in rows] + [r["pytorch_f32_gflops"] for r in rows])
    for r in rows:
        r["peak_fraction_f32"] = round(r["f32_gflops"] / peak, 3)
    if a.json:
        print(json.dumps({"peak_f32_gflops": round(peak, 1), "nominal_f32_gflops": round(nominal, 1), "square_mm_gflops": round(square, 1),
                          "nominal_from": f"{a.threads} threads x {max(mhz) if mhz else '?'} MHz x {a.flops_per_cycle} flops/cycle",
                          "pytorch": torch.__version__, "threads": a.threads}))
        for r in rows:
            print(json.dumps(r))
        return
    print(f"threads {a.threads}; f32 peak: nominal {nominal:.1f} GFLOP/s ({a.flops_per_cycle} flops/cycle at the reported clock), "
          f"measured {peak:.1f} (PyTorch {torch.__version__} mm {s}^3: {square:.1f})")
    print(f"{'m':>5} {'k':>5} {'n':>6} | {'ours f32':>9} {'PyTorch':>9} {'ours/PT':>8} {'of peak':>8} | {'ours Q8':>8} {'ours Q4':>8}")
    for r in rows:
        print(f"{r['m']:>5} {r['k']:>5} {r['n']:>6} | {r['f32_gflops']:>9.1f} {r['pytorch_f32_gflops']:>9.1f} {r['ratio_f32']:>7.2f}x {r['peak_fraction_f32']:>7.0%} | {r['q8_gflops']:>8.1f} {r['q4_gflops']:>8.1f}")


if __name__ == "__main__":
    main()
