# The queue tried as a hostile user would (issue #11): a job whose file cannot be written, a
# directory deleted under a worker, a file over the size limit, Redis passwords (default
# and ACL users, percent-encoded) that must never be shown, entries without an attempt
# field, a second worker under a live worker's name, and a "Redis" that hangs up or answers
# in shapes no Redis uses.
source "$TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/redis.sh"
FAKE_REDIS="$(dirname "${BASH_SOURCE[0]}")/fake_redis.py"

RPORT=$(free_port)
export IMGPIPE_REDIS_URL="redis://127.0.0.1:$RPORT"
start_redis
start_galleryd --count 4

# ---- a job whose file cannot be written fails alone ----------------------------------
for i in 1 2 3 4 5; do echo "$BASE/x/d$i.png"; done >"$T/disk.txt"
run_imgpipe enqueue -q disk -o "$T/disk" "$T/disk.txt"
expect_rc 0 "enqueue of 5 jobs"
mkdir -p "$T/disk/d3.png/in-the-way"
"$IMGPIPE" worker -j 2 --name disk1 disk >"$T/disk1.out" 2>"$T/disk1.err" &
DISK1=$!
BG_PIDS+=("$DISK1")
settled() { [ "$(q_field disk done)" -eq "$1" ] && [ "$(q_field disk failed)" -eq "$2" ]; }
wait_until 20 "4 jobs done and 1 failed" settled 4 1
sleep 0.5
kill -0 "$DISK1" 2>/dev/null || fail "the worker ended on one job's unwritable file: $(cat "$T/disk1.err")"
why=$("$IMGPIPE" status --json disk | jq -r '.queues[0].failures[] | .url + " " + .error')
echo "$why" | grep -q "/x/d3.png .*d3.png.*Is a directory" || fail "the failure's reason: $why"
echo "$BASE/x/d6.png" >"$T/disk6.txt"
run_imgpipe enqueue -q disk -o "$T/disk" "$T/disk6.txt"
wait_until 10 "the job enqueued after the failure" settled 5 1
for i in 1 2 4 5 6; do cmp -s "$T/disk/d$i.png" <(curl -sf "$BASE/x/d$i.png") || fail "d$i.png"; done
ok "a directory in the way of one job's file: that job fails with its reason, the worker goes on"

# ---- the output directory deleted under the worker ends it, and the job is not lost ----
echo "$BASE/x/g1.png" >"$T/g1.txt"
run_imgpipe enqueue -q disk -o "$T/gone" "$T/g1.txt"
wait_until 10 "the first job into $T/gone" settled 6 1
rm -rf "$T/gone"
echo "$BASE/x/g2.png" >"$T/g2.txt"
run_imgpipe enqueue -q disk -o "$T/gone" "$T/g2.txt"
RC=0
timeout 20 tail --pid="$DISK1" -f /dev/null || fail "the worker went on writing into a deleted directory"
wait "$DISK1" || RC=$?
expect_rc 1 "a worker whose output directory cannot be written"
grep -q "output directory '$T/gone' cannot be written" "$T/disk1.err" || fail "the reason: $(cat "$T/disk1.err")"
[ "$(q_field disk failed)" -eq 1 ] || fail "the job of the deleted directory is not a failure: $("$IMGPIPE" status disk)"
run_imgpipe worker --burst --claim-after 1 --name disk2 disk
expect_rc 0 "another worker, after the first one stopped"
[ -f "$T/gone/g2.png" ] && [ "$(q_field disk done)" -eq 7 ] || fail "the held job was claimed and done: $("$IMGPIPE" status disk)"
ok "a deleted output directory stops the worker (exit 1, says which); its job is claimed by the next"

# ---- over the file size limit: one file fails (EFBIG), the small ones are written -------
"$IMGPIPE" links -q | head -1 >"$T/big.txt" # a gallery image: > 8 KB
echo "$BASE/x/s1.png" >>"$T/big.txt"        # 748 bytes
run_imgpipe enqueue -q big -o "$T/big" "$T/big.txt"
RC=0
(ulimit -f 8 && exec timeout 60 "$IMGPIPE" worker --burst --name big1 big) >"$T/out" 2>"$T/err" || RC=$?
expect_rc 0 "a burst worker with one file over its size limit"
expect_err "FAILED .*File too large" "the big file's reason"
[ -f "$T/big/s1.png" ] && [ "$(q_field big failed)" -eq 1 ] && [ "$(q_field big done)" -eq 1 ] ||
  fail "big: $("$IMGPIPE" status big)"
