# The queue past RQ (issue #14 item 4, issue #11 item 2), on a real redis-server: names
# given to one URL only across enqueue batches and queues sharing an output; enqueue
# skipping what the queue holds or did; retries that wait in a scheduled set (Retry-After
# honoured) without holding a worker's slot; acks of a worker that lost its claim refused;
# one --rate for three workers together; status of every queue, by URL; purge; get's
# options on the worker.
source "$TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/redis.sh"

RPORT=$(free_port)
export IMGPIPE_REDIS_URL="redis://127.0.0.1:$RPORT"
start_redis
start_galleryd --count 4

q_json() { "$IMGPIPE" status --json "$1" | jq -r ".queues[0].$2"; }
enqueue() { # enqueue ARGS... (URLs on stdin)
  run_imgpipe enqueue "$@" -
  expect_rc 0 "enqueue $*"
}
burst() { # burst ARGS...: a burst worker that must exit 0
  run_imgpipe worker --burst "$@"
  expect_rc 0 "worker --burst $*"
}

# ---- names across batches and queues ------------------------------------------------------
# Three URLs whose last segment is the same name, with different bytes: the gallery image,
# galleryd's tiny PNG, and the PNG under another path.
A="$BASE/i/img0001.jpg" B="$BASE/x/img0001.jpg" C="$BASE/x/other/img0001.jpg"
fetch_reference "$A" "$T/ref-a"
fetch_reference "$B" "$T/ref-b"
cmp -s "$T/ref-a" "$T/ref-b" && fail "the test needs two URLs with different bytes"
echo "$A" | enqueue -o "$T/dl"
burst
cmp -s "$T/dl/img0001.jpg" "$T/ref-a" || fail "batch 1: img0001.jpg is A's"
echo "$B" | enqueue -o "$T/dl" # a second batch, to the same output
burst
cmp -s "$T/dl/img0001.jpg" "$T/ref-a" || fail "batch 2 replaced A's img0001.jpg with another URL's"
[ "$(ls "$T/dl" | wc -l)" -eq 2 ] || fail "B has a file of its own: $(ls "$T/dl")"
b_name=$(ls "$T/dl" | grep -v '^img0001.jpg$')
cmp -s "$T/dl/$b_name" "$T/ref-b" || fail "B's file $b_name holds B's bytes"
echo "$C" | enqueue -q other -o "$T/dl" # another queue, the same output
burst other
cmp -s "$T/dl/img0001.jpg" "$T/ref-a" && cmp -s "$T/dl/$b_name" "$T/ref-b" ||
  fail "a batch on another queue replaced a file of the same output"
[ "$(ls "$T/dl" | wc -l)" -eq 3 ] || fail "C has a file of its own: $(ls "$T/dl")"
# Names compare case folded: IMG0001.JPG is img0001.jpg on some file systems.
echo "$BASE/x/IMG0001.JPG" | enqueue -q other -o "$T/dl/" # "dl/" is "dl"
"$IMGPIPE" status --json --url "$BASE/x/IMG0001.JPG" other | jq -e '.jobs[0].name != "IMG0001.JPG"' >/dev/null ||
  fail "IMG0001.JPG given while img0001.jpg is A's: $("$IMGPIPE" status --url "$BASE/x/IMG0001.JPG")"
"$IMGPIPE" purge other >/dev/null
# The same URL again (forced) gets its name of before, whatever came between.
echo "$B" | enqueue --force -o "$T/dl"
"$IMGPIPE" status --json --url "$B" default >"$T/b.json"
[ "$(jq -r '.jobs[0].name' "$T/b.json")" = "$b_name" ] || fail "B queued again under another name: $(cat "$T/b.json")"
burst
[ "$(ls "$T/dl" | wc -l)" -eq 3 ] || fail "B done twice gives no second file: $(ls "$T/dl")"
ok "a name goes to one URL across batches and queues of one output; the same URL keeps its name"

