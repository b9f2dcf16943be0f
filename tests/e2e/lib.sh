# Sourced by every end-to-end test: a scratch directory, galleryd on a free loopback port,
# and assertions that say what they expected. Everything started here is stopped on exit.
set -euo pipefail
: "${IMGPIPE:?set IMGPIPE to the imgpipe binary}" "${GALLERYD:?set GALLERYD to galleryd}"
: "${IMGINFO:?set IMGINFO to the imginfo test tool}"

T=$(mktemp -d "${TMPDIR:-/tmp}/imgpipe-e2e.XXXXXX")
BG_PIDS=()
cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_until SECONDS WHAT CMD...: polls CMD every 0.2 s.
wait_until() {
  local limit=$1 what=$2 i
  shift 2
  for i in $(seq 1 $((limit * 5))); do
    "$@" && return 0
    sleep 0.2
  done
  fail "waited $limit s for: $what"
}

# start_galleryd [galleryd options]: sets BASE and GPID; exports the Imgur variables at it.
start_galleryd() {
  local pf="$T/galleryd.port.$RANDOM"
  "$GALLERYD" --port 0 --port-file "$pf" "$@" 2>>"$T/galleryd.log" &
  GPID=$!
  BG_PIDS+=("$GPID")
  local i
  for i in $(seq 1 100); do
    [ -s "$pf" ] && break
    kill -0 "$GPID" 2>/dev/null || fail "galleryd exited at start: $(cat "$T/galleryd.log")"
    sleep 0.1
  done
  [ -s "$pf" ] || fail "galleryd did not write its port within 10 s"
  BASE="http://127.0.0.1:$(cat "$pf")"
  export IMGUR_API_URL="$BASE" IMGUR_CLIENT_ID=e2e-client
}

# run_imgpipe ARGS...: runs imgpipe with stdout in $T/out and stderr in $T/err; sets RC.
run_imgpipe() {
  RC=0
  timeout 120 "$IMGPIPE" "$@" >"$T/out" 2>"$T/err" || RC=$?
}

expect_rc() {
  [ "$RC" -eq "$1" ] || fail "$2: expected exit status $1, got $RC; stderr: $(head -c 2000 "$T/err")"
}

expect_err() {
  grep -q -- "$1" "$T/err" || fail "$2: expected stderr to contain '$1'; got: $(head -c 2000 "$T/err")"
}

# fetch_reference URL FILE: an independent download (curl), to compare imgpipe's bytes with.
fetch_reference() {
  curl -sf -o "$2" "$1" || fail "reference download of $1 failed"
}

# files_in DIR: what a run left in DIR, without its ledger folder (.imgpipe).
files_in() {
  find "$1" -mindepth 1 \( -path "$1/.imgpipe" -prune \) -o -print
}