ok "a file over the size limit fails alone (EFBIG, not SIGXFSZ), the others are written"

# ---- entries without an attempt field, or a garbled one, end in the failed list ---------
gone="http://127.0.0.1:$(free_port)/gone.png" # connection refused: transient
redis-cli -p "$RPORT" XGROUP CREATE imgpipe:q:noatt imgpipe 0 MKSTREAM >/dev/null
redis-cli -p "$RPORT" XADD imgpipe:q:noatt '*' url "$gone?a" name a.png dir "$T/noatt" >/dev/null
redis-cli -p "$RPORT" XADD imgpipe:q:noatt '*' url "$gone?b" name b.png dir "$T/noatt" attempt x7 >/dev/null
redis-cli -p "$RPORT" XADD imgpipe:q:noatt '*' url "$gone?c" name c.png dir "$T/noatt" attempt -5 >/dev/null
redis-cli -p "$RPORT" XADD imgpipe:q:noatt '*' url "$gone?d" name d.png dir "$T/noatt" attempt 99999999999999999999 >/dev/null
RC=0
timeout 60 "$IMGPIPE" worker --burst --retries 2 noatt >"$T/out" 2>"$T/err" || RC=$?
expect_rc 0 "a burst worker on entries without a usable attempt field (124: it never ended)"
[ "$(q_field noatt failed)" -eq 4 ] && [ "$(q_field noatt waiting)" -eq 0 ] ||
  fail "noatt: $("$IMGPIPE" status noatt)"
[ "$(q_field noatt retried)" -eq 8 ] || fail "each was retried twice: $("$IMGPIPE" status noatt)"
[ "$(grep -c 'retrying .*gone.png?[abcd] (attempt [23] of 3)' "$T/err")" -eq 8 ] || fail "retries: $(cat "$T/err")"
ok "entries without an attempt field, or with a garbled one, count from 0 and end failed after --retries"

# A URL with control characters, written straight into Redis: the worker's lines about it
# stay one line each and send the terminal nothing (the bytes are shown as \xHH).
redis-cli -p "$RPORT" XADD imgpipe:q:ctl '*' url "$gone?e"$'\e[2J\n'"x" name e.png dir "$T/ctl" \
  attempt 0 >/dev/null
RC=0
timeout 60 "$IMGPIPE" worker --burst -v --retries 1 --retry-wait 0.01 ctl >"$T/out" 2>"$T/err" || RC=$?
expect_rc 0 "a burst worker on a URL with control characters"
grep -q 'gone.png?e\\x1b\[2J\\x0ax' "$T/err" || fail "the URL's control characters as \\xHH: $(cat -A "$T/err")"
! grep -q $'\e' "$T/err" || fail "an escape reached the worker's stderr: $(cat -A "$T/err")"
[ "$(grep -c '^x' "$T/err")" -eq 0 ] || fail "a line was split by the URL's newline: $(cat -A "$T/err")"
ok "a queue's URL with control characters is shown escaped, one line each"

# ---- a second worker under a live worker's name is refused -------------------------------
"$IMGPIPE" worker --name twin twinq >"$T/twin1.out" 2>"$T/twin1.err" &
TWIN=$!
BG_PIDS+=("$TWIN")
listed() { "$IMGPIPE" status twinq | grep -q "^  twin (host .*, pid $TWIN,"; }
wait_until 10 "the first worker named twin" listed
run_imgpipe worker --burst --name twin twinq
expect_rc 1 "a second worker named like a live one"
expect_err "worker name 'twin' is in use by a live worker (host .*, pid $TWIN," "the refusal"
kill -0 "$TWIN" || fail "the first twin died"
listed || fail "the first twin's heartbeat was taken over"
kill -TERM "$TWIN"
RC=0
wait "$TWIN" || RC=$?
expect_rc 0 "the first twin after SIGTERM"
run_imgpipe worker --burst --name twin twinq
expect_rc 0 "the name is free once its worker stopped"
ok "a live worker's name is refused with who holds it; free again once it stops"

