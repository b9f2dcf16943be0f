# Waits never follow the wall clock (issue #11, item 11): with CLOCK_REALTIME reading an
# hour ahead of the system's (tests/tools/clock_shim.c, as after the clock was set back),
# a worker's heartbeat still beats every claim-after/3: its name stays live in `status`,
# and a second worker under it is refused. A heartbeat that waited on the wall clock
# would sleep an hour after its first beat, and its key would expire after 3 s (a beat
# may be 2 s late on a loaded machine before the check below could fail).
source "$TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/redis.sh"
: "${BUILD_DIR:?set BUILD_DIR to the build directory}"
SHIM="$BUILD_DIR/tests/libclock_shim.so"
[ -f "$SHIM" ] || fail "no $SHIM (built by tests/CMakeLists.txt)"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
RPORT=$(free_port)
export IMGPIPE_REDIS_URL="redis://127.0.0.1:$RPORT"
start_redis

LD_PRELOAD="$SHIM" "$IMGPIPE" worker --name skewed --claim-after 3 clockq >"$T/w.out" 2>"$T/w.err" &
WPID=$!
BG_PIDS+=("$WPID")
live() { "$IMGPIPE" status --json clockq | jq -e '.workers[] | select(.name == "skewed")' >/dev/null; }
wait_until 20 "the worker's first beat" live
for i in 1 2 3 4 5 6 7 8; do # 8 s: over twice its key's life
  sleep 1
  kill -0 "$WPID" 2>/dev/null || fail "the worker ended: $(cat "$T/w.err")"
  live || fail "the heartbeat stopped: the worker's key expired ($(redis-cli -p "$RPORT" keys 'imgpipe:w:*'))"
done
run_imgpipe worker --burst --name skewed clockq
expect_rc 1 "a second worker under the name of a live one"
kill -TERM "$WPID"
RC=0
timeout 20 tail --pid="$WPID" -f /dev/null || fail "the worker did not stop on SIGTERM"
wait "$WPID" || RC=$?
expect_rc 0 "the worker after SIGTERM"
ok "a wall clock an hour off does not stall the heartbeat"
