# The queue against crashes and hand-written state: a worker killed mid-write leaves no
# temporary file for good, an outcome Redis cannot take whole does not lose its job, a
# scheduled retry edited by hand neither stops the others nor vanishes, an enqueue killed
# half-way counts what it queued, and status --url shows no password.
source "$TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/redis.sh"

RPORT=$(free_port)
export IMGPIPE_REDIS_URL="redis://127.0.0.1:$RPORT"
start_redis
start_galleryd --count 4
rcli() { redis-cli -p "$RPORT" "$@"; }

# ---- a worker killed with a temporary file open -----------------------------------------
# galleryd drips the image a byte a second: the worker has its temporary file open when it
# is killed. No one will ever rename it; the next worker of this host to open the
# directory removes it (get does the same at its start).
echo "$BASE/f/drip/k1/img0001.jpg" >"$T/drip.txt"
run_imgpipe enqueue -Q drip -o "$T/out1" "$T/drip.txt"
expect_rc 0 "enqueue of the dripping job"
"$IMGPIPE" worker --claim-after 60 --name dripper drip >"$T/dripper.out" 2>"$T/dripper.err" &
DRIPPER=$!
BG_PIDS+=("$DRIPPER")
has_part() { ls -A "$T/out1" 2>/dev/null | grep -q '^\.imgpipe-.*\.part$'; }
wait_until 20 "the worker's temporary file" has_part
kill -9 "$DRIPPER"
wait "$DRIPPER" 2>/dev/null || true
has_part || fail "the temporary file went with the worker: nothing to test"
"$IMGPIPE" status --json drip | jq -e '.queues[0].held | any(.worker == "dripper")' >/dev/null ||
  fail "status does not show the killed worker's job as held: $("$IMGPIPE" status drip)"
echo "$BASE/x/next.png" >"$T/next.txt"
run_imgpipe enqueue -Q next -o "$T/out1" "$T/next.txt"
expect_rc 0 "enqueue of a job for the same directory"
run_imgpipe worker --burst --name next1 next
expect_rc 0 "the next worker in that directory"
[ -f "$T/out1/next.png" ] || fail "next.png not written: $(ls -A "$T/out1")"
! has_part || fail "the killed worker's temporary file is still there: $(ls -A "$T/out1")"
ok "a worker killed mid-download: its temporary file is removed by the next worker there"

# ---- an outcome Redis cannot take whole --------------------------------------------------
# An entry written by hand with 5000 extra fields fails (404): its failure (the entry's
# fields and the reason) is more than Lua's unpack takes. The script used to fail half-way,
# after the ack: the job was in no list, and the worker's resend was "refused".
python3 - "$RPORT" "$BASE" "$T/wide" <<'PY'
import socket, sys
port, base, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
def cmd(*args):
    b = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        b += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(b)
    line = f.readline()
    if line.startswith(b"$"):
        f.read(int(line[1:]) + 2)
    if line.startswith(b"-") and b"BUSYGROUP" not in line:
        sys.exit("redis: %s" % line)
cmd("XGROUP", "CREATE", "imgpipe:q:wide", "imgpipe", "0", "MKSTREAM")
wide = ["url", base + "/i/missing.jpg", "name", "missing.jpg", "dir", out, "attempt", "0"]
for i in range(5000):
    wide += ["x%d" % i, "v"]
cmd("XADD", "imgpipe:q:wide", "*", *wide)
cmd("XADD", "imgpipe:q:wide", "*", "url", base + "/x/fine.png", "name", "fine.png", "dir", out,
    "attempt", "0")
PY
RC=0
timeout 60 "$IMGPIPE" worker --burst --name wide1 wide >"$T/out" 2>"$T/err" || RC=$?
expect_rc 0 "a burst worker on an entry of 5000 fields"
! grep -q "refused" "$T/err" || fail "the worker says its outcome was refused: $(cat "$T/err")"
"$IMGPIPE" status --json wide >"$T/wide.json"
jq -e '.queues[0] | .failed == 1 and .done == 1 and .refused == 0 and .waiting == 0 and
  .in_progress == 0' "$T/wide.json" >/dev/null || fail "status: $(jq -c '.queues[0]' "$T/wide.json")"
