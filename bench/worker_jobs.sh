#!/usr/bin/env bash
# How many jobs one queue worker should keep in flight: `imgpipe worker --burst` at its
# defaults and at each -j of JOBS_LIST, on the same jobs (galleryd's /x/ route, a 748-byte
# PNG, LATENCY_MS before each answer), rounds interleaving the -j values; prints the
# median seconds per row and the ratio to the defaults. Issue #12 item 2: the defaults
# should be within 10% of the best -j.
#   bench/worker_jobs.sh [BUILD_DIR] [JOBS] [LATENCY_MS]   (defaults: build 10000 0)
#   REPEAT (default 3), JOBS_LIST (default "16 32 64 128 256")
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
jobs=${2:-10000}
latency=${3:-0}
repeat=${REPEAT:-3}
jobs_list=${JOBS_LIST:-16 32 64 128 256}
imgpipe=$build/imgpipe
galleryd=$build/tools/galleryd/galleryd
[ -x "$imgpipe" ] && [ -x "$galleryd" ] || { echo "build first: $imgpipe, $galleryd" >&2; exit 2; }

T=$(mktemp -d /dev/shm/imgpipe-wjobs.XXXXXX)
source "$here/queue_env.sh"
cleanup_dirs+=("$T")
queue_env_start "$T" --latency-ms "$latency"
seq 1 "$jobs" | sed "s|.*|$base/x/&.png|" >"$T/urls.txt"
run() { # run ROW ROUND [-j N]: seconds for one burst worker to do every job
  local row=$1 r=$2 t0
  shift 2
  redis-cli -p "$port" flushall >/dev/null
  "$imgpipe" enqueue -Q w -o "$T/$row.$r" "$T/urls.txt" >/dev/null
  t0=$(now)
  "$imgpipe" worker --burst -q "$@" w
  echo "$(now) - $t0" | bc -l >>"$T/$row.s"
  [ "$(ls "$T/$row.$r" | wc -l)" -eq "$jobs" ] || { echo "$row: $(ls "$T/$row.$r" | wc -l) of $jobs files" >&2; exit 1; }
  rm -rf "${T:?}/$row.$r"
}
for r in $(seq 1 "$repeat"); do
  run defaults "$r"
  for j in $jobs_list; do run "j$j" "$r" -j "$j"; done
done
d=$(median <"$T/defaults.s")
printf '%d jobs, %d ms per answer, 1 worker, median of %d (%s)\n\n' "$jobs" "$latency" "$repeat" "$(date -u '+%Y-%m-%d %H:%M UTC')"
printf '| worker | seconds | jobs/s | vs defaults |\n|---|---|---|---|\n'
printf '| defaults | %.2f | %.0f | 1 |\n' "$d" "$(echo "$jobs / $d" | bc -l)"
for j in $jobs_list; do
  s=$(median <"$T/j$j.s")
  printf '| -j %d | %.2f | %.0f | %.2f |\n' "$j" "$s" "$(echo "$jobs / $s" | bc -l)" "$(echo "$s / $d" | bc -l)"
done