# ---- text that is not UTF-8, or holds control characters, is shown, one entry a line --------
# A Latin-1 link that fails, a worker named in Latin-1, a failure with a newline and an
# escape sequence in it: each is listed (bad bytes as U+FFFD in JSON), and text output
# writes control characters as \xHH. A queue name that is not UTF-8 is refused.
printf '%s/i/caf\xe9.jpg\n' "$BASE" >"$T/latin1.txt" # galleryd answers 404
run_imgpipe enqueue -Q enc -o "$T/enc" "$T/latin1.txt"
expect_rc 0 "enqueue of a Latin-1 link"
run_imgpipe worker --burst --name encw enc
expect_rc 0 "the burst worker of the Latin-1 link"
redis-cli -p "$RPORT" XADD imgpipe:q:enc:failed '*' url $'http://h/a\nb\e[31m.png' \
  error $'bad\r\nthing' status x >/dev/null
"$IMGPIPE" worker --name $'w\xe9' enc >"$T/wl.out" 2>"$T/wl.err" &
WL=$!
BG_PIDS+=("$WL")
beating() { [ "$(redis-cli -p "$RPORT" EXISTS "imgpipe:w:$1")" = 1 ]; }
wait_until 10 "the worker named w\\xe9 to beat" beating $'w\xe9'
"$IMGPIPE" status --json enc >"$T/enc.json" || fail "status --json of non-UTF-8 text"
jq -e --arg u "$BASE/i/caf"$'\xef\xbf\xbd'".jpg" '.queues[0] | .failed == 2 and (.failures | length) == 2 and
  any(.failures[]; .url == $u and (.error | test("404")))' "$T/enc.json" >/dev/null ||
  fail "the Latin-1 failure in status --json: $(jq -c '.queues[0].failures' "$T/enc.json")"
jq -e '[.workers[].name] == ["w\ufffd"]' "$T/enc.json" >/dev/null ||
  fail "the worker named w\\xe9 in status --json: $(jq -c '.workers' "$T/enc.json")"
"$IMGPIPE" status enc >"$T/enc.txt" || fail "status of non-UTF-8 text"
grep -q "^    failed $BASE/i/caf"$'\xef\xbf\xbd'".jpg: .*404" "$T/enc.txt" &&
  grep -q -F '    failed http://h/a\x0ab\x1b[31m.png: bad\x0d\x0athing' "$T/enc.txt" &&
  grep -q "^  w"$'\xef\xbf\xbd'" (host " "$T/enc.txt" || fail "status: $(cat -A "$T/enc.txt")"
[ "$(wc -l <"$T/enc.txt")" -eq 5 ] && ! grep -q $'[\e\r]' "$T/enc.txt" ||
  fail "an entry spans lines or holds an escape: $(cat -A "$T/enc.txt")"
kill -TERM "$WL"
wait "$WL" || fail "the worker named w\\xe9 after SIGTERM: $(cat "$T/wl.err")"
run_imgpipe enqueue -Q $'q\xff' -o "$T/enc" "$T/latin1.txt"
expect_rc 2 "enqueue on a queue name that is not UTF-8"
expect_err "(1 to 128 bytes of UTF-8 text without control characters)" "the reason"
ok "links and worker names not in UTF-8 are listed; control characters escaped; such queue names refused"

# ---- one output directory, however DIR is spelled, has one name registry ------------------
# "-o ." from inside it, repeated slashes, "." segments and a trailing "/", ".." through a
# real directory: each spelling was a registry of its own, so a later URL got a name an
# earlier one had there, and the worker replaced the earlier URL's file. Five URLs ending
# in one name, each enqueued under another spelling of one directory.
SP=$(realpath "$T")/spell # "-o ." is the working directory as getcwd has it: no links
mkdir -p "$SP/sub"
spelled=("$SP" . "/$(dirname "$SP")//spell" "$SP/./" ..)
from=("$T" "$SP" "$T" "$T" "$SP/sub")
for i in 0 1 2 3 4; do
  url="$BASE/x/s$i/img0002.jpg"
  [ "$i" -eq 0 ] && url="$BASE/i/img0002.jpg"
  fetch_reference "$url" "$T/spell-ref$i"
  RC=0
  (cd "${from[$i]}" && echo "$url" | timeout 60 "$IMGPIPE" enqueue -q spell -o "${spelled[$i]}" -) \
    >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 0 "enqueue -o ${spelled[$i]} from ${from[$i]}"
