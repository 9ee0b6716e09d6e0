#!/usr/bin/env bash
# Build the site as CI ships it (`trunk build --release`), serve dist/ from a plain static server
# under a sub-path (proving relative URLs), run the e2e script, and clean up.
# Needs: trunk 0.21.14, wasm-bindgen-cli 0.2.130, the wasm32 target, node_modules (npm ci),
# /usr/bin/chromium. `SKIP_BUILD=1` reuses an existing dist/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export TRUNK_SKIP_VERSION_CHECK=true
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

if [ -z "${SKIP_BUILD:-}" ]; then
  nice trunk build --release
fi

SERVE_ROOT=$(mktemp -d)
ln -s "$ROOT/dist" "$SERVE_ROOT/visionllm"
PORT=${E2E_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
python3 -m http.server --bind 127.0.0.1 --directory "$SERVE_ROOT" "$PORT" >/dev/null 2>&1 &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; rm -rf "$SERVE_ROOT"; }
trap cleanup EXIT
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$PORT/visionllm/" >/dev/null && break
  sleep 0.1
done
APP_URL="http://127.0.0.1:$PORT/visionllm/" node tests/e2e/app.e2e.mjs
# Faults: non-ASCII and too-long instructions, a worker panic, a lost GPU device, an image
# whose header declares 60000x60000 (the page must survive each without a reload).
APP_URL="http://127.0.0.1:$PORT/visionllm/" node tests/e2e/faults.e2e.mjs
# The weights path (OPFS cache, resume, faults, repositories, Cache API), with its own
# fault-injecting server; it compares the browser's conversion with the CLI's.
cargo build -q --locked -p visionllm-cli
VISIONLLM_BIN="$ROOT/target/debug/visionllm" node tests/e2e/weights.e2e.mjs
