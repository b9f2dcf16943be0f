#!/usr/bin/env bash
# The main job: download a gallery with thumbnails. Against Imgur when IMGUR_CLIENT_ID is
# set; otherwise against the bundled local gallery (galleryd), and it says so.
set -euo pipefail
build=${BUILD_DIR:-build}
out=${OUT_DIR:-images}
imgpipe="$build/imgpipe"
if [ -n "${IMGUR_CLIENT_ID:-}" ]; then
  echo "demo: downloading imgur:random from the Imgur API into $out/" >&2
  exec "$imgpipe" get -o "$out" --thumb 128x128 imgur:random
fi
tmp=$(mktemp -d)
"$build/tools/galleryd/galleryd" --port 0 --port-file "$tmp/port" --latency-ms "${LATENCY_MS:-200}" 2>"$tmp/log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { cat "$tmp/log" >&2; echo "demo: galleryd did not start" >&2; exit 1; }
export IMGUR_API_URL="http://127.0.0.1:$(cat "$tmp/port")" IMGUR_CLIENT_ID=local-demo
echo "demo: IMGUR_CLIENT_ID is not set, so this runs against the bundled local gallery" \
  "(galleryd at $IMGUR_API_URL, ${LATENCY_MS:-200} ms per response) into $out/" >&2
"$imgpipe" get -o "$out" --thumb 128x128 imgur:random
