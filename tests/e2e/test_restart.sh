# Restartable runs: the ledger in DIR/.imgpipe skips what is done, retries what failed;
# SIGINT/SIGTERM stop cleanly; after SIGKILL at any point the next run recovers; a disk
# error stops the run with the path.
source "$TESTLIB"
start_galleryd --count 20 --latency-ms 150
SLOW_FROM=$BASE
"$IMGPIPE" links -q >"$T/links.txt"
mkdir -p "$T/ref"
while read -r l; do fetch_reference "$l" "$T/ref/${l##*/}"; done <"$T/links.txt"

# check_dir DIR: every image of the gallery, byte-identical; no temporary file; every
# "done" line of the ledger names a file of the recorded size and SHA-256.
check_dir() {
  for f in "$T"/ref/*; do cmp -s "$f" "$1/${f##*/}" || fail "$1: ${f##*/} is missing or differs"; done
  [ -z "$(find "$1" -name '.imgpipe-*')" ] || fail "$1: temporary files left: $(find "$1" -name '.imgpipe-*')"
  check_dir_ledger "$1"
}
# check_dir_ledger DIR: the ledger's last line is whole; each "done" line names a file of
# the recorded size and SHA-256.
check_dir_ledger() {
  [ -z "$(tail -c 1 "$1/.imgpipe/ledger")" ] || fail "$1: the ledger ends in a torn line"
  while IFS=$'\t' read -r state bytes sha name _; do
    [ "$state" = done ] || continue
    [ "$(stat -c %s "$1/$name")" = "$bytes" ] || fail "$1: ledger size of $name is wrong"
    [ "$(sha256sum <"$1/$name" | cut -d' ' -f1)" = "$sha" ] || fail "$1: ledger sha256 of $name is wrong"
  done <"$1/.imgpipe/ledger"
}

run_imgpipe get -o "$T/a" "$T/links.txt"
expect_rc 0 "first run"
check_dir "$T/a"
run_imgpipe get -o "$T/a" "$T/links.txt"
expect_rc 0 "rerun"
expect_err "0 downloaded" "a rerun downloads nothing"
expect_err "20 already done" "a rerun skips all 20"
rm "$T/a/img0003.jpg" 2>/dev/null || rm "$T/a/$(ls "$T/a" | grep -v '^\.' | head -1)"
: >"$T/a/$(ls "$T/a" | grep -v '^\.' | tail -1)"  # a file cut to nothing is not done
run_imgpipe get -o "$T/a" "$T/links.txt"
expect_rc 0 "rerun after a removed and an emptied file"
expect_err "2 downloaded" "only the removed and the emptied file are fetched again"
check_dir "$T/a"
ok "reruns skip what is done and still there"

# --retry-failed runs only the ledger's failures; the sources are not read.
cp "$T/links.txt" "$T/with404.txt"
echo "$BASE/i/nope.jpg" >>"$T/with404.txt"
run_imgpipe get -o "$T/b" "$T/with404.txt"
expect_rc 1 "a run with a 404"
run_imgpipe get -o "$T/b" --retry-failed "$T/with404.txt"
expect_rc 1 "--retry-failed"
expect_err "FAILED $BASE/i/nope.jpg" "--retry-failed tries the failure again"
expect_err "0 downloaded" "--retry-failed fetches nothing else"
[ "$(grep -c FAILED "$T/err")" -eq 1 ] || fail "--retry-failed runs the one failure only"
ok "--retry-failed"