# ---- enqueue skips what the queue holds or did -----------------------------------------
printf '%s\n' "$A" "$BASE/x/new1.png" "$BASE/x/new1.png" | enqueue -o "$T/dl"
grep -q "enqueued 1 jobs" "$T/out" && grep -q "skipped 2 links" "$T/out" ||
  fail "A done before and new1 listed twice: 1 queued, 2 skipped: $(cat "$T/out")"
"$IMGPIPE" status --url "$BASE/x/new1.png" >"$T/st" || fail "status --url of a waiting job exits 0"
grep -q "is waiting, as new1.png" "$T/st" || fail "status --url of a waiting job: $(cat "$T/st")"
"$IMGPIPE" status --url "$A" | grep -q "is done" || fail "status --url of a done job: $("$IMGPIPE" status --url "$A")"
RC=0
"$IMGPIPE" status --url "$BASE/x/never.png" >"$T/st" || RC=$?
[ "$RC" -eq 1 ] && grep -q "no queue knows" "$T/st" || fail "an unknown URL: exit 1 and a sentence, got $RC: $(cat "$T/st")"
echo "$A" | enqueue --force -o "$T/dl"
grep -q "enqueued 1 jobs" "$T/out" || fail "--force queues a done URL: $(cat "$T/out")"
burst
ok "enqueue skips links queued or done and says how many; --force queues them; status --url"

# ---- every queue by default; purge --------------------------------------------------------
for i in 1 2 3 4 5; do echo "$BASE/x/p$i.png"; done | enqueue -q purgeme -o "$T/p"
"$IMGPIPE" status >"$T/st"
grep -q "^queue default:" "$T/st" && grep -q "^queue other:" "$T/st" && grep -q "^queue purgeme: 5 waiting" "$T/st" ||
  fail "status shows every queue: $(cat "$T/st")"
run_imgpipe purge purgeme
expect_rc 0 "purge"
grep -q "purged 5 jobs from queue 'purgeme'" "$T/out" || fail "purge says how many: $(cat "$T/out")"
[ "$(q_json purgeme waiting)" -eq 0 ] || fail "purged: $("$IMGPIPE" status purgeme)"
for i in 1 2 3 4 5; do echo "$BASE/x/p$i.png"; done | enqueue -q purgeme -o "$T/p"
grep -q "enqueued 5 jobs" "$T/out" || fail "purged jobs may be queued again: $(cat "$T/out")"
run_imgpipe purge
expect_rc 2 "purge without a queue"
ok "status shows every queue; purge empties one, and its jobs may come again"

# Jobs in hand are not purged: a consumer without a heartbeat (a worker that just died)
# holds 3 of 8. Purge drops the 5 waiting; enqueue skips the 3 held; a worker claims them
# and each of the 8 links is done once.
for i in 1 2 3 4 5 6 7 8; do echo "$BASE/x/h$i.png"; done >"$T/held.txt"
enqueue -q held -o "$T/held" <"$T/held.txt"
redis-cli -p "$RPORT" XREADGROUP GROUP imgpipe ghost COUNT 3 STREAMS imgpipe:q:held '>' >/dev/null
run_imgpipe purge held
expect_rc 0 "purge with jobs in hand"
grep -q "purged 5 jobs from queue 'held'" "$T/out" || fail "purge counts only the waiting: $(cat "$T/out")"
[ "$(q_json held waiting)" -eq 0 ] && [ "$(q_json held in_progress)" -eq 3 ] &&
  [ "$(redis-cli -p "$RPORT" XLEN imgpipe:q:held)" -eq 3 ] || fail "after purge: $("$IMGPIPE" status held)"
enqueue -q held -o "$T/held" <"$T/held.txt"
grep -q "enqueued 5 jobs" "$T/out" && grep -q "skipped 3 links" "$T/out" ||
  fail "the 3 in hand are still the queue's: $(cat "$T/out")"
burst --claim-after 0.2 held
[ "$(q_json held done)" -eq 8 ] && [ "$(ls "$T/held" | wc -l)" -eq 8 ] ||
  fail "each link done once: $("$IMGPIPE" status held); $(ls "$T/held")"
ok "purge leaves the jobs in hand: they finish once, and enqueue still skips them"

