#!/usr/bin/env bash
# The Ray recipe end to end on a local Ray instance (not in CI: Ray and its dependencies are a
# large install; CI runs the same shard/merge path without Ray in crates/cli/tests/label_cli.rs).
# 16 generated scenes labelled by examples/ray/label_dataset.py in 4 shards (Ray Data tasks) and
# by one `visionllm label` process: the merged COCO file must equal the single run's byte for
# byte, and the shards' lines (timings aside) the single run's lines.
#   bash tests/ray/ray_check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
python3 -c 'import ray.data' 2>/dev/null || python3 -m pip install --quiet 'ray[data]==2.60.0'
cargo build --release --locked -p visionllm-cli
BIN=$PWD/target/release/visionllm
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/images"
for seed in $(seq 1000000200 1000000215); do "$BIN" scene --seed "$seed" --out "$WORK/images" >/dev/null; done
rm -f "$WORK"/images/*.json
ARGS=(--model public/models/demo --instruction "find all objects")
"$BIN" label "${ARGS[@]}" --input "$WORK/images" --out "$WORK/single.jsonl" --coco "$WORK/single.json"
python3 examples/ray/label_dataset.py --visionllm "$BIN" "${ARGS[@]}" --input "$WORK/images" --out "$WORK/ray" --shards 4
python3 - "$WORK" <<'PY'
import glob, json, sys
work = sys.argv[1]
def lines(paths):
    out = []
    for p in paths:
        for line in open(p):
            d = json.loads(line)
            d.pop("ms", None)
            out.append(d)
    return sorted(out, key=lambda d: d["image"])
single, sharded = lines([f"{work}/single.jsonl"]), lines(sorted(glob.glob(f"{work}/ray/shard-*.jsonl")))
assert len(single) == 16, len(single)
assert sum(len(d['instances']) for d in single) > 0, 'nothing found: the comparison would be empty'
assert sharded == single, "the shards' lines differ from the single run's"
assert open(f"{work}/ray/coco.json", "rb").read() == open(f"{work}/single.json", "rb").read(), "merged COCO differs"
coco = json.load(open(f"{work}/single.json"))
print(f"ray: 4 shards on a local Ray instance = one process: {len(coco['images'])} images, {len(coco['annotations'])} annotations")
PY
