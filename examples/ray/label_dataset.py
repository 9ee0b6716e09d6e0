"""Label a dataset on a Ray cluster: `visionllm label --shard I/N` as Ray tasks, one per shard,
then `visionllm label merge` into one COCO file (the file a single `visionllm label --coco` run
over the same images writes).

    python3 examples/ray/label_dataset.py --visionllm target/release/visionllm \\
        --model public/models/demo --instruction "find the red circles" \\
        --input /data/images --out /data/labels --shards 16 [--address auto] [--gpus-per-shard 1]

Every node must see the binary, the model folder, the images and --out at the same paths (a
shared filesystem), and each node needs a GPU adapter wgpu can open (Vulkan, Metal or DX12; on a
CPU-only node Mesa's lavapipe). Shards are independent and resumable: a shard that failed or was
preempted is simply run again by Ray (`max_retries`) and continues from its own output file;
running the script again labels only what is missing. Output: OUT/shard-I-of-N.jsonl (one line per
image) and OUT/coco.json.

The shards are a Ray Dataset of shard numbers mapped by a labelling function, so Ray schedules
them over the cluster's resources (one CPU, or one GPU with --gpus-per-shard, per shard).
"""
import argparse
import os
import subprocess
import sys


def label_shard(row, args):
    """One shard: `visionllm label --shard I/N` (resumes from its own output)."""
    i, n = int(row["shard"]), args.shards
    out = os.path.join(args.out, f"shard-{i}-of-{n}.jsonl")
    cmd = [args.visionllm, "label", "--model", args.model, "--instruction", args.instruction, "--input", args.input,
           "--out", out, "--shard", f"{i}/{n}", "--backend", args.backend]
    if args.threads or not args.gpus_per_shard:
        cmd += ["--threads", str(max(1, args.threads))]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        # Raised, so Ray retries the task; the output so far is kept and the retry resumes it.
        raise RuntimeError(f"shard {i}/{n}: {done.stderr.strip()}")
    return {"shard": i, "output": out, "log": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--visionllm", required=True, help="the visionllm binary (same path on every node)")
    ap.add_argument("--model", required=True)
    ap.add_argument("--instruction", required=True)
    ap.add_argument("--input", required=True, help="a folder of images or a list file")
    ap.add_argument("--out", required=True, help="a folder for the shard outputs and coco.json")
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--address", default=None, help="a running cluster (e.g. auto); default: a local Ray instance")
    ap.add_argument("--gpus-per-shard", type=float, default=0)
    ap.add_argument("--backend", default="auto", choices=["auto", "cpu", "gpu"],
                    help="visionllm's --backend: auto takes the CPU backend on nodes whose only adapter is a software one")
    ap.add_argument("--threads", type=int, default=0, help="CPU backend threads per shard, reserved as num_cpus (default 1: one shard per core)")
    ap.add_argument("--categories", default=None, help="category ids to use first (a COCO file or its list)")
    args = ap.parse_args()
    if not 1 <= args.shards <= 65536:
        sys.exit("--shards: 1 to 65536")
    for path in (args.visionllm, args.model, args.input):
        if not os.path.exists(path):
            sys.exit(f"{path}: not found")
    args.visionllm, args.model, args.input = (os.path.abspath(p) for p in (args.visionllm, args.model, args.input))
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)

    import ray
    ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    shards = ray.data.from_items([{"shard": i} for i in range(args.shards)], override_num_blocks=args.shards)
    # A CPU-backend shard gets the cores its --threads asks for (1 when unset: Ray then packs
    # one shard per core and each labels on one thread).
    resources = {"num_gpus": args.gpus_per_shard} if args.gpus_per_shard else {"num_cpus": max(1, args.threads)}
    results = shards.map(label_shard, fn_kwargs={"args": args}, max_retries=3, **resources).take_all()
    for r in sorted(results, key=lambda r: r["shard"]):
        print(f"shard {r['shard']}: {r['log']}", file=sys.stderr)

    outputs = [os.path.join(args.out, f"shard-{i}-of-{args.shards}.jsonl") for i in range(args.shards)]
    coco = os.path.join(args.out, "coco.json")
    cmd = [args.visionllm, "label", "merge", *outputs, "--coco", coco]
    if args.categories:
        cmd += ["--categories", args.categories]
    subprocess.run(cmd, check=True)
    print(coco)


if __name__ == "__main__":
    main()
