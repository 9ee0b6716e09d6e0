#!/usr/bin/env bash
# Makes tests/e2e/fixtures/scenes.webm, the short video the batch e2e test samples: three generated
# scenes (`visionllm scene`; their ground truth is written beside it), one second each, VP8 in
# WebM (Chromium plays it everywhere), quantizer 0 so the frames are the scenes up to 4:2:0 colour.
# The scenes are ones the demo model answers right after that colour loss: one red circle, none,
# one elsewhere (it misses circles in some scenes; issue #17). Needs ffmpeg and cargo; CI never
# runs this (the small outputs are committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d)
i=1
for s in 1000006005 1000006100 1000006105; do
  cargo run -q -p visionllm-cli -- scene --seed "$s" --out "$TMP" >/dev/null
  [ -e "public/examples/scene-$s.json" ] || cp "$TMP/scene-$s.json" tests/e2e/fixtures/
  mv "$TMP/scene-$s.png" "$TMP/s$i.png"; i=$((i + 1))
done
# The last scene once more, so the third second is filled before the cut.
cp "$TMP/s3.png" "$TMP/s4.png"
# One scene per second (-framerate 1), resampled to 10 frames/s and cut at 3 s: 3.0 s long.
ffmpeg -loglevel error -y -framerate 1 -i "$TMP/s%d.png" -vf fps=10 -c:v libvpx -b:v 20M -crf 0 -qmin 0 -qmax 0 -pix_fmt yuv420p -auto-alt-ref 0 -t 3 tests/e2e/fixtures/scenes.webm
rm -rf "$TMP"
ls -l tests/e2e/fixtures/scenes.webm