done
keys=$(redis-cli -p "$RPORT" --scan --pattern 'imgpipe:names:*spell*')
[ "$keys" = "imgpipe:names:$SP" ] || fail "one registry for $SP, got: $keys"
dirs=$(redis-cli -p "$RPORT" --raw XRANGE imgpipe:q:spell - + | grep -x -A1 dir | grep -vx -e dir -e -- | sort -u)
[ "$dirs" = "$SP" ] || fail "every job's dir is $SP, got: $dirs"
names=()
for i in 1 2 3 4; do # a waiting job's name (a done one's entry is gone)
  names[i]=$("$IMGPIPE" status --json --url "$BASE/x/s$i/img0002.jpg" spell | jq -r '.jobs[0].name')
  [[ "${names[i]}" =~ ^img0002-[0-9a-f]+\.jpg$ ]] ||
    fail "URL $i, spelled ${spelled[$i]}: named ${names[i]}, not img0002-<hash>.jpg"
done
run_imgpipe worker --burst spell
expect_rc 0 "the worker of the five spellings"
cmp -s "$SP/img0002.jpg" "$T/spell-ref0" || fail "img0002.jpg was replaced by another URL's"
for i in 1 2 3 4; do cmp -s "$SP/${names[i]}" "$T/spell-ref$i" || fail "${names[i]} is not URL $i's"; done
[ "$(ls "$SP" | grep -c '^img0002')" -eq 5 ] || fail "five files, one per URL: $(ls "$SP")"
# A ".." that cannot be checked here (a symbolic link, a path missing on this host) would
# give a registry of its own, right or wrong: refused.
ln -s "$SP/sub" "$T/spell-link"
for dir in "$T/spell-link/../spell" "$T/nowhere/../spell"; do
  RC=0
  echo "$BASE/x/s9/img0002.jpg" | timeout 60 "$IMGPIPE" enqueue -q spell -o "$dir" - >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 2 "enqueue -o $dir"
  expect_err "give DIR without '..'" "enqueue -o $dir says why"
done
ok "one output directory under five spellings: one registry, one dir, img0002-<hash> names, no file replaced"

# ---- passwords: never shown, ACL users, percent-encoding -----------------------------------
stop_redis
start_redis --requirepass 'Def4ult-pw' --user alice on '>p@ss:w/rd%x' '~*' '&*' '+@all'
secrets='Def4ult-pw|p@ss:w/rd|p%40ss|Wr0ng-pw'
no_secret() { # no_secret FILE...: none of the passwords (or their encodings) appear
  ! grep -E -q -- "$secrets" "$@" || fail "a password is shown: $(grep -E -- "$secrets" "$@")"
}
export IMGPIPE_REDIS_URL="redis://:Wr0ng-pw@127.0.0.1:$RPORT"
for cmd in "status" "enqueue $T/g1.txt" "worker --burst" "requeue-failed"; do
  run_imgpipe $cmd
  expect_rc 1 "$cmd with a wrong password"
  expect_err "Redis at redis://:\*\*\*@127.0.0.1:$RPORT refused AUTH" "$cmd: the refusal, redacted"
  no_secret "$T/out" "$T/err"
done
run_imgpipe status -r "redis://alice:Wr0ng-pw@127.0.0.1:$RPORT/x"
expect_rc 1 "a bad URL"
expect_err "bad Redis URL 'redis://alice:\*\*\*@127.0.0.1:$RPORT/x'" "the bad URL, redacted"
no_secret "$T/err"
ok "a wrong password: exit 1, the URL shown as redis://:***@..., no password in stderr"

