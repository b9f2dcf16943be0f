#!/usr/bin/env bash
# bench/s3.sh — what writing to object storage costs `imgpipe get`: N generated images
# from a local galleryd (no latency) into a directory, into s3rver directly, and into
# s3rver behind the signature-checking proxy of the tests (tests/tools/s3verify.py),
# all on 127.0.0.1. s3rver (node) writes every object to its own directory on disk, so
# the bucket rows measure imgpipe's PUT path plus s3rver, not a real service.
#
# usage: bench/s3.sh   (after scripts/install-deps.sh; BUILD=build-test N=200 REPEAT=3 JOBS=16)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-test}
N=${N:-200}
REPEAT=${REPEAT:-3}
JOBS=${JOBS:-16}
export IMGPIPE=$BUILD/imgpipe GALLERYD=$BUILD/tools/galleryd/galleryd IMGINFO=unused
source "$ROOT/tests/e2e/lib.sh"
source "$ROOT/tests/e2e/s3.sh"
start_galleryd --count "$N"
start_s3 bench
"$IMGPIPE" links -q >"$T/urls.txt"
proxy=$IMGPIPE_S3_ENDPOINT

# run LABEL ENDPOINT OUTPUT...: the median of REPEAT runs, each into a fresh place.
run() {
  local label=$1 ep=$2 i t times=()
  shift 2
  for i in $(seq 1 "$REPEAT"); do
    t=$( { /usr/bin/time -f %e env IMGPIPE_S3_ENDPOINT="$ep" "$IMGPIPE" get -q --no-ledger \
      -j "$JOBS" "$@" "$T/urls.txt" -o "$(printf "$OUT" "$i")" >/dev/null; } 2>&1 | tail -1)
    times+=("$t")
  done
  local med
  med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((REPEAT + 1) / 2))p")
  printf '| %-34s | %6s | %7.0f |\n' "$label" "$med" "$(echo "$N / $med" | bc -l)"
}
echo "imgpipe get of $N images, -j $JOBS, median of $REPEAT runs ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
echo "| output                             |      s |   img/s |"
echo "|------------------------------------|--------|---------|"
OUT="$T/dir%s" run "directory" "$proxy"
OUT="s3://bench/direct%s" run "s3rver, direct" "http://$S3_UPSTREAM"
OUT="s3://bench/proxy%s" run "s3rver behind the botocore proxy" "$proxy"
OUT="$T/dirt%s" run "directory, --thumb 128x128" "$proxy" -t 128x128
OUT="s3://bench/directt%s" run "s3rver direct, --thumb 128x128" "http://$S3_UPSTREAM" -t 128x128