jq -e --arg u "$BASE/i/missing.jpg" '.queues[0].failures[0] | .url == $u and
  (.error | test("HTTP 404"))' "$T/wide.json" >/dev/null ||
  fail "the failure and its reason: $(jq -c '.queues[0].failures' "$T/wide.json")"
"$IMGPIPE" status --url "$BASE/i/missing.jpg" wide | grep -q "is failed" ||
  fail "status --url: $("$IMGPIPE" status --url "$BASE/i/missing.jpg" wide)"
[ -f "$T/wide/fine.png" ] || fail "the other job's file"
ok "a failure too wide for one Redis call is recorded with its reason: no job lost, no false refusal"

# ---- a failed list that is not a stream ----------------------------------------------------
# A key of another type under the failed list's name (set by hand): the outcome script used
# to ack the job, then fail on XADD: the job was gone. Now nothing is written, the worker
# says why and keeps the outcomes, backing off (without running the job again), and
# records them once the key is fixed.
printf '%s\n' "$BASE/i/missing.jpg" "$BASE/x/kept.png" >"$T/kept.txt"
run_imgpipe enqueue -Q kept -o "$T/kept" "$T/kept.txt"
expect_rc 0 "enqueue of two jobs"
rcli SET imgpipe:q:kept:failed not-a-stream >/dev/null
"$IMGPIPE" worker --burst --name kept1 kept >"$T/kept.out" 2>"$T/kept.err" &
KEPT=$!
BG_PIDS+=("$KEPT")
said() { grep -q "imgpipe:q:kept:failed is a string, not a stream" "$T/kept.err"; }
wait_until 20 "the worker to say why it cannot record" said
sleep 1
[ "$(q_field kept in_progress)" -eq 2 ] || fail "the jobs are not held while unrecorded: $("$IMGPIPE" status kept)"
rcli DEL imgpipe:q:kept:failed >/dev/null
RC=0
wait "$KEPT" || RC=$?
expect_rc 0 "the burst worker once the key is fixed"
[ "$(grep -c FAILED "$T/kept.err")" -eq 1 ] || fail "the job ran more than once: $(cat "$T/kept.err")"
"$IMGPIPE" status --json kept | jq -e '.queues[0] | .failed == 1 and .done == 1 and .in_progress == 0
  and .refused == 0' >/dev/null || fail "after the fix: $("$IMGPIPE" status kept)"
ok "a failed list of another type: the outcomes wait (said, not lost, not redone) until it is fixed"

# The same with a worker of two queues, the other one's outcome in the same MULTI (its job
# slower): that queue's script ran, so its outcome is not sent again with the refused one
# (it came back "refused", already acked, at every resend: its counter grew, and the worker
# said another had claimed its job).
FAST=$BASE
start_galleryd --count 4 --latency-ms 2000
echo "$BASE/x/slow.png" >"$T/slow.txt"
BASE=$FAST
run_imgpipe enqueue -Q other -o "$T/other" "$T/slow.txt"
expect_rc 0 "enqueue of the slow job"
echo "$BASE/i/missing.jpg" >"$T/missing.txt"
run_imgpipe enqueue -Q kept2 -o "$T/kept2" "$T/missing.txt"
expect_rc 0 "enqueue of the failing job"
rcli SET imgpipe:q:kept2:failed not-a-stream >/dev/null
"$IMGPIPE" worker --burst --name kept2w -Q other -Q kept2 >"$T/kept2.out" 2>"$T/kept2.err" &
KEPT=$!
BG_PIDS+=("$KEPT")
said2() { grep -q "imgpipe:q:kept2:failed is a string, not a stream" "$T/kept2.err"; }
wait_until 20 "the worker of two queues to say why it cannot record" said2
sleep 5
rcli DEL imgpipe:q:kept2:failed >/dev/null
RC=0
wait "$KEPT" || RC=$?
expect_rc 0 "the burst worker of two queues once the key is fixed"
! grep -q "outcomes refused" "$T/kept2.err" || fail "a false refusal: $(cat "$T/kept2.err")"
"$IMGPIPE" status --json other | jq -e '.queues[0] | .done == 1 and .refused == 0' >/dev/null ||
  fail "the other queue's outcome was sent again: $("$IMGPIPE" status other)"
"$IMGPIPE" status --json kept2 | jq -e '.queues[0] | .failed == 1 and .in_progress == 0' >/dev/null ||
  fail "the refused queue's outcome after the fix: $("$IMGPIPE" status kept2)"