export IMGPIPE_REDIS_URL="redis://alice:p%40ss%3Aw%2Frd%25x@127.0.0.1:$RPORT"
printf '%s\n' "$BASE/x/acl1.png" "$BASE/x/acl2.png" >"$T/acl.txt"
run_imgpipe enqueue -q acl -o "$T/acl" "$T/acl.txt"
expect_rc 0 "enqueue as an ACL user with a percent-encoded password"
"$IMGPIPE" worker -j 2 --name acl1 acl >"$T/acl1.out" 2>"$T/acl1.err" &
ACL1=$!
BG_PIDS+=("$ACL1")
acl_done() { [ "$(q_field acl done)" -eq "$1" ]; }
wait_until 10 "2 jobs done as alice" acl_done 2
stop_redis # the worker says Redis went and came back: without the password
start_redis --requirepass 'Def4ult-pw' --user alice on '>p@ss:w/rd%x' '~*' '&*' '+@all'
echo "$BASE/x/acl3.png" >"$T/acl3.txt"
run_imgpipe enqueue -q acl -o "$T/acl" "$T/acl3.txt"
wait_until 15 "a job after the restart" acl_done 1
"$IMGPIPE" status --json acl >"$T/acl.json"
kill -TERM "$ACL1"
RC=0
wait "$ACL1" || RC=$?
expect_rc 0 "the ACL worker after SIGTERM"
grep -q "lost Redis" "$T/acl1.err" && grep -q "Redis at redis://alice:\*\*\*@127.0.0.1:$RPORT is back" "$T/acl1.err" ||
  fail "the worker's notices: $(cat "$T/acl1.err")"
[ -f "$T/acl/acl1.png" ] && [ -f "$T/acl/acl3.png" ] || fail "the ACL worker's files: $(ls "$T/acl")"
no_secret "$T/acl1.err" "$T/acl1.out" "$T/acl.json" "$T/out" "$T/err"
redis-cli -p "$RPORT" --user alice --pass 'p@ss:w/rd%x' --no-auth-warning --scan >"$T/keys"
while read -r k; do
  redis-cli -p "$RPORT" --user alice --pass 'p@ss:w/rd%x' --no-auth-warning DUMP "$k"
done <"$T/keys" >"$T/dump"
no_secret "$T/dump"
ok "an ACL user with a percent-encoded password: works, and no password in stderr, --json or Redis"

# ---- a Redis that hangs up, or answers in wrong shapes ----------------------------------------
start_fake() { # start_fake MODE: sets FAKE_URL
  local pf="$T/fake.$1.port"
  python3 "$FAKE_REDIS" --mode "$1" --port-file "$pf" 2>>"$T/fake.log" &
  BG_PIDS+=($!)
  wait_until 10 "the fake Redis ($1)" test -s "$pf"
  FAKE_URL="redis://127.0.0.1:$(cat "$pf")"
}
no_crash() { # no_crash FILE: no sanitizer report, no crash
  ! grep -q -E "AddressSanitizer|runtime error|Segmentation" "$1" || fail "crashed: $(head -30 "$1")"
}

start_fake hangup
"$IMGPIPE" worker -r "$FAKE_URL" --name hang >"$T/hang.out" 2>"$T/hang.err" &
HANG=$!
BG_PIDS+=("$HANG")
sleep 2
kill -0 "$HANG" 2>/dev/null || { RC=0; wait "$HANG" || RC=$?; fail "the worker died (status $RC; 141 is SIGPIPE): $(cat "$T/hang.err")"; }
kill -TERM "$HANG"
RC=0
wait "$HANG" || RC=$?
expect_rc 0 "the worker of a Redis that hangs up, after SIGTERM"
grep -q "lost Redis" "$T/hang.err" || fail "the worker says it lost Redis: $(cat "$T/hang.err")"
ok "a Redis that closes the socket: the worker reconnects with backoff, no SIGPIPE"

start_fake shapes
"$IMGPIPE" worker -r "$FAKE_URL" --name shapes --claim-after 0.1 >"$T/shapes.out" 2>"$T/shapes.err" &
SHAPES=$!
BG_PIDS+=("$SHAPES")
sleep 3
kill -0 "$SHAPES" 2>/dev/null || { RC=0; wait "$SHAPES" || RC=$?; fail "the worker died (status $RC): $(cat "$T/shapes.err")"; }
kill -TERM "$SHAPES"
RC=0
wait "$SHAPES" || RC=$?
expect_rc 0 "the worker of a Redis of wrong shapes, after SIGTERM"
grep -q "lost Redis: Redis answered .* with a reply of an unexpected shape" "$T/shapes.err" ||
  fail "the worker says what was wrong: $(cat "$T/shapes.err")"
no_crash "$T/shapes.err"
for i in 1 2 3; do
  run_imgpipe status -r "$FAKE_URL" --json
  [ "$RC" -le 1 ] || fail "status on wrong shapes exited $RC: $(head -30 "$T/err")"
  no_crash "$T/err"
done
ok "replies of wrong shapes: the worker says so and carries on, status does not crash"
