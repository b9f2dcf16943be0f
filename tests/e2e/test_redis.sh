# Distributed mode on a real redis-server: enqueue, workers in burst mode on one queue, a
# worker killed with jobs in hand, transient and permanent failures, requeue-failed, Redis
# restarting under a running worker, SIGTERM, and an unreachable Redis.
source "$TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/redis.sh"

RPORT=$(free_port)
export IMGPIPE_REDIS_URL="redis://127.0.0.1:$RPORT"
start_redis
start_galleryd --count 16

# 200 jobs: 100 tiny PNGs (/x/), 100 gallery images (/i/, ?n=i so every link is distinct
# and the names of repeated images get the nameset's hash suffix).
"$IMGPIPE" links -q >"$T/links.txt"
mapfile -t links <"$T/links.txt"
{
  for i in $(seq 1 100); do echo "$BASE/x/p$i.png"; done
  for i in $(seq 1 100); do echo "${links[$((i % ${#links[@]}))]}?n=$i"; done
} >"$T/jobs.txt"
run_imgpipe enqueue -o "$T/dl" "$T/jobs.txt"
expect_rc 0 "enqueue of 200 jobs"
grep -q "enqueued 200 jobs on queue 'default' (batch " "$T/out" || fail "enqueue says how many: $(cat "$T/out")"
[ "$(q_field default waiting)" -eq 200 ] || fail "200 jobs waiting after enqueue"

pids=()
for w in 1 2 3; do
  "$IMGPIPE" worker --burst -j 8 --name "fast$w" >"$T/w$w.out" 2>"$T/w$w.err" &
  pids+=($!)
  BG_PIDS+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a burst worker exited $?: $(cat "$T"/w*.err)"; done
