#!/usr/bin/env bash
# The dashboard with a big queue (issue #15's target: the page loads in under 200 ms with
# 100k jobs in the queue, with a bounded Redis load). Starts redis-server and galleryd on
# free loopback ports; enqueues N jobs (default 100000) and adds N failures; a worker holds
# 64 of the jobs (galleryd answers them slowly), so status lists the most held jobs it does.
# Then times, R times each (default 20), what a browser's first load fetches, and counts the
# Redis commands of one refresh (INFO commandstats). Prints a Markdown section for
# bench/RESULTS.md. Usage: [N=100000] [R=20] bench/dashboard.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
N=${N:-100000}
R=${R:-20}
T=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$T"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

RPORT=$(port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
pids+=($!)
"$B/tools/galleryd/galleryd" --port 0 --port-file "$T/gport" --count 4 --latency-ms 60000 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$T/gport" ] && redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
export IMGPIPE_REDIS_URL="redis://127.0.0.1:$RPORT"
BASE="http://127.0.0.1:$(cat "$T/gport")"

seq 1 "$N" | sed "s|.*|$BASE/x/job&.png|" >"$T/jobs.txt"
"$B/imgpipe" enqueue -o "$T/out" "$T/jobs.txt" >/dev/null
seq 1 "$N" | sed 's|.*|XADD imgpipe:q:default:failed * url http://example.invalid/&.png error "server answered HTTP 404" status "HTTP error status" worker w|' |
  redis-cli -p "$RPORT" >/dev/null
"$B/imgpipe" worker -j 64 --read-timeout 120 --name holder 2>/dev/null &
WPID=$!
pids+=($WPID)
for _ in $(seq 100); do
  [ "$("$B/imgpipe" status --json | jq '.queues[0].in_progress')" -ge 64 ] && break
  sleep 0.1
done
"$B/imgpipe" dashboard --listen 127.0.0.1:0 >"$T/dash" &
pids+=($!)
for _ in $(seq 100); do grep -q http "$T/dash" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^imgpipe dashboard on //p' "$T/dash")

# ms for one GET of each path, R times: median and max.
python3 - "$URL" "$R" >"$T/times.md" <<'PY'
import statistics, sys, time, urllib.request
url, r = sys.argv[1], int(sys.argv[2])
paths = ["", "app.js", "app.css", "api/state", "api/failures?queue=default&count=50"]
def get(p):
    t = time.perf_counter()
    with urllib.request.urlopen(url + p) as resp:
        body = resp.read()
    return (time.perf_counter() - t) * 1000, len(body)
rows, loads = {p: [] for p in paths}, []
for _ in range(r):
    total = 0
    for p in paths:
        ms, size = get(p)
        rows[p].append((ms, size))
        total += ms
    loads.append(total)
print("| request | bytes | median ms | max ms |")
print("|---|---:|---:|---:|")
for p in paths:
    ms = [m for m, _ in rows[p]]
    print(f"| GET /{p} | {rows[p][-1][1]} | {statistics.median(ms):.1f} | {max(ms):.1f} |")
print(f"| **first load (the five, one after another)** | | **{statistics.median(loads):.1f}** | **{max(loads):.1f}** |")
PY

# Redis commands of one refresh (what the page's poll does: state, then a page of failures),
# with the worker frozen so that its own commands are not counted (its jobs stay held).
kill -STOP "$WPID"
redis-cli -p "$RPORT" CONFIG RESETSTAT >/dev/null
curl -sf "${URL}api/state" >/dev/null
curl -sf "${URL}api/failures?queue=default&count=50" >/dev/null
redis-cli -p "$RPORT" INFO commandstats | grep -v '^#' | grep -v config | tr -d '\r' >"$T/stats"
calls=$(sed -n 's/^[^:]*:calls=\([0-9]*\).*/\1/p' "$T/stats" | awk '{s += $1} END {print s}')
kill -CONT "$WPID"

start=$(date +%s.%N)
timeout 60 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$T/chr" \
  --virtual-time-budget=3000 --dump-dom "$URL" 2>/dev/null | grep -o 'class="failure"' | wc -l >"$T/rows" || true
chromium_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')

echo "## Dashboard with $N jobs and $N failures ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
echo "- machine: \`$(uname -srm)\`, nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "- imgpipe: $(git rev-parse --short HEAD), $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$B/CMakeCache.txt" | grep . || echo "RelWithDebInfo (the default)") build"
echo "- command: \`N=$N R=$R bench/dashboard.sh\`"
echo "- queue: $N jobs ($(redis-cli -p "$RPORT" XLEN imgpipe:q:default) in the stream, 64 held by a worker), $(redis-cli -p "$RPORT" XLEN imgpipe:q:default:failed) failures; loopback, one client"
echo
cat "$T/times.md"
echo
echo "- Redis commands for one refresh (/api/state + one page of failures): $calls"
echo "  ($(sed 's/^cmdstat_\([a-z|]*\):calls=\([0-9]*\).*/\1 \2/' "$T/stats" | sort | paste -sd, | sed 's/,/, /g'))"
echo "- headless Chromium, process start to DOM dump (with a 3 s virtual-time budget, browser"
echo "  start included): ${chromium_s} s; failure rows shown: $(cat "$T/rows")"
