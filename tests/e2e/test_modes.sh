# Every mode gives the same files and the same exit status; deadlines and read timeouts stop
# transfers without leaving partial files; a long list streams in bounded memory.
source "$TESTLIB"
start_galleryd --count 16

modes="seq threads procs async"
{ IMGUR_API_URL=$BASE "$IMGPIPE" links -q; echo "$BASE/i/missing.jpg"; } >"$T/list.txt"
for m in $modes; do
  run_imgpipe get -m "$m" -j 4 -o "$T/$m" --thumb 48x48 "$T/list.txt"
  expect_rc 1 "mode $m with a 404 among 16 images"
  expect_err "$BASE/i/missing.jpg: server answered HTTP 404" "mode $m names the failure"
  [ "$(ls "$T/$m" | wc -l)" -eq 32 ] || fail "mode $m: 16 images and 16 thumbnails, got $(ls "$T/$m" | wc -l)"
done
for m in $modes; do
  [ "$m" = seq ] && continue
  diff -r -x .imgpipe "$T/seq" "$T/$m" >/dev/null || fail "mode $m gives other files than seq"
done
ok "seq, threads and async give identical files and exit status"

run_imgpipe get --thumb 48x48 -o "$T/default" "$T/list.txt"
diff -r -x .imgpipe "$T/seq" "$T/default" >/dev/null || fail "the default mode gives the same files"

# A deadline for the whole run: slow responses are cut, nothing partial is left. The
# server takes 8 s per answer, so a run that ignored --timeout 1 would take 8 s or more;
# the 6 s limit leaves a loaded machine (or a sanitizer's start-up) its seconds.
start_galleryd --count 4 --latency-ms 8000
for i in $(seq 1 6); do echo "$BASE/i/img0000.jpg?n=$i"; done >"$T/slow.txt"
for m in $modes; do
  start=$(date +%s%N)
  run_imgpipe get -m "$m" -j 3 -o "$T/deadline-$m" --timeout 1 "$T/slow.txt"
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  expect_rc 1 "mode $m past its deadline"
  expect_err "deadline" "mode $m says the deadline passed"
  [ "$(grep -c 'FAILED' "$T/err")" -eq 6 ] || fail "mode $m: all 6 links are reported as timed out"
  [ "$took" -lt 6000 ] || fail "mode $m: --timeout 1 took $took ms"
  [ -z "$(files_in "$T/deadline-$m")" ] || fail "mode $m left files: $(files_in "$T/deadline-$m")"
done
ok "--timeout stops every mode on time, with nothing left behind"

# A server that sends nothing: --read-timeout aborts the transfer.
for m in $modes; do
  start=$(date +%s%N)
  run_imgpipe get -m "$m" -o "$T/stall-$m" --retries 0 --read-timeout 1 "$BASE/i/img0001.jpg"
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  expect_rc 1 "mode $m with a stalled server"
  expect_err "timed out" "mode $m says the transfer timed out"
  [ "$took" -lt 6000 ] || fail "mode $m: --read-timeout 1 took $took ms"
done
ok "--read-timeout aborts stalled transfers"

# procs: a worker killed mid-transfer fails its one task; the others are still done. The
# server answers after 4 s: a worker is killed once it exists and has had its task sent
# (at once, on a loaded machine within the half second), long before its answer.
start_galleryd --count 4 --latency-ms 4000
"$IMGPIPE" links -q >"$T/four.txt"
RC=0
"$IMGPIPE" get -m procs -j 2 -o "$T/killed" "$T/four.txt" >"$T/out" 2>"$T/err" &
pid=$!
has_worker() { pgrep -P "$pid" >/dev/null; }
for i in $(seq 1 200); do has_worker && break; sleep 0.1; done
has_worker || fail "procs mode has no worker processes after 20 s"
sleep 0.5
victim=$(pgrep -P "$pid" | head -1)
kill -9 "$victim"
wait "$pid" || RC=$?
expect_rc 1 "procs with a killed worker"
expect_err "died (signal 9)" "the killed worker's task fails with the reason"
[ "$(grep -c FAILED "$T/err")" -eq 1 ] || fail "only the killed worker's task fails: $(cat "$T/err")"
[ "$(ls "$T/killed" | wc -l)" -eq 3 ] || fail "the 3 other images are done: $(ls "$T/killed")"
ok "a killed procs worker fails only its own task"