[ "$(ls "$T/dl" | wc -l)" -eq 200 ] || fail "200 files, got $(ls "$T/dl" | wc -l)"
fetch_reference "$BASE/x/any.png" "$T/ref-x.png"
for l in "${links[@]}"; do fetch_reference "$l" "$T/ref-$(basename "$l")"; done
for f in "$T"/dl/*; do
  n=$(basename "$f")
  case "$n" in
    p*.png) ref="$T/ref-x.png" ;;
    *) ref="$T/ref-$(echo "$n" | sed -E 's/-[0-9a-f]{8}(\.[a-z]+)$/\1/')" ;;
  esac
  cmp -s "$f" "$ref" || fail "$n differs from its curl reference"
done
[ "$(q_field default done)" -eq 200 ] && [ "$(q_field default waiting)" -eq 0 ] &&
  [ "$(q_field default in_progress)" -eq 0 ] || fail "status after the burst: $("$IMGPIPE" status)"
for w in 1 2 3; do [ -s "$T/w$w.err" ] && grep -q "jobs done" "$T/w$w.err" || fail "worker $w summary"; done
ok "200 jobs done by 3 burst workers, every file equal to curl's"

# A worker killed with jobs in hand: after --claim-after, the others do its jobs.
start_galleryd --count 4 --latency-ms 1500
SLOW=$BASE
for i in $(seq 1 24); do echo "$SLOW/x/k$i.png"; done >"$T/slow.txt"
run_imgpipe enqueue -q slow -o "$T/killed" "$T/slow.txt"
expect_rc 0 "enqueue on queue slow"
pids=()
for w in 1 2 3; do
  "$IMGPIPE" worker --burst -j 4 --claim-after 2 --name "slow$w" slow >"$T/k$w.out" 2>"$T/k$w.err" &
  pids+=($!)
  BG_PIDS+=($!)
done
holds_jobs() { [ "$("$IMGPIPE" status --json slow | jq '[.queues[0].held[] | select(.worker == "slow1")] | length')" -gt 0 ]; }
wait_until 10 "worker slow1 to hold jobs" holds_jobs
kill -9 "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
for p in "${pids[@]:1}"; do wait "$p" || fail "a surviving worker exited $?: $(cat "$T"/k*.err)"; done
[ "$(ls "$T/killed" | grep -c '^k.*\.png$')" -eq 24 ] || fail "24 files after the kill, got $(ls "$T/killed")"
[ -z "$(ls -A "$T/killed" | grep '^\.')" ] || fail "temporary files left: $(ls -A "$T/killed")"
[ "$(q_field slow in_progress)" -eq 0 ] && [ "$(q_field slow waiting)" -eq 0 ] &&
  [ "$(q_field slow done)" -ge 24 ] && [ "$(q_field slow failed)" -eq 0 ] ||
  fail "status after the kill: $("$IMGPIPE" status slow)"
"$IMGPIPE" status slow | grep -q slow1 && fail "the killed worker is still listed as live"
ok "a worker killed with jobs in hand: the others finish everything, nothing pending"

# A worker restarted under the same name takes its own held jobs back at once, without
# waiting for --claim-after. status shows the jobs held, by whom, and the live worker.
# Its jobs must still be held when status looks, however loaded the machine: a slower server.
KEEP_BASE=$BASE
start_galleryd --count 4 --latency-ms 6000
HOLD=$BASE
BASE=$KEEP_BASE
printf '%s\n' "$HOLD/x/own1.png" "$HOLD/x/own2.png" >"$T/own.txt"
run_imgpipe enqueue -q own -o "$T/own" "$T/own.txt"
"$IMGPIPE" worker -j 2 --claim-after 60 --name own1 own 2>"$T/own1.err" &
OWN=$!
BG_PIDS+=($OWN)
holds_two() { [ "$(q_field own in_progress)" -eq 2 ]; }
wait_until 10 "worker own1 to hold both jobs" holds_two
"$IMGPIPE" status own >"$T/status.txt"
grep -q "queue own: 0 waiting, 2 in progress" "$T/status.txt" || fail "status: $(cat "$T/status.txt")"
grep -q "held by own1 for .* s (delivery 1): $HOLD/x/own1.png" "$T/status.txt" || fail "status held: $(cat "$T/status.txt")"
grep -q "^  own1 (host .*, pid $OWN, queues own): 0 done, 0 failed, [0-9]* in flight, heartbeat .* s ago" "$T/status.txt" ||
  fail "status workers: $(cat "$T/status.txt")"
kill -9 "$OWN"
wait "$OWN" 2>/dev/null || true
start=$(date +%s)
run_imgpipe worker --burst --claim-after 60 --name own1 own
expect_rc 0 "own1 restarted"
[ $(($(date +%s) - start)) -lt 25 ] || fail "own1 took its jobs back only after $(($(date +%s) - start)) s"
[ -f "$T/own/own1.png" ] && [ -f "$T/own/own2.png" ] || fail "own1's jobs done: $(ls "$T/own")"
[ "$(q_field own in_progress)" -eq 0 ] && [ "$(q_field own done)" -eq 2 ] || fail "own: $("$IMGPIPE" status own)"
ok "status shows held jobs and workers; a worker restarted under its name takes its jobs back"

# Failures: a 404 fails at once; a refused connection is retried, then fails;
# requeue-failed puts both back.
printf '%s\n' "$BASE/i/missing.jpg" "http://127.0.0.1:$(free_port)/gone.png" >"$T/bad.txt"
run_imgpipe enqueue -q bad -o "$T/bad" "$T/bad.txt"
run_imgpipe worker --burst --retries 2 bad
expect_rc 0 "a burst worker with failing jobs"
[ "$(grep -c FAILED "$T/err")" -eq 2 ] || fail "two failures reported: $(cat "$T/err")"
[ "$(grep -c "retrying .*gone.png (attempt [23] of 3)" "$T/err")" -eq 2 ] || fail "two retries said: $(cat "$T/err")"
expect_err "0 jobs done (0 bytes), 2 failed" "the worker counts jobs, not attempts"
"$IMGPIPE" status --json bad >"$T/bad.json"
[ "$(jq '.queues[0].failed' "$T/bad.json")" -eq 2 ] || fail "2 failed: $(cat "$T/bad.json")"
[ "$(jq '.queues[0].retried' "$T/bad.json")" -eq 2 ] || fail "the refused one retried twice: $(cat "$T/bad.json")"
jq -r '.queues[0].failures[] | .url + " " + .error' "$T/bad.json" >"$T/bad.txt"
grep -q "missing.jpg server answered HTTP 404" "$T/bad.txt" || fail "404 reason: $(cat "$T/bad.txt")"
grep -q "gone.png .*refused\\|gone.png .*connect" "$T/bad.txt" || fail "refused reason: $(cat "$T/bad.txt")"
"$IMGPIPE" status bad | grep -q "failed .*missing.jpg: server answered HTTP 404" || fail "status text"
run_imgpipe requeue-failed bad
expect_rc 0 "requeue-failed"
grep -q "requeued 2 failed jobs on queue 'bad'" "$T/out" || fail "requeue says how many: $(cat "$T/out")"
[ "$(q_field bad failed)" -eq 0 ] && [ "$(q_field bad waiting)" -eq 2 ] || fail "requeued: $("$IMGPIPE" status bad)"
ok "404 fails at once, a refused connection after retries, both with their reason; requeue-failed puts them back"

# -Q/--queue names the queue in enqueue, worker, status and requeue-failed (beside QUEUE
# arguments); enqueue's old -q still sets it, with a warning.
printf '%s\n' "$BASE/x/p301.png" >"$T/q1.txt"
printf '%s\n' "$BASE/x/p302.png" >"$T/q2.txt"
run_imgpipe enqueue -q oldq -o "$T/qdl" "$T/q1.txt"
expect_rc 0 "enqueue -q oldq"
grep -q "on queue 'oldq'" "$T/out" || fail "enqueue -q did not use queue oldq: $(cat "$T/out")"
expect_err "warning: '-q' is deprecated in 'enqueue'; use -Q/--queue" "enqueue -q"
run_imgpipe enqueue --queue newq -o "$T/qdl" "$T/q2.txt"
expect_rc 0 "enqueue --queue newq"
[ "$(q_field oldq waiting)" -eq 1 ] && [ "$(q_field newq waiting)" -eq 1 ] ||
  fail "one job on each of oldq and newq: $("$IMGPIPE" status oldq newq)"
"$IMGPIPE" status --json -Q oldq newq >"$T/q.json" || fail "status -Q oldq newq"
[ "$(jq -c '[.queues[].name]' "$T/q.json")" = '["oldq","newq"]' ] || fail "status -Q: $(cat "$T/q.json")"
run_imgpipe worker --burst -Q newq --queue oldq
expect_rc 0 "worker -Q newq --queue oldq"
[ "$(q_field oldq done)" -eq 1 ] && [ "$(q_field newq done)" -eq 1 ] ||
  fail "the worker did the jobs of both -Q queues: $("$IMGPIPE" status oldq newq)"
[ -f "$T/qdl/p301.png" ] && [ -f "$T/qdl/p302.png" ] || fail "worker -Q wrote: $(ls "$T/qdl")"
run_imgpipe requeue-failed -Q oldq newq
expect_rc 0 "requeue-failed -Q oldq newq"
[ "$(grep -c "requeued 0 failed jobs on queue '\(old\|new\)q'" "$T/out")" -eq 2 ] ||
  fail "requeue-failed -Q: $(cat "$T/out")"
ok "-Q/--queue in enqueue, status and worker; enqueue -q still works, with a warning"

# Redis restarts under a running worker: it waits, reconnects, and carries on. SIGTERM lets
# it finish the job in hand and exit 0.
"$IMGPIPE" worker -j 4 --name live live >"$T/live.out" 2>"$T/live.err" &
LIVE=$!
BG_PIDS+=($LIVE)
for i in 1 2 3; do echo "$BASE/x/a$i.png"; done >"$T/a.txt"
run_imgpipe enqueue -q live -o "$T/live" "$T/a.txt"
has_files() { [ "$(ls "$T/live" 2>/dev/null | wc -l)" -ge "$1" ]; }
wait_until 10 "3 files from the live worker" has_files 3
done_is() { [ "$(q_field live done)" -eq "$1" ]; }
wait_until 5 "3 jobs recorded done" done_is 3 # the files are written before the acks
stop_redis
sleep 1
start_redis
for i in 1 2 3; do echo "$BASE/x/b$i.png"; done >"$T/b.txt"
run_imgpipe enqueue -q live -o "$T/live" "$T/b.txt"
expect_rc 0 "enqueue after the restart"
wait_until 15 "3 more files after the Redis restart" has_files 6
kill -0 "$LIVE" || fail "the worker died with Redis: $(cat "$T/live.err")"
grep -q "lost Redis" "$T/live.err" && grep -q "is back" "$T/live.err" || fail "the worker says Redis went and came back: $(cat "$T/live.err")"
echo "$SLOW/x/term.png" >"$T/term.txt"
run_imgpipe enqueue -q live -o "$T/live" "$T/term.txt"
held() { "$IMGPIPE" status --json live | jq -e '.queues[0].held | any(.url | endswith("/term.png"))' >/dev/null; }
wait_until 10 "the worker to take the slow job" held
kill -TERM "$LIVE"
RC=0
wait "$LIVE" || RC=$?
expect_rc 0 "worker after SIGTERM"
[ -f "$T/live/term.png" ] || fail "the job in flight at SIGTERM was finished"
# Redis restarted empty: 3 jobs after it, and the one finished on SIGTERM.
[ "$(q_field live in_progress)" -eq 0 ] && [ "$(q_field live done)" -eq 4 ] || fail "after SIGTERM: $("$IMGPIPE" status live)"
ok "a worker survives a Redis restart, and finishes its job on SIGTERM"

# Redis unreachable: a clear error naming the URL.
stop_redis
run_imgpipe enqueue -o "$T/none" "$T/a.txt"
expect_rc 1 "enqueue without Redis"
expect_err "cannot connect to Redis at redis://127.0.0.1:$RPORT" "the error names the URL"
run_imgpipe status
expect_rc 1 "status without Redis"
expect_err "redis://127.0.0.1:$RPORT" "status names the URL"
run_imgpipe worker --burst
expect_rc 1 "a worker that cannot reach Redis at start"
ok "Redis down: enqueue, status and worker say which URL failed"
