#!/usr/bin/env bash
# Run one page-level benchmark against the built site: `bash tests/e2e/bench.sh NAME` builds and
# serves dist/ as the e2e tests do (serve.sh; SKIP_BUILD=1 reuses dist/) and runs
# tests/e2e/NAME.mjs. Benchmarks print figures; they are not part of CI.
#   demo_speed   the demo model with each kernel set
#   bench        ours against transformers.js (tests/e2e/peer/, its own npm install) on the same
#                model: PEER_MODEL=DIR (crates/bench/export_onnx.py output; default
#                target/bench-peer/demo, exported from public/models/demo when missing: needs torch,
#                transformers, onnx, onnxruntime)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export TRUNK_SKIP_VERSION_CHECK=true
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"
NAME=${1:?usage: bench.sh demo_speed|bench}
[ -f "tests/e2e/$NAME.mjs" ] || { echo "no benchmark tests/e2e/$NAME.mjs" >&2; exit 2; }
if [ "$NAME" = bench ]; then
  export PEER_MODEL=${PEER_MODEL:-$ROOT/target/bench-peer/demo}
  if [ ! -f "$PEER_MODEL/inputs.json" ]; then
    python3 crates/bench/export_onnx.py --model public/models/demo "$PEER_MODEL"
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
