# Sourced by the Redis tests after lib.sh: a redis-server of their own on a free loopback
# port, and waiting on the queue's state.
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/install-deps.sh)"

# start_redis [redis-server options]: on $RPORT, in the foreground of a background job;
# waits until it answers (an answer that asks for a password counts).
start_redis() {
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no --dir "$T" \
    "$@" >>"$T/redis.log" 2>&1 &
  RPID=$!
  BG_PIDS+=("$RPID")
  local i
  for i in $(seq 1 100); do
    case "$(redis-cli -p "$RPORT" ping 2>/dev/null)" in PONG | NOAUTH*) return 0 ;; esac
    sleep 0.1
  done
  fail "redis-server did not answer PING on port $RPORT: $(tail -5 "$T/redis.log")"
}

stop_redis() {
  kill "$RPID"
  wait "$RPID" 2>/dev/null || true
}

q_field() { # q_field QUEUE FIELD: a number from `status --json`
  "$IMGPIPE" status --json "$1" | jq -r ".queues[0].$2"
}
