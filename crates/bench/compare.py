"""Run `visionllm-bench model` and `pytorch_peer.py` on the same settings and print, per decoding,
each stage's time on both sides and the ratio ours/PyTorch (below 1: we are faster).

    python3 crates/bench/compare.py [--size base] [--image-size 768] [--tokens 20] [--threads 2]
                                    [--backend gpu|cpu] [--weights f32|q8|q4] [--ours FILE]
                                    [--peer FILE] [--json]

--backend cpu runs our CPU backend on --threads threads (PyTorch gets the same count); --weights
is ours only (PyTorch runs f32 weights, the reference's own precision).

--size qwen3vl-2b --source DIR: `visionllm-bench qwen` (DIR converted to --weights, default q4, or
already converted) against `pytorch_peer.py --size qwen3vl-2b` (f32, the bf16 source --peer-source,
default DIR) on our prompt ids and grid: vision, prefill, time to the first token, decode per token.

--ours / --peer read saved JSON lines instead of running that side (each run takes minutes).
Run from anywhere; the engine side is `cargo run --release -p visionllm-bench` at the repository root.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
STAGES = ("vision_ms", "encoder_ms", "decode_ms_per_token", "first_step_ms")
QWEN_STAGES = ("vision_ms", "prefill_ms", "first_token_ms", "decode_ms_per_token")


def lines(text):
    return [json.loads(l) for l in text.splitlines() if l.strip().startswith("{")]


def run(cmd, env=None):
    print("$ " + " ".join(cmd), file=sys.stderr)
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({done.returncode})")
    return lines(done.stdout)


def total_ms(r):
    """End to end: vision, encoder, every generated token."""
    return r["vision_ms"] + r["encoder_ms"] + r["decode_ms_per_token"] * r["tokens"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="base")
    ap.add_argument("--image-size", default="768")
    ap.add_argument("--tokens", default="20")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--backend", default="gpu", choices=["gpu", "cpu"])
    ap.add_argument("--weights", default=None)
    ap.add_argument("--ours")
    ap.add_argument("--peer")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--source", help="qwen3vl-2b: the checkpoint directory ours reads")
    ap.add_argument("--peer-source", help="qwen3vl-2b: the bf16 checkpoint PyTorch reads (default --source)")
    a = ap.parse_args()
    if a.size == "qwen3vl-2b":
        return qwen(a)
    common = ["--size", a.size, "--image-size", a.image_size, "--tokens", a.tokens, "--json"]
    if a.ours:
        ours = lines(open(a.ours).read())
    else:
        # lavapipe's worker threads: the same core count PyTorch gets.
        env = dict(os.environ, LP_NUM_THREADS=a.threads, XDG_RUNTIME_DIR=os.environ.get("XDG_RUNTIME_DIR", "/tmp"))
        mine = common + ["--backend", a.backend]
        if a.backend == "cpu":
            mine += ["--threads", a.threads]
        if a.weights:
            mine += ["--weights", a.weights]
        ours = run(["cargo", "run", "--release", "-q", "-p", "visionllm-bench", "--", "model"] + mine, env)
    peer = lines(open(a.peer).read()) if a.peer else run([sys.executable, "crates/bench/pytorch_peer.py", "--threads", a.threads] + common)
    peer_by = {r["decoding"]: r for r in peer}
    report = []
    for o in ours:
        p = peer_by.get(o["decoding"])
        if p is None:
            continue
        row = {"decoding": o["decoding"], "image": o["image"], "tokens": [o["tokens"], p["tokens"]], "ours": o["adapter"], "peer": p["adapter"]}
        for k in STAGES:
            if o.get(k) is not None and p.get(k):
                row[k] = {"ours": o[k], "pytorch": p[k], "ratio": round(o[k] / p[k], 3)}
        row["total_ms"] = {"ours": round(total_ms(o), 1), "pytorch": round(total_ms(p), 1), "ratio": round(total_ms(o) / total_ms(p), 3)}
        report.append(row)
    if a.json:
        for r in report:
            print(json.dumps(r))
        return
    for r in report:
        print(f"{r['decoding']} at {r['image']}, tokens ours/pytorch {r['tokens'][0]}/{r['tokens'][1]}")
        print(f"  ours: {r['ours']}\n  peer: {r['peer']}")
        print(f"  {'stage':<22} {'ours ms':>12} {'pytorch ms':>12} {'ours/pytorch':>13}")
        for k in STAGES + ("total_ms",):
            if k in r:
                v = r[k]
                print(f"  {k:<22} {v['ours']:>12.1f} {v['pytorch']:>12.1f} {v['ratio']:>12.2f}x")


def qwen(a):
    """Qwen3-VL-2B: ours first (its prompt ids and grid go to the peer), then PyTorch."""
    import tempfile
    if not a.source and not a.ours:
        sys.exit("--size qwen3vl-2b needs --source DIR (or --ours FILE and --peer FILE)")
    if a.ours:
        ours_text = open(a.ours).read()
    else:
        env = dict(os.environ, XDG_RUNTIME_DIR=os.environ.get("XDG_RUNTIME_DIR", "/tmp"))
        mine = ["--source", a.source, "--image-size", a.image_size, "--tokens", a.tokens, "--backend", a.backend, "--json"]
        if a.backend == "cpu":
            mine += ["--threads", a.threads]
        if a.weights:
            mine += ["--weights", a.weights]
        ours_text = "\n".join(json.dumps(r) for r in run(["cargo", "run", "--release", "-q", "-p", "visionllm-bench", "--", "qwen"] + mine, env))
    o = lines(ours_text)[-1]
    if a.peer:
        p = lines(open(a.peer).read())[-1]
    else:
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write(ours_text)
        p = run([sys.executable, "crates/bench/pytorch_peer.py", "--size", "qwen3vl-2b", "--source", a.peer_source or a.source,
                 "--ours", f.name, "--tokens", a.tokens, "--threads", a.threads, "--json"])[-1]
        os.unlink(f.name)
    row = {"model": "qwen3vl-2b", "image": o["image"], "grid": o["grid"], "prompt_tokens": [o["prompt_tokens"], p["prompt_tokens"]],
           "tokens": [o["tokens"], p["tokens"]], "ours": f"{o['adapter']}, {o['precision']}", "peer": f"{p['adapter']}, {p['precision']}",
           "peak_rss_bytes": {"ours": o["peak_rss_bytes"], "pytorch": p["peak_rss_bytes"]}}
    for k in QWEN_STAGES:
        row[k] = {"ours": o[k], "pytorch": p[k], "ratio": round(o[k] / p[k], 3)}
    if a.json:
        print(json.dumps(row))
        return
    print(f"qwen3vl-2b at {row['image']} (grid {row['grid']}), prompt {row['prompt_tokens']} tokens, tokens ours/pytorch {row['tokens'][0]}/{row['tokens'][1]}")
    print(f"  ours: {row['ours']}\n  peer: {row['peer']}")
    print(f"  {'stage':<22} {'ours ms':>12} {'pytorch ms':>12} {'ours/pytorch':>13}")
    for k in QWEN_STAGES:
        v = row[k]
        print(f"  {k:<22} {v['ours']:>12.1f} {v['pytorch']:>12.1f} {v['ratio']:>12.2f}x")
    print(f"  {'peak RSS (GB)':<22} {o['peak_rss_bytes'] / 1e9:>12.2f} {p['peak_rss_bytes'] / 1e9:>12.2f}")


if __name__ == "__main__":
    main()