# Streaming: 300,000 links (not http, so each fails at once) in memory bounded by the
# concurrency, not by the length of the list.
maxrss() {
  python3 -c 'import resource,subprocess,sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}
seq 1 30000 | sed 's|.*|ftp://127.0.0.1/&.jpg|' >"$T/short.txt"
seq 1 300000 | sed 's|.*|ftp://127.0.0.1/&.jpg|' >"$T/long.txt"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"  # freed memory reused, as without ASan
small=$(maxrss "$IMGPIPE" get -q -o "$T/stream" "$T/short.txt")
large=$(maxrss "$IMGPIPE" get -q -o "$T/stream" "$T/long.txt")
if [ "${TSAN:-OFF}" = ON ]; then
  # ThreadSanitizer's own bookkeeping grows with the work done; the other stages measure.
  ok "a 300,000-link list streams (peak not compared under ThreadSanitizer: $small KB vs $large KB)"
else
  [ $((large - small)) -lt 16384 ] || fail "300k links took $large KB, 30k took $small KB: memory grows with the list"
  ok "a 300,000-link list streams ($small KB vs $large KB peak)"
fi

# --rate spaces the starts past the deadline: a link whose turn comes after it is not
# fetched (it fails as timed out), and the run ends by the deadline, in every mode. At 1
# request/s for 10 links, --timeout 2.5 leaves room for 3; without the deadline's say in
# the waits, threads and procs fetched all 10 in 9 s, and seq sent one after the deadline.
start_galleryd --count 2 --log
for m in $modes; do
  for i in $(seq 1 10); do echo "$BASE/x/r-$m-$i.png"; done >"$T/rated.txt"
  start=$(date +%s%N)
  run_imgpipe get -m "$m" --rate 1 --timeout 2.5 -o "$T/rated-$m" "$T/rated.txt"
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  expect_rc 1 "mode $m: --rate 1 past --timeout 2.5"
  sent=$(grep -c "GET /x/r-$m-" "$T/galleryd.log" || true)
  [ "$sent" -ge 2 ] && [ "$sent" -le 3 ] || fail "mode $m: $sent requests in 2.5 s at 1/s"
  [ "$(files_in "$T/rated-$m" | wc -l)" -eq "$sent" ] || fail "mode $m: a file per request sent"
  [ "$(grep -c 'FAILED.*deadline' "$T/err")" -eq $((10 - sent)) ] ||
    fail "mode $m: the $((10 - sent)) links not sent fail as timed out: $(cat "$T/err")"
  [ "$took" -lt 4500 ] || fail "mode $m: --rate 1 --timeout 2.5 took $took ms"
done
ok "--rate and --timeout together: no start past the deadline, in every mode"

# The API's answer is part of the run: --timeout bounds it (the run took the API's 6 s and
# then its own deadline), and --read-timeout and --connect-timeout apply to it as to a
# download (it kept libcurl's 30 s and the library's 3 s).
start_galleryd --count 2 --latency-ms 6000
for opt in "--timeout 1" "--read-timeout 1"; do
  start=$(date +%s%N)
  # shellcheck disable=SC2086 # the option and its value are two words
  run_imgpipe get $opt --retries 0 -o "$T/api-slow" imgur:random
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  expect_rc 1 "$opt against an API answering in 6 s"
  expect_err "Imgur API request .* failed: timed out" "$opt: the API request timed out"
  [ "$took" -lt 4500 ] || fail "$opt: the API request took $took ms"
done
ok "--timeout and --read-timeout bound the API request too"

# A list on a pipe is read as its writer writes it: the first link is fetched at once (the
# async loop waited for 16 lines or the end), and --timeout ends the run while the next
# line is still unwritten (every mode waited in the read), in every mode.
start_galleryd --count 2
for m in $modes; do
  mkfifo "$T/links-$m"
  (echo "$BASE/i/img0000.jpg"; sleep 6; echo "$BASE/i/img0001.jpg") >"$T/links-$m" &
  writer=$!
  start=$(date +%s%N)
  run_imgpipe get -m "$m" --timeout 2 -o "$T/pipe-$m" "$T/links-$m"
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  kill "$writer" 2>/dev/null || true
  wait "$writer" 2>/dev/null || true
  # the links still to be written were never tried: said so, exit 1 (it was a quiet 0)
  expect_rc 1 "mode $m: a list on a pipe, cut by --timeout"
  expect_err "the deadline passed before the links were all read from '$T/links-$m'" "mode $m: pipe cut by --timeout"
  [ -f "$T/pipe-$m/img0000.jpg" ] || fail "mode $m: the first link written was not fetched"
  [ ! -e "$T/pipe-$m/img0001.jpg" ] || fail "mode $m: the run waited for a line after its deadline"
  [ "$took" -lt 4500 ] || fail "mode $m: --timeout 2 with a slow writer took $took ms"
done
ok "a list on a pipe: links fetched as written, the deadline holds while the writer is slow"
