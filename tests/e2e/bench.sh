#!/usr/bin/env bash
# Run one page-level benchmark against the built site: `bash tests/e2e/bench.sh demo_speed` builds
# and serves dist/ as the e2e tests do (serve.sh; SKIP_BUILD=1 reuses dist/) and runs
# tests/e2e/demo_speed.mjs. Benchmarks print figures; they are not part of CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export TRUNK_SKIP_VERSION_CHECK=true
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"
NAME=${1:?usage: bench.sh demo_speed}
[ -f "tests/e2e/$NAME.mjs" ] || { echo "no benchmark tests/e2e/$NAME.mjs" >&2; exit 2; }
source tests/e2e/serve.sh
APP_URL="$APP_URL" node "tests/e2e/$NAME.mjs"
