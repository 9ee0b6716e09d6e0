# Sourced by run.sh and bench.sh (from the repository root, with ROOT set): build the site as CI
# ships it (`trunk build --release`; `SKIP_BUILD=1` reuses dist/), serve dist/ from a plain static
# server under a sub-path (proving relative URLs) until the sourcing script exits, and set APP_URL.
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
APP_URL="http://127.0.0.1:$PORT/visionllm/"
