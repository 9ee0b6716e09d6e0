#!/usr/bin/env bash
# Run one page-level benchmark against the built site: `bash tests/e2e/bench.sh NAME` builds and
# serves dist/ as the e2e tests do (serve.sh; SKIP_BUILD=1 reuses dist/) and runs
# tests/e2e/NAME.mjs. Benchmarks print figures; they are not part of CI.
#   demo_speed   the demo model with each kernel set
#   bench        ours against transformers.js (tests/e2e/peer/, its own npm install) on the same
#                model: PEER_MODEL=DIR (crates/bench/export_onnx.py output; default
#                target/bench-peer/$BENCH_SIZE, made when missing: needs torch, transformers, onnx,
#                onnxruntime). BENCH_SIZE=demo (default): the embedded demo model, 224;
#                BENCH_SIZE=base: a random full-size Florence-2-base (make_random_checkpoint.py),
#                converted to Q8 by `visionllm convert`, 20 new tokens, input side BENCH_IMAGE
#                (default 768: over 10 minutes per instruction for each engine on SwiftShader;
#                384 takes about a quarter of that)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export TRUNK_SKIP_VERSION_CHECK=true
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"
NAME=${1:?usage: bench.sh demo_speed|bench}
[ -f "tests/e2e/$NAME.mjs" ] || { echo "no benchmark tests/e2e/$NAME.mjs" >&2; exit 2; }
if [ "$NAME" = bench ]; then
  SIZE=${BENCH_SIZE:-demo}
  SIDE=${BENCH_IMAGE:-768}
  NAME_AT=$SIZE; [ "$SIZE" = demo ] || NAME_AT=$SIZE-$SIDE
  export PEER_MODEL=${PEER_MODEL:-$ROOT/target/bench-peer/$NAME_AT}
  if [ ! -f "$PEER_MODEL/inputs.json" ]; then
    case "$SIZE" in
      demo) python3 crates/bench/export_onnx.py --model public/models/demo "$PEER_MODEL" ;;
      base)
        SRC=$ROOT/target/bench-peer/base-src Q8=$ROOT/target/bench-peer/base-q8
        [ -f "$SRC/model.safetensors" ] || python3 tests/e2e/make_random_checkpoint.py base "$SRC"
        if [ ! -f "$Q8/manifest.json" ]; then
          cargo build --release --locked -p visionllm-cli
          target/release/visionllm convert --from "$SRC" --to "$Q8" --quant q8
        fi
        # The same shards, with the processor's input side set to $SIDE.
        AT=$Q8-$SIDE
        mkdir -p "$AT"
        for f in "$Q8"/*; do ln -sfn "$f" "$AT/$(basename "$f")"; done
        rm "$AT/preprocessor_config.json"
        python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); s = int(sys.argv[2]); c["size"] = c["crop_size"] = {"height": s, "width": s}; c["image_seq_length"] = (s // 32) ** 2 + 1; json.dump(c, open(sys.argv[3], "w"), indent=1)' \
          "$Q8/preprocessor_config.json" "$SIDE" "$AT/preprocessor_config.json"
        python3 crates/bench/export_onnx.py --model "$AT" --tokens 20 "$PEER_MODEL" ;;
      *) echo "BENCH_SIZE: demo or base" >&2; exit 2 ;;
    esac
  fi
  if [ ! -d tests/e2e/peer/node_modules ] || ! cmp -s tests/e2e/peer/package-lock.json tests/e2e/peer/node_modules/.package-lock.json; then
    (cd tests/e2e/peer && npm ci --no-audit --no-fund --ignore-scripts)
  fi
fi
source tests/e2e/serve.sh
if [ "$NAME" = bench ]; then
  ln -s "$ROOT/tests/e2e/peer" "$SERVE_ROOT/peer"
  ln -s "$(cd "$PEER_MODEL" && pwd)" "$SERVE_ROOT/peer-model"
fi
APP_URL="$APP_URL" node "tests/e2e/$NAME.mjs"