# SIGINT and SIGTERM: in-flight transfers end, nothing partial, exit 130 / 143. The signal
# is sent once the first file is in place (so the run is under way, its handlers set, on a
# machine of any load), from a server that takes 1 s per answer: 20 links, 3 at a time,
# are 7 s of work, so a run that ignored the signal would finish with 20 files.
start_galleryd --count 20 --latency-ms 1000
SLOW=$BASE
sed "s|^$SLOW_FROM|$SLOW|" "$T/links.txt" >"$T/slow.txt"
for sig in INT TERM; do
  RC=0
  "$IMGPIPE" get -j 3 -o "$T/sig-$sig" "$T/slow.txt" >"$T/out" 2>"$T/err" &
  pid=$!
  for i in $(seq 1 300); do
    [ -n "$(files_in "$T/sig-$sig" 2>/dev/null)" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$(files_in "$T/sig-$sig" 2>/dev/null)" ] || fail "SIG$sig: no file after 15 s: $(cat "$T/err")"
  kill -s "$sig" "$pid"
  wait "$pid" || RC=$?
  want=$([ $sig = INT ] && echo 130 || echo 143)
  expect_rc "$want" "SIG$sig"
  expect_err "interrupted" "SIG$sig says the run was interrupted"
  [ -z "$(find "$T/sig-$sig" -name '.imgpipe-*')" ] || fail "SIG$sig left temporary files"
  n=$(files_in "$T/sig-$sig" | wc -l)
  [ "$n" -lt 20 ] || fail "SIG$sig after the first file: the run should not have finished ($n files)"
  run_imgpipe get -o "$T/sig-$sig" "$T/slow.txt"
  expect_rc 0 "rerun after SIG$sig"
  check_dir "$T/sig-$sig"
done
ok "SIGINT and SIGTERM stop cleanly; the rerun completes"

# -m procs, the signal to the parent alone (kill PID, timeout, docker stop; a terminal's ^C
# reaches the whole group): its workers must be stopped too. A link that drips 1 byte/s
# keeps a worker busy for minutes unless it is, so the run must end within 10 s, and no
# worker may outlive the parent, even one killed with SIGKILL.
# stop_procs_run SIG DIR: a run with a done file and a dripping one, then SIG to its
# parent; sets RC and PID (its own process group, so pgrep -g finds its workers).
stop_procs_run() {
  RC=0
  setsid "$IMGPIPE" get -m procs -j 2 -o "$2" "$(head -1 "$T/slow.txt")" \
    "$SLOW/f/drip/procs-$1/drip.jpg" >"$T/out" 2>"$T/err" &
  PID=$!
  for i in $(seq 1 300); do
    [ -n "$(files_in "$2" 2>/dev/null | grep -v '/\.imgpipe-')" ] &&
      [ -n "$(find "$2" -name '.imgpipe-*.part' 2>/dev/null)" ] && break
    sleep 0.05
  done
  [ -n "$(find "$2" -name '.imgpipe-*.part')" ] || fail "procs SIG$1: the drip never started"
  kill -s "$1" "$PID"
  for i in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$PID" 2>/dev/null; then
    kill -9 -- "-$PID"
    fail "procs SIG$1 to the parent alone: still running 10 s later"
  fi
  wait "$PID" || RC=$?
  for i in $(seq 1 50); do pgrep -g "$PID" >/dev/null || break; sleep 0.1; done
  if pgrep -g "$PID" >/dev/null; then
    kill -9 -- "-$PID"
    fail "procs SIG$1 to the parent alone: a worker outlived it"
  fi
}
for sig in INT TERM; do
  d="$T/procs-$sig"
  stop_procs_run "$sig" "$d"
  expect_rc "$([ $sig = INT ] && echo 130 || echo 143)" "procs SIG$sig to the parent alone"
  expect_err "interrupted" "procs SIG$sig says the run was interrupted"
  [ -z "$(find "$d" -name '.imgpipe-*')" ] || fail "procs SIG$sig left temporary files"
  [ ! -e "$d/drip.jpg" ] || fail "procs SIG$sig: the interrupted drip left a file"
  [ "$(cut -f1,4 "$d/.imgpipe/ledger")" = "$(printf 'done\t%s' "$(head -1 "$T/links.txt" | sed 's|.*/||')")" ] ||
    fail "procs SIG$sig: the ledger should hold the done file only: $(cat "$d/.imgpipe/ledger")"
  check_dir_ledger "$d"
done
stop_procs_run KILL "$T/procs-KILL"
[ -z "$(find "$T/procs-KILL" -name '.imgpipe-*')" ] ||
  fail "a worker whose parent was killed left its temporary file"
ok "-m procs: SIGINT, SIGTERM or SIGKILL to the parent alone stops its workers"

# SIGKILL at seeded random points, in every mode: the next run recovers.
RANDOM=4242
for m in seq threads procs async; do
  for k in 1 2; do
    d="$T/kill-$m-$k"
    # A process group of its own: SIGKILL reaches procs' workers with the parent, even one
    # forked a moment before (killing the children by parent, then the parent, missed it),
    # and the rerun starts once none is left, not even as a zombie its sweep takes for alive.
    setsid "$IMGPIPE" get -m "$m" -j 4 -q -o "$d" "$T/links.txt" >/dev/null 2>&1 &
    pid=$!
    sleep "0.$((RANDOM % 9 + 1))"
    kill -9 -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do pgrep -g "$pid" >/dev/null || break; sleep 0.05; done
    pgrep -g "$pid" >/dev/null && fail "the killed run's processes did not go within 5 s"
    printf 'done\t123' >>"$d/.imgpipe/ledger" 2>/dev/null || true  # and a torn last line
    run_imgpipe get -m "$m" -o "$d" "$T/links.txt"
    expect_rc 0 "rerun after SIGKILL ($m, $k)"
    check_dir "$d"
  done
done
ok "after SIGKILL at random points (seed 4242), every mode's rerun recovers"

# A file over the size limit (ulimit -f: EFBIG, SIGXFSZ ignored) fails that file only:
# smaller ones still fit, so the run goes on and names the file and the reason.
RC=0
(ulimit -f 8 && exec "$IMGPIPE" get -m seq -o "$T/full" "$T/links.txt") >"$T/out" 2>"$T/err" || RC=$?
expect_rc 1 "files over the size limit"
expect_err "File too large" "the error says why"
nbig=$(grep -c FAILED "$T/err" || true)
[ "$nbig" -ge 1 ] || fail "some files are over 8 KiB: $(cat "$T/err")"
expect_err "$((20 - nbig)) downloaded" "every other file is downloaded"
[ -z "$(find "$T/full" -name '.imgpipe-*')" ] || fail "a write error leaves no temporary file"
ok "a file over the size limit fails that file; the run goes on"