# ---- retries wait in the scheduled set, without a worker's slot --------------------------
# One job answered 429 with Retry-After: 3 once, then five good ones, one worker with one
# slot: the good ones are done while the first waits its 3 s in the scheduled set.
{
  echo "$BASE/f/429x1r3/k1/later.jpg"
  for i in 1 2 3 4 5; do echo "$BASE/x/now$i.png"; done
} | enqueue -q wait -o "$T/wait"
start=$(date +%s.%N)
"$IMGPIPE" worker --burst -j 1 wait >"$T/w.out" 2>"$T/w.err" &
WPID=$!
BG_PIDS+=("$WPID")
others_done_while_scheduled() {
  local s
  s=$("$IMGPIPE" status --json wait)
  [ "$(jq '.queues[0].scheduled' <<<"$s")" -eq 1 ] && [ "$(jq '.queues[0].done' <<<"$s")" -eq 5 ]
}
wait_until 30 "the five good jobs done while the 429 waits in the scheduled set" others_done_while_scheduled
"$IMGPIPE" status --url "$BASE/f/429x1r3/k1/later.jpg" | grep -q "is scheduled" || fail "status --url of a scheduled retry"
wait "$WPID" || fail "the worker exited $?: $(cat "$T/w.err")"
took=$(echo "$(date +%s.%N) - $start" | bc)
[ "$(echo "$took >= 3" | bc)" -eq 1 ] || fail "Retry-After: 3 was not waited: all done in $took s"
[ -f "$T/wait/later.jpg" ] && [ "$(q_json wait done)" -eq 6 ] && [ "$(q_json wait retried)" -eq 1 ] ||
  fail "after the wait: $("$IMGPIPE" status wait)"
# Backoff without Retry-After grows: 503 twice with --retry-wait 1 waits >= 0.5 + 1 s.
echo "$BASE/f/503x2/k2/twice.jpg" | enqueue -q wait -o "$T/wait"
start=$(date +%s.%N)
burst --retry-wait 1 wait
took=$(echo "$(date +%s.%N) - $start" | bc)
[ "$(echo "$took >= 1.5" | bc)" -eq 1 ] || fail "two backoffs from 1 s took only $took s"
[ -f "$T/wait/twice.jpg" ] || fail "twice.jpg after two 503s"
ok "a transient failure waits in the scheduled set (Retry-After, growing backoff), the others go on"

# ---- fenced acks: a worker frozen past its lease cannot ack a job another did -------------
KEEP=$BASE
start_galleryd --count 2 --latency-ms 2000
echo "$BASE/x/fenced.png" | enqueue -q fence -o "$T/fence"
BASE=$KEEP
"$IMGPIPE" worker --claim-after 1 --name frozen fence >"$T/f.out" 2>"$T/f.err" &
FPID=$!
BG_PIDS+=("$FPID")
held_by_frozen() { "$IMGPIPE" status --json fence | jq -e '.queues[0].held | any(.worker == "frozen")' >/dev/null; }
trap 'kill -CONT "$FPID" 2>/dev/null || true; cleanup' EXIT # a stopped process hears no TERM
wait_until 20 "the frozen worker to hold the job" held_by_frozen
kill -STOP "$FPID"
# Its heartbeat expires after claim-after; then the job is another's to claim.
gone() { ! "$IMGPIPE" status fence | grep -q "^  frozen "; }
wait_until 20 "the frozen worker's heartbeat to expire" gone
"$IMGPIPE" worker --burst --claim-after 1 --name thawed fence >"$T/t.out" 2>"$T/t.err" ||
  fail "the claiming worker: $(cat "$T/t.err")"
[ "$(q_json fence done)" -eq 1 ] || fail "the claimer did the job: $("$IMGPIPE" status fence)"
kill -CONT "$FPID"
refused() { [ "$(q_json fence refused)" -eq 1 ]; }
wait_until 30 "the thawed worker's ack to be refused" refused
kill -TERM "$FPID"
wait "$FPID" || true
[ "$(q_json fence done)" -eq 1 ] || fail "done counted twice: $("$IMGPIPE" status fence)"
grep -q "refused" "$T/f.err" || fail "the frozen worker says its outcome was refused: $(cat "$T/f.err")"
ok "an ack from a worker that lost its claim is refused: done counts the job once"

