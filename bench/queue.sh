#!/usr/bin/env bash
# Jobs per second through a Redis queue, imgpipe against RQ, in the same run: N tiny PNGs
# (galleryd's /x/ route, no latency), 2 workers in burst mode each. Timed from the workers'
# start to the last one's exit (enqueueing is not timed). Prints a table and appends it,
# with the date, machine and command, to bench/RESULTS.md.
#   bench/queue.sh [BUILD_DIR] [JOBS]      (defaults: build 2000)
# RQ is Debian's python3-rq, run with /usr/bin/python3 (apt-get install python3-rq).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
jobs=${2:-2000}
imgpipe=$build/imgpipe
galleryd=$build/tools/galleryd/galleryd
[ -x "$imgpipe" ] && [ -x "$galleryd" ] || { echo "build first: $imgpipe, $galleryd" >&2; exit 2; }
/usr/bin/python3 -c 'import rq' 2>/dev/null || { echo "python3-rq is missing: apt-get install python3-rq" >&2; exit 2; }

load=$(cut -d' ' -f1-3 /proc/loadavg)
T=$(mktemp -d "${TMPDIR:-/tmp}/imgpipe-qbench.XXXXXX")
source "$here/queue_env.sh"
cleanup_dirs+=("$T")
queue_env_start "$T"
url=$IMGPIPE_REDIS_URL
seq 1 "$jobs" | sed "s|.*|$base/x/&.png|" >"$T/urls.txt"

# imgpipe: enqueue, then 2 burst workers.
"$imgpipe" enqueue --redis "$url" -Q bench -o "$T/imgpipe" "$T/urls.txt" >/dev/null
t0=$(now)
"$imgpipe" worker --redis "$url" --burst -q bench 2>"$T/w1.err" & a=$!
"$imgpipe" worker --redis "$url" --burst -q bench 2>"$T/w2.err" & b=$!
wait $a; wait $b
t1=$(now)
got=$(ls "$T/imgpipe" | wc -l)
[ "$got" -eq "$jobs" ] || { echo "imgpipe wrote $got of $jobs files" >&2; exit 1; }
imgpipe_s=$(echo "$t1 - $t0" | bc -l)

# RQ: the tutorial's download_link, enqueued one by one, 2 `rq worker --burst`.
mkdir -p "$T/rq" "$T/rqmod"
cat >"$T/rqmod/download.py" <<'PY'
import os
from urllib.request import urlopen


def download_link(directory, link):
    download_path = os.path.join(directory, os.path.basename(link))
    with urlopen(link) as image, open(download_path, 'wb') as f:
        f.write(image.read())
PY
cat >"$T/rqmod/enqueue.py" <<'PY'
import sys
from redis import Redis
from rq import Queue
from download import download_link

q = Queue(connection=Redis.from_url(sys.argv[1]))
for link in open(sys.argv[3]).read().split():
    q.enqueue(download_link, sys.argv[2], link)
PY
(cd "$T/rqmod" && /usr/bin/python3 enqueue.py "$url" "$T/rq" "$T/urls.txt")
t0=$(now)
(cd "$T/rqmod" && /usr/bin/python3 -m rq.cli worker --burst --url "$url" -q >"$T/r1.log" 2>&1) & a=$!
(cd "$T/rqmod" && /usr/bin/python3 -m rq.cli worker --burst --url "$url" -q >"$T/r2.log" 2>&1) & b=$!
wait $a; wait $b
t1=$(now)
got=$(ls "$T/rq" | wc -l)
[ "$got" -eq "$jobs" ] || { echo "RQ wrote $got of $jobs files: $(tail -5 "$T/r1.log")" >&2; exit 1; }
rq_s=$(echo "$t1 - $t0" | bc -l)

rqver=$(/usr/bin/python3 -c 'import rq; print(rq.__version__)')
table=$(
  printf '| system | workers | jobs | seconds | jobs/s |\n|---|---|---|---|---|\n'
  printf '| imgpipe worker (async, defaults) | 2 | %d | %.2f | %.0f |\n' "$jobs" "$imgpipe_s" "$(echo "$jobs / $imgpipe_s" | bc -l)"
  printf '| RQ %s `rq worker` (fork per job) | 2 | %d | %.2f | %.0f |\n' "$rqver" "$jobs" "$rq_s" "$(echo "$jobs / $rq_s" | bc -l)"
  printf '\nimgpipe / RQ: **%.1fx**\n' "$(echo "$rq_s / $imgpipe_s" | bc -l)"
)
echo "$table"
{
  [ -s "$here/RESULTS.md" ] || printf '# Benchmark results\n'
  printf '\n## Queue throughput: imgpipe worker vs RQ (%s)\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'Machine: %s, %s cores, %s. Redis %s on loopback; galleryd /x/ (a 748-byte PNG), no latency.\n' \
    "$(uname -srm)" "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" \
    "$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
  printf 'Command: `%sbench/queue.sh %s %s` (load average before: %s)\n\n' "${TMPDIR:+TMPDIR=$TMPDIR }" \
    "${1:-build}" "$jobs" "$load"
  echo "$table"
} >>"$here/RESULTS.md"
