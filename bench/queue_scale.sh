#!/usr/bin/env bash
# The queue at scale (issue #14 item 5): Redis memory per waiting job, the time to enqueue
# M URLs, and jobs/s for 2, 4 and 8 burst workers on one machine writing to disk and to
# tmpfs, beside `imgpipe get` on the same URLs and the same file system. Jobs are galleryd's
# /x/ route (a 748-byte PNG, no latency), so the queue, not the network, is measured.
# Prints a table and appends it, with the date, machine, load and command, to
# bench/RESULTS.md. RQ's figures come from bench/queue.sh.
#   bench/queue_scale.sh [BUILD_DIR] [JOBS] [ENQUEUE_URLS]   (defaults: build 3000 1000000)
#   REPEAT (default 3): rounds of get and every worker count, medians shown
#   WORKERS (default "1 2 4 8"): the worker counts
#   DISK_DIR (default: the repository's bench/ folder's file system, via mktemp in $PWD)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
jobs=${2:-3000}
many=${3:-1000000}
repeat=${REPEAT:-3}
workers_list=${WORKERS:-1 2 4 8}
imgpipe=$build/imgpipe
galleryd=$build/tools/galleryd/galleryd
[ -x "$imgpipe" ] && [ -x "$galleryd" ] || { echo "build first: $imgpipe, $galleryd" >&2; exit 2; }

load=$(cut -d' ' -f1-3 /proc/loadavg)
T=$(mktemp -d "${TMPDIR:-/tmp}/imgpipe-qscale.XXXXXX")
DISK=$(mktemp -d "${DISK_DIR:-$PWD}/.imgpipe-qscale-disk.XXXXXX")
SHM=$(mktemp -d /dev/shm/imgpipe-qscale.XXXXXX)
source "$here/queue_env.sh"
cleanup_dirs+=("$T" "$DISK" "$SHM")
queue_env_start "$T"
rcli() { redis-cli -p "$port" "$@"; }
used() { rcli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }

# ---- memory per waiting job, and the time to enqueue `many` URLs ------------------------
# URLs like a real gallery's: https://i.imgur.com/<7 characters>.jpg (31 bytes).
python3 -c '
import sys, random
r = random.Random(14)
a = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
for i in range(int(sys.argv[1])):
    print("https://i.imgur.com/" + "".join(r.choice(a) for _ in range(7)) + ".jpg")
' "$many" >"$T/many.txt"
few=$((many < 100000 ? many : 100000))
head -n "$few" "$T/many.txt" >"$T/100k.txt"
rcli flushall >/dev/null
m0=$(used)
"$imgpipe" enqueue -Q mem -o "$T/mem" "$T/100k.txt" >/dev/null
m1=$(used)
per_job=$(( (m1 - m0) / few ))
rcli flushall >/dev/null
t0=$(now)
"$imgpipe" enqueue -Q many -o "$T/many" "$T/many.txt" >"$T/many.out"
t1=$(now)
enq_s=$(echo "$t1 - $t0" | bc -l)
m2=$(used)
again0=$(now)
"$imgpipe" enqueue -Q many -o "$T/many" "$T/many.txt" >"$T/again.out"
again_s=$(echo "$(now) - $again0" | bc -l)
grep -q "skipped $many" "$T/again.out" || { echo "the second enqueue did not skip all: $(cat "$T/again.out")" >&2; exit 1; }
rcli flushall >/dev/null

# ---- jobs/s: W burst workers, and get, on disk and on tmpfs ------------------------------
seq 1 "$jobs" | sed "s|.*|$base/x/&.png|" >"$T/urls.txt"
run_workers() { # run_workers W DIR: seconds for W burst workers to do every job
  rcli flushall >/dev/null
  "$imgpipe" enqueue -Q w -o "$2" "$T/urls.txt" >/dev/null
  local t0 p ws=()
  t0=$(now)
  for p in $(seq 1 "$1"); do
    "$imgpipe" worker --burst -q w 2>>"$T/workers.err" &
    ws+=($!)
  done
  for p in "${ws[@]}"; do wait "$p"; done
  echo "$(now) - $t0" | bc -l
  [ "$(ls "$2" | wc -l)" -eq "$jobs" ] || { echo "workers wrote $(ls "$2" | wc -l) of $jobs in $2" >&2; exit 1; }
}
run_get() { # run_get DIR
  local t0
  t0=$(now)
  "$imgpipe" get -q -o "$1" "$T/urls.txt"
  echo "$(now) - $t0" | bc -l
}
# Each round runs get and every worker count once, get first in odd rounds and last in even
# ones, each into a directory of its own: nothing is deleted until the end, as ext4 creates
# files slowly for a while after many were deleted (it skips recently freed inodes).
rows=""
for fs in disk tmpfs; do
  root=$DISK
  [ "$fs" = tmpfs ] && root=$SHM
  for r in $(seq 1 "$repeat"); do
    [ $((r % 2)) -eq 1 ] && run_get "$root/get$r" >>"$T/get.$fs"
    for w in $workers_list; do run_workers "$w" "$root/w$w.$r" >>"$T/w$w.$fs"; done
    [ $((r % 2)) -eq 0 ] && run_get "$root/get$r" >>"$T/get.$fs"
  done
  g=$(median <"$T/get.$fs")
  rows+=$(printf '| %s | `imgpipe get` (async, defaults) | 1 | %.2f | %.0f | 1 |' "$fs" "$g" "$(echo "$jobs / $g" | bc -l)")$'\n'
  for w in $workers_list; do
    s=$(median <"$T/w$w.$fs")
    rows+=$(printf '| %s | `imgpipe worker --burst` (defaults) | %d | %.2f | %.0f | %.2f |' "$fs" "$w" "$s" "$(echo "$jobs / $s" | bc -l)" "$(echo "$g / $s" | bc -l)")$'\n'
  done
done

table=$(
  printf 'Redis memory per waiting job (%d jobs, 31-byte URLs, INFO used_memory, names and URL states included): **%d bytes**\n' "$few" "$per_job"
  printf 'Enqueue %d URLs (one process, pipelined scripts): **%.1f s** (%.0f URLs/s); Redis then uses %d MB;\n' \
    "$many" "$enq_s" "$(echo "$many / $enq_s" | bc -l)" "$((m2 / 1048576))"
  printf 'the same %d again (every one skipped as already queued): %.1f s\n\n' "$many" "$again_s"
  printf '| file system | what | workers | seconds (median of %d) | jobs/s | vs get |\n|---|---|---|---|---|---|\n' "$repeat"
  printf '%s' "$rows"
)
echo "$table"
{
  printf '\n## Queue at scale: memory, enqueue, workers vs get (%s)\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'Machine: %s, %s cores, %s, shared with other work (load average before: %s; read the ratios, not the seconds). Redis %s on loopback, no persistence; %d jobs of galleryd /x/ (a 748-byte PNG), no latency. Disk: %s.\n' \
    "$(uname -srm)" "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" "$load" \
    "$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')" "$jobs" "$(df -T "$DISK" | awk 'NR==2 {print $2}')"
  printf 'Command: `REPEAT=%s WORKERS="%s" bench/queue_scale.sh %s %s %s`\n\n' "$repeat" "$workers_list" "${1:-build}" "$jobs" "$many"
  echo "$table"
} >>"$here/RESULTS.md"