# ---- one --rate for the fleet --------------------------------------------------------------
# Three workers at --rate 5 against one host: 30 requests take at least (30 - 1) / 5 s
# together (each alone at 5/s would take 2 s). A lower bound: load cannot make it pass.
KEEP=$BASE
: >"$T/galleryd.log"
start_galleryd --count 2 --log
RATE_BASE=$BASE
BASE=$KEEP
for i in $(seq 1 30); do echo "$RATE_BASE/x/r$i.png"; done | enqueue -q rate -o "$T/rate"
start=$(date +%s.%N)
pids=()
for w in 1 2 3; do
  "$IMGPIPE" worker --burst --rate 5 --per-host 2 -j 8 --name "rate$w" rate >"$T/r$w.out" 2>"$T/r$w.err" &
  pids+=($!)
  BG_PIDS+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a rate worker exited $?: $(cat "$T"/r*.err)"; done
took=$(echo "$(date +%s.%N) - $start" | bc)
n=$(grep -c "GET /x/r" "$T/galleryd.log")
[ "$n" -eq 30 ] || fail "30 requests at galleryd, got $n"
[ "$(echo "$took >= 5.8" | bc)" -eq 1 ] || fail "30 requests at 5/s for the fleet took only $took s"
[ "$(q_json rate done)" -eq 30 ] || fail "30 done: $("$IMGPIPE" status rate)"
for w in 1 2 3; do grep -q "jobs done" "$T/r$w.err" || fail "worker rate$w"; done
ok "three workers with --rate 5 stay at 5/s together (30 requests in $took s)"

# ---- get's options on the worker ---------------------------------------------------------
printf '%s\n' "$BASE/i/img0002.jpg" "$BASE/x/tiny.png" | enqueue -q opts -o "$T/opts"
burst --json -v --max-pixels 5000 opts
[ "$(grep -c '"url"' "$T/out")" -eq 2 ] || fail "--json: one object per job: $(cat "$T/out")"
jq -se 'map(select(.url | endswith("img0002.jpg")))[0].status == "failed"' "$T/out" >/dev/null ||
  fail "--max-pixels 5000 refuses the gallery image: $(cat "$T/out")"
jq -se 'map(select(.url | endswith("tiny.png")))[0].status == "ok"' "$T/out" >/dev/null ||
  fail "the 40x30 PNG is within --max-pixels: $(cat "$T/out")"
ok "the worker takes get's --json, -v, --max-pixels, --rate, --per-host, --retry-wait"

# most_held QUEUE PID [MS]: the most entries of QUEUE pending at once while PID runs,
# sampled every 10 ms; with MS, only for MS ms from the first sample with any.
most_held() {
  local most=0 first="" n
  while kill -0 "$2" 2>/dev/null; do
    n=$(redis-cli -p "$RPORT" XPENDING "imgpipe:q:$1" imgpipe 2>/dev/null | head -1)
    if [ -n "${3:-}" ] && [ "${n:-0}" -gt 0 ] 2>/dev/null; then
      [ -n "$first" ] || first=$(date +%s%N)
      [ $(($(date +%s%N) - first)) -lt $(($3 * 1000000)) ] || break
    fi
    [ "${n:-0}" -gt "$most" ] 2>/dev/null && most=$n
    sleep 0.01
  done
  echo "$most"
}