ok "a worker of two queues, one refusing its outcomes: the other's are recorded once"

# ---- entries that cannot run, written by hand --------------------------------------------
# Each fails with its reason, and the worker reports it like any job: a FAILED line, a
# --json object, its count in the summary. A NUL byte in a field would cut the C string
# (a name "nul\0x.png" was written as "nul"): refused too.
python3 - "$RPORT" "$BASE" "$T/bad" <<'PY'
import socket, sys
port, base, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
def cmd(*args):
    b = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else a.encode()
        b += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(b)
    line = f.readline()
    if line.startswith(b"$"):
        f.read(int(line[1:]) + 2)
cmd("XGROUP", "CREATE", "imgpipe:q:bad", "imgpipe", "0", "MKSTREAM")
for name in ("../up.png", out + "/abs.png", b"nul\x00x.png"):
    cmd("XADD", "imgpipe:q:bad", "*", "url", base + "/x/p.png", "name", name, "dir", out, "attempt", "0")
cmd("XADD", "imgpipe:q:bad", "*", "url", base + "/x/fine.png", "name", "fine.png", "dir", out,
    "attempt", "0")
PY
RC=0
timeout 60 "$IMGPIPE" worker --burst --json --name bad1 bad >"$T/out" 2>"$T/err" || RC=$?
expect_rc 0 "a burst worker on entries that cannot run"
[ "$(jq -s '[.[] | select(.status == "failed")] | length' "$T/out")" -eq 3 ] &&
  [ "$(jq -s '[.[] | select(.status == "ok")] | length' "$T/out")" -eq 1 ] ||
  fail "--json: one object per job: $(cat "$T/out")"
expect_err "worker done: 1 jobs done (748 bytes), 3 failed" "the summary counts the refused entries"
[ "$(ls -A "$T/bad")" = fine.png ] && [ ! -e "$T/up.png" ] || fail "files: $(ls -A "$T/bad" "$T")"
"$IMGPIPE" status --json bad >"$T/bad.json"
jq -e '.queues[0] | .failed == 3 and .done == 1 and .in_progress == 0' "$T/bad.json" >/dev/null ||
  fail "status: $(jq -c '.queues[0]' "$T/bad.json")"
for why in "unsafe file name '../up.png'" "unsafe file name '$T/bad/abs.png'" "a field holds a NUL byte"; do
  jq -e --arg w "$why" 'any(.queues[0].failures[]; .error | contains($w))' "$T/bad.json" >/dev/null ||
    fail "no failure '$why': $(jq -c '.queues[0].failures' "$T/bad.json")"
done
ok "entries that cannot run fail with their reason, and the worker reports and counts each"

# ---- a short --claim-after does not make live workers claim each other's jobs --------------
# The heartbeat is refreshed every 100 ms at least; with a TTL of claim-after below that
# (0.05 s is accepted) it lapsed between beats, and two live workers took each other's
# jobs: downloads twice over, refused outcomes, jobs "abandoned" with no worker dead.
KEEP=$BASE
: >"$T/galleryd.log"
start_galleryd --count 2 --latency-ms 1000 --log
SLOW=$BASE
BASE=$KEEP
for i in $(seq 1 8); do echo "$SLOW/x/short$i.png"; done >"$T/short.txt"
run_imgpipe enqueue -Q short -o "$T/short" "$T/short.txt"
expect_rc 0 "enqueue of 8 slow jobs"
pids=()
for w in 1 2; do
  "$IMGPIPE" worker --burst -j 2 --claim-after 0.05 --name "short$w" short >"$T/short$w.out" 2>"$T/short$w.err" &
  pids+=($!)
  BG_PIDS+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a worker exited $?: $(cat "$T"/short*.err)"; done
"$IMGPIPE" status --json short | jq -e '.queues[0] | .done == 8 and .failed == 0 and .refused == 0' \
  >/dev/null || fail "status: $("$IMGPIPE" status short)"
[ "$(grep -c "GET /x/short" "$T/galleryd.log")" -eq 8 ] ||
  fail "8 jobs, $(grep -c "GET /x/short" "$T/galleryd.log") downloads: $(cat "$T"/short*.err)"
ok "two live workers with --claim-after 0.05 never claim each other's jobs: 8 jobs, 8 downloads"

