#!/usr/bin/env bash
# Issue 17's training round, prepared for a lent GPU (the `device` tool's machine: torch and
# transformers preinstalled, no network). Continues from the shipped demo model with the round-2 mix
# (batches.MIXES["round2"]: words and OCR, many instances of one class, polygons, captions up) for
# BUDGET seconds. Everything it writes is under OUT/round2 (checkpoint parts under 16 MiB, so they
# come back through the device tool; the exported model, 23 MB, would not, so it is exported back
# here); run again with the same OUT to continue from the last checkpoint (the schedule restarts
# over the new budget). It ends with the in-training check on 200 fresh scenes (record.json).
#
#   bash training/demo/round2.sh "$OUT" 420          # on the GPU machine, OUT=$OUT of the device tool
#
# Back here (CPU): export, convert, score with our engine, and compare with the shipped model:
#   python3 training/demo/export.py OUT/round2 /tmp/demo-r2-src
#   visionllm convert --from /tmp/demo-r2-src --to /tmp/demo-r2 --quant q8
#   visionllm eval --model /tmp/demo-r2 --synthetic 100 --words 0..2
set -euo pipefail
OUT=${1:?usage: round2.sh OUT_DIR [BUDGET_SECONDS] [WORKERS]}
BUDGET=${2:-420}
WORKERS=${3:-12}
cd "$(dirname "$0")/../.."
RUN="$OUT/round2"
mkdir -p "$RUN"
if [ -f "$RUN/ckpt.json" ]; then
  START=(--resume "$RUN")
else
  START=(--init-weights public/models/demo)
fi
python3 training/demo/train.py --out "$RUN" --mix round2 --time-budget "$BUDGET" --batch 384 --lr 2e-4 \
  --workers "$WORKERS" --save-every 60 "${START[@]}" 2>&1 | tee -a "$RUN/console.log"
ls -la "$RUN"