# ---- how many jobs a worker keeps in flight by default --------------------------------------
# galleryd answers after 300 ms and counts the requests it answers at once. Streamed jobs
# go past 64 (the run adapts: 16, then 256 once the first requests showed the latency;
# without the jump a short run stays at 64 or less); jobs held in memory (thumbnails)
# stay at 16; -j N is N for both.
KEEP=$BASE
start_galleryd --count 2 --latency-ms 300
SLOW=$BASE
BASE=$KEEP
peak_after() { # peak_after ARGS...: the most requests at once while a burst worker runs
  curl -fsS "$SLOW/stats/reset" >/dev/null
  burst "$@"
  curl -fsS "$SLOW/stats/peak"
}
for i in $(seq 1 96); do echo "$SLOW/x/s$i.png"; done | enqueue -q inflight -o "$T/inflight"
p=$(peak_after inflight)
[ "$p" -gt 64 ] && [ "$p" -le 96 ] || fail "streamed jobs at the defaults: $p at once (65..96 expected)"
[ "$(ls "$T/inflight" | wc -l)" -eq 96 ] || fail "96 files: $(ls "$T/inflight" | wc -l)"
for i in $(seq 1 64); do echo "$SLOW/x/t$i.png"; done | enqueue -q inflight -t 16 -o "$T/inflight-t"
p=$(peak_after inflight)
[ "$p" -ge 8 ] && [ "$p" -le 16 ] || fail "jobs with thumbnails at the defaults: $p at once (8..16 expected)"
[ "$(ls "$T/inflight-t" | grep -c _thumbnail)" -eq 64 ] || fail "64 thumbnails: $(ls "$T/inflight-t" | head)"
for i in $(seq 1 24); do echo "$SLOW/x/j$i.png"; done | enqueue -q inflight -o "$T/inflight-j"
p=$(peak_after -j 5 inflight)
[ "$p" -ge 3 ] && [ "$p" -le 5 ] || fail "-j 5: $p at once"
# A long queue: past 64 (run/limiter.c), and the reads follow.
for i in $(seq 1 480); do echo "$SLOW/x/l$i.png"; done | enqueue -q inflight -o "$T/inflight-l"
p=$(peak_after inflight)
[ "$p" -gt 64 ] && [ "$p" -le 256 ] || fail "480 streamed jobs at the defaults: $p at once (65..256 expected)"
[ "$(ls "$T/inflight-l" | wc -l)" -eq 480 ] || fail "480 files: $(ls "$T/inflight-l" | wc -l)"
# A worker that stays: the level a long queue climbed to ends when the queues run empty
# (the next jobs may be for other hosts). After it, 200 jobs on a host that answers in
# 2 ms (well under the 10 ms that make the limit jump) run at 64 at most, from 16; the
# level of before would send them all at once.
start_galleryd --count 2 --latency-ms 2
MID=$BASE
BASE=$KEEP
"$IMGPIPE" worker idle >"$T/idle.out" 2>"$T/idle.err" &
IW=$!
BG_PIDS+=("$IW")
done_is() { [ "$(q_json idle done)" -eq "$1" ]; }
curl -fsS "$SLOW/stats/reset" >/dev/null
for i in $(seq 1 480); do echo "$SLOW/x/m$i.png"; done | enqueue -q idle -o "$T/idle"
wait_until 60 "480 jobs done by the staying worker" done_is 480
p=$(curl -fsS "$SLOW/stats/peak")
[ "$p" -gt 64 ] || fail "the staying worker's long queue: $p at once (over 64 expected)"
curl -fsS "$MID/stats/reset" >/dev/null
for i in $(seq 1 200); do echo "$MID/x/n$i.png"; done | enqueue -q idle -o "$T/idle"
wait_until 60 "200 more jobs done by the staying worker" done_is 680
p=$(curl -fsS "$MID/stats/peak")
[ "$p" -gt 8 ] && [ "$p" -le 64 ] || fail "a short queue after the queues ran empty: $p at once (9..64 expected)"
kill -TERM "$IW"
wait "$IW" || fail "the staying worker stopped with $?: $(cat "$T/idle.err")"
# What a worker holds unstarted beyond its slots is half -j, 32 at most: at -j 256 (or
# climbed there) 256 and 32 more, one read ahead 32 more, not 128 and 128 (a queue of a few
# hundred would go to the first worker that reads). Sampled for 200 ms from its first read,
# before any answer (300 ms each) frees a slot.
for i in $(seq 1 600); do echo "$SLOW/x/r$i.png"; done | enqueue -q reserve -o "$T/reserve"
"$IMGPIPE" worker --burst -j 256 reserve >"$T/reserve.out" 2>"$T/reserve.err" &
RW=$!
most=$(most_held reserve "$RW" 200)
wait "$RW" || fail "the worker at -j 256 exited with $?: $(cat "$T/reserve.err")"
[ "$(ls "$T/reserve" | wc -l)" -eq 600 ] || fail "600 files: $(ls "$T/reserve" | wc -l)"
[ "$most" -ge 256 ] || fail "the test needs the first reads sampled: $most held at most"
[ "$most" -le 320 ] || fail "a worker at -j 256 held $most before its first job was done (256 + 32 + 32 at most)"
ok "a worker keeps up to 64 streamed jobs in flight by default (past 64 in a long queue, until the queues run empty), 16 with thumbnails, N with -j N"