# ---- scheduled retries edited by hand ------------------------------------------------------
# Members of :scheduled that are not retries as workers write them (docs/queue.md: "<old
# id>\n<fields as a JSON array>"): an odd count, not JSON, a field that is not text, an
# object. Each used to stop every due retry after it (the script failed on it, each 0.1 s)
# and a burst worker never ended. Now each goes to the failed list with the reason, and the
# good retry among them runs.
rcli XGROUP CREATE imgpipe:q:sched imgpipe 0 MKSTREAM >/dev/null
rcli ZADD imgpipe:q:sched:scheduled \
  0 $'1-0\n["url","'"$BASE"'/x/odd.png","name"]' \
  1 $'2-0\n["url","'"$BASE"'/x/good.png","name","good.png","dir","'"$T"'/sched","attempt","1"]' \
  2 $'3-0\nnot json' \
  3 $'4-0\n["url",{"a":1},"name","n.png","dir","'"$T"'/sched"]' \
  4 $'5-0\n{"url":"x"}' >/dev/null
RC=0
timeout 30 "$IMGPIPE" worker --burst --name sched1 sched >"$T/out" 2>"$T/err" || RC=$?
expect_rc 0 "a burst worker with hand-written scheduled retries (124: it never ended)"
[ -f "$T/sched/good.png" ] || fail "the good retry did not run: $(cat "$T/err")"
"$IMGPIPE" status --json sched >"$T/sched.json"
jq -e '.queues[0] | .done == 1 and .failed == 4 and .scheduled == 0' "$T/sched.json" >/dev/null ||
  fail "status: $(jq -c '.queues[0]' "$T/sched.json")"
[ "$(jq '[.queues[0].failures[] | select(.error | test("^unreadable scheduled retry: "))] | length' \
  "$T/sched.json")" -eq 4 ] || fail "the reasons: $(jq -c '.queues[0].failures' "$T/sched.json")"
"$IMGPIPE" status --url "$BASE/x/odd.png" sched | grep -q "is failed" ||
  fail "the odd member's URL: $("$IMGPIPE" status --url "$BASE/x/odd.png" sched)"
ok "scheduled retries edited by hand go to the failed list with the reason; the others run"

# ---- an enqueue killed half-way -------------------------------------------------------------
# Links come through a pipe held open: 1024 are queued (two pipelines of 512), then the
# enqueue is killed while it waits for more. The stats count each job with it.
mkfifo "$T/links.fifo"
"$IMGPIPE" enqueue -Q half -o "$T/half" - <"$T/links.fifo" >"$T/half.out" 2>"$T/half.err" &
ENQ=$!
BG_PIDS+=("$ENQ")
exec 7>"$T/links.fifo"
for i in $(seq 1 1024); do echo "$BASE/x/h$i.png"; done >&7
queued() { [ "$(rcli XLEN imgpipe:q:half)" -eq 1024 ]; }
wait_until 20 "1024 jobs queued" queued
kill -TERM "$ENQ"
wait "$ENQ" 2>/dev/null || true
exec 7>&-
[ "$(rcli HGET imgpipe:q:half:stats enqueued)" = 1024 ] ||
  fail "stats enqueued after a killed enqueue: '$(rcli HGET imgpipe:q:half:stats enqueued)', 1024 queued"
[ "$(q_field half waiting)" -eq 1024 ] || fail "waiting: $("$IMGPIPE" status half)"
for i in $(seq 1 1030); do echo "$BASE/x/h$i.png"; done >"$T/half.txt"
run_imgpipe enqueue -Q half -o "$T/half" "$T/half.txt"
expect_rc 0 "the enqueue run again"
grep -q "enqueued 6 jobs" "$T/out" && grep -q "skipped 1024 links" "$T/out" || fail "rerun: $(cat "$T/out")"
[ "$(rcli HGET imgpipe:q:half:stats enqueued)" = 1030 ] || fail "stats enqueued after the rerun"
ok "an enqueue killed half-way: what it queued is counted; a rerun queues the rest"

