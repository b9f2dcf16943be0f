# Sourced by the queue benchmarks (queue.sh, queue_scale.sh, worker_jobs.sh): a redis-server
# and a galleryd of their own on free loopback ports, stopped at exit, when the folders
# listed in cleanup_dirs are removed too. Needs $galleryd.
#   queue_env_start DIR [galleryd options]: both servers, their logs in DIR; sets port,
#   base (galleryd's URL) and IMGPIPE_REDIS_URL
pids=()
cleanup_dirs=()
queue_env_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "${cleanup_dirs[@]}"
}
trap queue_env_cleanup EXIT

queue_env_start() {
  local dir=$1 i
  shift
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$dir/redis.log" 2>&1 &
  pids+=($!)
  "$galleryd" --port 0 --port-file "$dir/gport" --count 4 "$@" 2>"$dir/galleryd.log" &
  pids+=($!)
  for i in $(seq 1 100); do
    [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && [ -s "$dir/gport" ] && break
    sleep 0.1
  done
  export IMGPIPE_REDIS_URL=redis://127.0.0.1:$port
  base=http://127.0.0.1:$(cat "$dir/gport")
}

now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
