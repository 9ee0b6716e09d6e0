#!/usr/bin/env bash
# Build the site as CI ships it and serve it (serve.sh), run the e2e scripts, and clean up.
# Needs: trunk 0.21.14, wasm-bindgen-cli 0.2.130, the wasm32 target, node_modules (npm ci),
# /usr/bin/chromium. `SKIP_BUILD=1` reuses an existing dist/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export TRUNK_SKIP_VERSION_CHECK=true
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

source tests/e2e/serve.sh
APP_URL="$APP_URL" node tests/e2e/app.e2e.mjs
# Offline after one visit (service worker), and a new build offered for reload; own server.
node tests/e2e/offline.e2e.mjs
# Faults: non-ASCII and too-long instructions, a worker panic, a lost GPU device, an image
# whose header declares 60000x60000 (the page must survive each without a reload).
APP_URL="$APP_URL" node tests/e2e/faults.e2e.mjs
# Model family #2: a tiny random Qwen3-VL quantized in the page, streaming, an injected JSON
# grounding answer parsed and drawn (box and point), masks for its boxes from a stored tiny
# Florence-2 (region-to-segmentation); its own server.
node tests/e2e/qwen.e2e.mjs
# The CLI: the batch test merges the page's JSON Lines with it, the weights test converts with it.
cargo build -q --locked -p visionllm-cli
# Without WebGPU (and on SwiftShader, where Automatic picks it): the CPU backend in the worker
# draws what the native CPU backend draws; batch, backend switch, offline.
APP_URL="$APP_URL" VISIONLLM_BIN="$ROOT/target/debug/visionllm" node tests/e2e/cpu.e2e.mjs
# Many images (a folder, a reload mid-batch, resume, exports), a video, the fake camera.
APP_URL="$APP_URL" VISIONLLM_BIN="$ROOT/target/debug/visionllm" node tests/e2e/batch.e2e.mjs
# The weights path (OPFS cache, resume, faults, repositories, Cache API), with its own
# fault-injecting server; it compares the browser's conversion with the CLI's.
VISIONLLM_BIN="$ROOT/target/debug/visionllm" node tests/e2e/weights.e2e.mjs
