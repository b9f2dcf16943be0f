#!/usr/bin/env bash
# Remakes docs/dashboard.png and docs/gallery.png: a redis-server and galleryd on free
# loopback ports, jobs (some failing) run by two workers, a gallery from `get`, the
# dashboard, and headless Chromium's screenshots. Usage: scripts/dashboard-shots.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
T=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$T"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

RPORT=$(port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
pids+=($!)
export IMGPIPE_REDIS_URL="redis://127.0.0.1:$RPORT"
"$B/tools/galleryd/galleryd" --port 0 --port-file "$T/gport" --count 10 --latency-ms 400 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$T/gport" ] && redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
[ -s "$T/gport" ] || { echo "galleryd or redis-server did not start" >&2; exit 1; }
BASE="http://127.0.0.1:$(cat "$T/gport")"
export IMGUR_API_URL=$BASE IMGUR_CLIENT_ID=shots

"$B/imgpipe" get -q -o "$T/gallery" --thumb 128x128 imgur:random >/dev/null
{
  for i in $(seq 1 400); do echo "$BASE/x/photo$i.png"; done
  for i in 1 2 3; do echo "$BASE/i/removed$i.jpg"; done
  echo "http://127.0.0.1:1/unreachable.png"
} >"$T/jobs.txt"
"$B/imgpipe" enqueue -o "$T/out" "$T/jobs.txt" >/dev/null
"$B/imgpipe" enqueue -Q thumbs-hd -o "$T/hd" --thumb 512x512 "$T/jobs.txt" >/dev/null
for w in a b; do
  "$B/imgpipe" worker -j 6 --retries 0 --name "worker-$w" default thumbs-hd 2>/dev/null &
  pids+=($!)
done
"$B/imgpipe" dashboard --listen 127.0.0.1:0 --dir "$T/gallery" >"$T/dash" &
pids+=($!)
until grep -q http "$T/dash" 2>/dev/null; do sleep 0.1; done
URL=$(sed -n 's/^imgpipe dashboard on //p' "$T/dash")
sleep 6
shot() {
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$T/chr" \
    --window-size="$2" --virtual-time-budget=9000 --screenshot="$T/shot.png" "$URL$1" 2>/dev/null
  cp "$T/shot.png" "$3"
}
shot "" 1000,800 docs/dashboard.png
shot gallery 900,470 docs/gallery.png
ls -l docs/dashboard.png docs/gallery.png
