#!/usr/bin/env bash
# Set up (idempotently: the same steps as .ci/run) and serve the app on http://127.0.0.1:PORT/.
#   bash web/serve.sh            build with `trunk build --release`, serve dist/ (PORT=8080)
#   NO_BUILD=1 bash web/serve.sh serve the existing dist/
# The site is static: dist/ can be copied to any host or sub-path (GitHub Pages) as is.
# WebGPU needs a secure context: localhost/127.0.0.1 or https.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export TRUNK_SKIP_VERSION_CHECK=true
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"
PORT=${PORT:-8080}

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
wasm-bindgen --version 2>/dev/null | grep -q '0.2.130' || cargo install wasm-bindgen-cli --version 0.2.130
trunk --version 2>/dev/null | grep -q '0.21.14' || cargo install trunk --version 0.21.14 --locked
# wasm-opt (binaryen 132) comes from the pinned npm tools.
if [ ! -d node_modules ] || ! cmp -s package-lock.json node_modules/.package-lock.json; then
  npm ci --no-audit --no-fund
fi

if [ -z "${NO_BUILD:-}" ]; then
  trunk build --release
fi
echo "serving dist/ on http://127.0.0.1:$PORT/ (Ctrl+C to stop)"
exec python3 -m http.server --bind 127.0.0.1 --directory dist "$PORT"