# ---- a clean stop gives back what the worker read ahead -------------------------------------
# Entries read ahead of the free slots and not started are not left pending under the
# stopped worker's name (for a claim after --claim-after): they go back to the stream.
for i in $(seq 1 200); do echo "$SLOW/x/b$i.png"; done | enqueue -q giveback -o "$T/giveback"
"$IMGPIPE" worker -j 8 giveback >"$T/gb.out" 2>"$T/gb.err" &
GB=$!
BG_PIDS+=("$GB")
started() { [ "$(q_json giveback done)" -gt 0 ]; }
wait_until 30 "the worker to finish its first jobs" started
kill -TERM "$GB"
wait "$GB" || fail "the worker stopped with $?: $(cat "$T/gb.err")"
"$IMGPIPE" status --json giveback >"$T/gb.json"
[ "$(jq '.queues[0].in_progress' "$T/gb.json")" -eq 0 ] && [ "$(jq '.queues[0].held | length' "$T/gb.json")" -eq 0 ] ||
  fail "after a clean stop, nothing is held: $(jq -c '.queues[0]' "$T/gb.json")"
[ "$(jq '.queues[0].waiting + .queues[0].done' "$T/gb.json")" -eq 200 ] ||
  fail "every job is waiting or done: $(jq -c '.queues[0]' "$T/gb.json")"
burst giveback
[ "$(ls "$T/giveback" | wc -l)" -eq 200 ] && [ "$(q_json giveback done)" -eq 200 ] ||
  fail "200 done after the stop: $(ls "$T/giveback" | wc -l) files, $("$IMGPIPE" status giveback)"
ok "a worker stopped cleanly holds nothing: the jobs it read ahead wait for the next worker"

# ---- a worker behind on its CPU work does not take the whole queue ----------------------
# Jobs waiting for the CPU pool hold no transfer slot, so a worker can have more in hand
# than -j and its reserve; then it reads one entry per free slot, not a negative COUNT
# (no limit to Redis: the whole stream, pending under one name). A slow disk (every rename
# 40 ms late, tests/tools/plant_shim.c) puts the pool behind; two queues: no read-ahead,
# every read counts what it wants.
: "${BUILD_DIR:?set BUILD_DIR to the build directory}"
SHIM="$BUILD_DIR/tests/libplant_shim.so"
[ -f "$SHIM" ] || fail "no $SHIM (built by tests/CMakeLists.txt)"
for i in $(seq 1 120); do echo "$BASE/x/w$i.png"; done | enqueue -q wide -o "$T/wide"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" LD_PRELOAD="$SHIM" PLANT_DELAY_MS=40 \
  timeout 120 "$IMGPIPE" worker --burst -j 4 wide wide2 >"$T/wide.out" 2>"$T/wide.err" &
WP=$!
most=$(most_held wide "$WP")
wait "$WP" || fail "the worker with a slow disk exited with $?: $(cat "$T/wide.err")"
[ "$(ls "$T/wide" | wc -l)" -eq 120 ] || fail "120 files: $(ls "$T/wide" | wc -l)"
[ "$most" -gt 6 ] || fail "the test needs the pool behind (more than 4 + 2 held at once): $most"
[ "$most" -le 11 ] || fail "a worker at -j 4 held $most of 120 jobs at once (2 x 4 slots, 2 in reserve, 1 read)"
ok "a worker whose CPU work is behind holds its slots and its reserve, not the queue"