# ---- status --url of a link with a password ------------------------------------------------
U="http://bob:Url-pw-77@127.0.0.1:${BASE##*:}/x/pw.png"
echo "$U" >"$T/pw.txt"
run_imgpipe enqueue -Q pw -o "$T/pw" "$T/pw.txt"
expect_rc 0 "enqueue of a link with a password"
for args in "--url $U" "--json --url $U" "--url ${U}-unknown"; do
  RC=0
  # shellcheck disable=SC2086
  "$IMGPIPE" status $args >"$T/out" 2>"$T/err" || RC=$?
  ! grep -q "Url-pw-77" "$T/out" "$T/err" || fail "status $args shows the password: $(cat "$T/out")"
  grep -q "bob:\*\*\*@" "$T/out" || fail "status $args: $(cat "$T/out")"
done
"$IMGPIPE" status --url "$U" | grep -q "is waiting" || fail "status --url still finds the job"
ok "status --url finds a link with a password and shows it as user:***@"

# ---- a job run again whose thumbnail cannot be written ----------------------------------
# A queue job run twice (claimed after a stall, or enqueued again with --force) rewrites its
# image with the same bytes. When the second run's thumbnail cannot be written, the item
# fails, but the image the first run stored and recorded done stays: taking it back left a
# done job with no file.
echo "$BASE/i/img0000.jpg" >"$T/twice.txt"
topts=(-o "$T/tw" --thumb 2000x2000 --upscale --format png) # a thumbnail of ~1.7 MB
run_imgpipe enqueue -Q twice "${topts[@]}" "$T/twice.txt"
expect_rc 0 "enqueue of the job run twice"
run_imgpipe worker --burst --name tw1 twice
expect_rc 0 "the job's first run"
[ -f "$T/tw/img0000.jpg" ] && [ -f "$T/tw/img0000_thumbnail.jpg.png" ] || fail "first run: $(ls -A "$T/tw")"
run_imgpipe enqueue -Q twice --force "${topts[@]}" "$T/twice.txt"
expect_rc 0 "enqueue --force of the job again"
RC=0 # under a 300 KB file size limit: the image is rewritten, its thumbnail cannot be
(ulimit -f 300 && exec "$IMGPIPE" worker --burst --retries 0 --name tw2 twice) >"$T/out" 2>"$T/err" || RC=$?
expect_rc 0 "the job's second run, its thumbnail over the file size limit (a failed job)"
expect_err "File too large" "the job's second run"
[ -f "$T/tw/img0000.jpg" ] || fail "the second run's failed thumbnail took the first run's image back: $(ls -A "$T/tw")"
cmp -s "$T/tw/img0000.jpg" <(curl -sf "$BASE/i/img0000.jpg") || fail "img0000.jpg is not the served image"
ok "a job run twice whose thumbnail fails leaves the image the first run stored"

# ---- a password in -r is not on the command line ------------------------------------------
# ps and /proc/PID/cmdline show every process's arguments to every user of the host: a
# worker runs for days. The password is overwritten there; the worker still logs in with it.
stop_redis
start_redis --requirepass 'Argv-pw-91'
unset IMGPIPE_REDIS_URL
R="redis://:Argv-pw-91@127.0.0.1:$RPORT"
echo "$BASE/x/argv.png" >"$T/argv.txt"
run_imgpipe enqueue -r "$R" -Q argv -o "$T/argv" "$T/argv.txt"
expect_rc 0 "enqueue with a password in -r"
"$IMGPIPE" worker -r "$R" --name argv1 argv >"$T/argv.out" 2>"$T/argv.err" &
ARGV_W=$!
BG_PIDS+=("$ARGV_W")
wait_until 20 "the job done by the worker given -r with a password" test -f "$T/argv/argv.png"
tr '\0' ' ' <"/proc/$ARGV_W/cmdline" >"$T/cmdline"
! grep -q "Argv-pw-91" "$T/cmdline" || fail "the worker's command line shows the password: $(cat "$T/cmdline")"
grep -q -- "-r redis://:\*\*\*\*\*\*\*\*\*\*@127.0.0.1:$RPORT " "$T/cmdline" || fail "cmdline: $(cat "$T/cmdline")"
kill -TERM "$ARGV_W"
RC=0
wait "$ARGV_W" || RC=$?
expect_rc 0 "the worker after SIGTERM"
"$IMGPIPE" status -r "$R" argv | grep -q "1 done" || fail "status -r with a password: $("$IMGPIPE" status -r "$R" argv)"
ok "a password given with -r is overwritten on the command line; the worker logs in with it"

