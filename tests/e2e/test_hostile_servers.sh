# Downloads against servers that misbehave on purpose (tests/tools/hostile_http.py, raw
# sockets on loopback) and URL lists that are not what a list should be: error answers
# with endless or huge bodies, links longer than a server takes, lines without an end or
# with NUL bytes, a list on a pipe whose writer is slow.
source "$TESTLIB"
TOOLS="$(cd "$(dirname "$TESTLIB")/../tools" && pwd)"

python3 "$TOOLS/hostile_http.py" "$T/hostile.ports" "$T/hostile.log" 2>>"$T/hostile.err" &
BG_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$T/hostile.ports" ] && break; sleep 0.1; done
[ -s "$T/hostile.ports" ] || fail "the hostile server did not start: $(cat "$T/hostile.err")"
read -r P1 P2 <"$T/hostile.ports"
H="http://127.0.0.1:$P1"

# maxrss_kb CMD...: runs CMD, prints its peak resident set in KB (its exit status ignored).
maxrss_kb() {
  python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

# --- error answers: their status is the reason, whatever their body -----------------------
# An error page is read only as far as its reason needs: an endless one is a 404, not "larger
# than the size limit" (a permanent failure of another kind), and a 503 announcing 200 MiB is
# still a 503, retried; a 2xx announcing more than --max-bytes still ends before its body.
for m in seq threads procs async; do
  run_imgpipe get -m "$m" -o "$T/err-$m" --retries 1 --retry-wait 0.1 --json \
    "$H/errbody?code=404&m=$m" "$H/errbody?code=503&cl=209715200&m=$m" "$H/endlesscl?m=$m"
  expect_rc 1 "mode $m: error answers with endless bodies"
  e404=$(jq -r "select(.url == \"$H/errbody?code=404&m=$m\") | \"\(.error) \(.attempts)\"" "$T/out")
  [ "$e404" = "server answered HTTP 404 1" ] || fail "mode $m: an endless 404 page: $e404"
  e503=$(jq -r "select(.url == \"$H/errbody?code=503&cl=209715200&m=$m\") | \"\(.error) \(.attempts)\"" "$T/out")
  [ "$e503" = "server answered HTTP 503 2" ] || fail "mode $m: a 503 announcing 200 MiB: $e503"
  ebig=$(jq -r "select(.url == \"$H/endlesscl?m=$m\") | \"\(.error) \(.attempts)\"" "$T/out")
  [ "$ebig" = "larger than the size limit of 52428800 bytes 1" ] ||
    fail "mode $m: a 200 announcing 200 MiB: $ebig"
done
ok "error answers are reported by their status (404 at once, 503 retried), whatever their body"

# A body a server gzip-compressed though imgpipe asked for it as it is (Accept-Encoding:
# identity) is stored decoded; it failed as "not an image". A gzip bomb stops at --max-bytes,
# which counts the decoded bytes.
curl -sf -o "$T/plain.png" "$H/img/plain.png" || fail "the hostile server's image"
for m in seq threads procs async; do
  run_imgpipe get -m "$m" -o "$T/gz-$m" --json --max-bytes 10M "$H/gzip?m=$m" "$H/gzipbomb?m=$m"
  expect_rc 1 "mode $m: a gzip body and a gzip bomb"
  f=$(jq -r "select(.url == \"$H/gzip?m=$m\" and .status == \"ok\") | .path" "$T/out")
  [ -n "$f" ] && cmp -s "$f" "$T/plain.png" || fail "mode $m: the gzip body is not the image decoded: $(cat "$T/out")"
  eb=$(jq -r "select(.url == \"$H/gzipbomb?m=$m\") | .error" "$T/out")
  [ "$eb" = "larger than the size limit of 10485760 bytes" ] || fail "mode $m: a gzip bomb: $eb"
done
grep -q '"accept-encoding": "identity"' "$T/hostile.log" ||
  fail "no Accept-Encoding: identity sent: $(grep gzip "$T/hostile.log" | head -1)"
ok "a body gzip-compressed unasked is stored decoded; a gzip bomb stops at --max-bytes"

# 32 endless error pages at once: memory stays bounded by the transfers, not by --max-bytes
# (each page was held up to 50 MiB: 1.3 GB for these 32).
for i in $(seq 1 32); do echo "$H/errbody?code=404&i=$i"; done >"$T/errs.txt"
rss=$(maxrss_kb "$IMGPIPE" get -q -j 32 --retries 0 -o "$T/errs" "$T/errs.txt")
[ "$rss" -lt 300000 ] || fail "32 endless error pages took $rss KB"
ok "32 endless error pages at once: $rss KB peak"

# --- a list on a pipe whose writer is slow ----------------------------------------------
# A link done is in the ledger at once, not when the writer's next line comes: else a kill
# -9 in between leaves an image the ledger does not know, and the rerun stores it twice.
mkfifo "$T/slow.fifo"
for m in seq threads procs async; do
  d="$T/slow-$m"
  (exec 3>"$T/slow.fifo"; echo "$H/img/first-$m.png" >&3; sleep 5) &
  writer=$!
  BG_PIDS+=("$writer")
  timeout 30 "$IMGPIPE" get -m "$m" -q -o "$d" - <"$T/slow.fifo" >"$T/out" 2>"$T/err" &
  pid=$!
  for _ in $(seq 1 30); do
    grep -q "^done" "$d/.imgpipe/ledger" 2>/dev/null && break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  kill "$writer" 2>/dev/null || true
  wait "$writer" 2>/dev/null || true
  grep -q "^done" "$d/.imgpipe/ledger" 2>/dev/null ||
    fail "mode $m: a link done 3 s ago is not in the ledger while the list's writer is slow"
  echo "$H/img/first-$m.png" | timeout 30 "$IMGPIPE" get -m "$m" -q -o "$d" - ||
    fail "mode $m: the rerun failed"
  [ "$(ls "$d")" = "first-$m.png" ] || fail "mode $m: after kill -9 and a rerun: $(ls "$d")"
done
ok "a list on a slow pipe: each link done is in the ledger at once (every mode)"

# --- list lines that are not one link ------------------------------------------------------
# A link over 64 KB fails as too long in every mode (procs refused links over 16 KB that
# the others fetched; a 1 MB one was libcurl's "Out of memory", retried; 9 MB, "No URL
# set"); a 20 KB one is fetched in every mode; a line with a NUL byte fails, rather than
# the link before its NUL being fetched in its place.
{
  printf '%s/img/huge.png?%s\n' "$H" "$(head -c 1048576 /dev/zero | tr '\0' q)"
  printf '%s/img/long.png?%s\n' "$H" "$(head -c 20000 /dev/zero | tr '\0' q)"
  printf '%s/img/nul.png\0garbage\n' "$H"
  printf '%s/img/fine.png\n' "$H"
} >"$T/lines.txt"
for m in seq threads procs async; do
  : >"$T/hostile.log"
  run_imgpipe get -m "$m" -o "$T/lines-$m" --retries 2 --retry-wait 0.1 --json "$T/lines.txt"
  expect_rc 1 "mode $m: a list with a 1 MB link and a NUL byte"
  # each item as: its URL's first 40 bytes, its URL's length, status, attempts, error
  got=$(jq -r 'select(.url) | "\(.url | .[0:40]) \(.url | length) \(.status) \(.attempts) \(.error)"' "$T/out")
  echo "$got" | grep -q "^$H/img/fine.png 3[0-9] ok 1 null$" || fail "mode $m: the good link: $got"
  echo "$got" | grep -q " 655[0-9][0-9] failed 0 URL longer than 65536 bytes$" || fail "mode $m: a 1 MB link: $got"
  echo "$got" | grep -q " 200[0-9][0-9] ok 1 null$" || fail "mode $m: a 20 KB link: $got"
  echo "$got" | grep -q " failed 1 malformed URL" || fail "mode $m: a line with a NUL byte: $got"
  grep -q '"path": "/img/nul.png"' "$T/hostile.log" && fail "mode $m: the link before a NUL byte was fetched"
  grep -q '/img/huge.png' "$T/hostile.log" && fail "mode $m: a 1 MB link was sent"
  [ "$(ls "$T/lines-$m")" = "$(printf 'fine.png\nlong.png')" ] || fail "mode $m: stored $(ls "$T/lines-$m")"
done
ok "a 1 MB link fails as too long, a 20 KB one is fetched, a NUL byte fails its line (every mode)"

# A line without an end costs no more memory than the longest link: 200 MB of one line,
# then a link, on a pipe (getline held it whole: 200 MB and more).
rss=$(maxrss_kb bash -c 'python3 -c "
import sys
for _ in range(200): sys.stdout.buffer.write(b\"x\" * 1048576)
sys.stdout.buffer.write(b\"\\n$1/img/after-long-line.png\\n\")" | "$2" get -q --retries 0 -o "$3" -' _ "$H" "$IMGPIPE" "$T/endless")
[ "$rss" -lt 100000 ] || fail "a 200 MB line took $rss KB"
[ -f "$T/endless/after-long-line.png" ] || fail "the link after a 200 MB line was not downloaded"
ok "a 200 MB line is read in bounded memory ($rss KB peak), and the next link is done"

# --- an IDN host -----------------------------------------------------------------------------
# A host in Unicode is sent in its ASCII form, whatever the locale (libcurl converts it
# through the locale's character set, and imgpipe ran in the C locale: every such link
# failed as a malformed URL).
printf 'http://caf\xc3\xa9.localhost:%s/img/idn.png\n' "$P1" >"$T/idn.txt"
: >"$T/hostile.log"
RC=0
LC_ALL=C LANG=C timeout 60 "$IMGPIPE" get -q --retries 0 -o "$T/idn" "$T/idn.txt" >"$T/out" 2>"$T/err" || RC=$?
expect_rc 0 "an IDN host"
[ -f "$T/idn/idn.png" ] || fail "an IDN host: nothing stored"
grep -q '"host": "xn--caf-dma.localhost:' "$T/hostile.log" || fail "an IDN host: $(cat "$T/hostile.log")"
ok "an IDN host is fetched as its ASCII form, in the C locale too"

# --- a password with '/', '?' or '#' left unencoded -------------------------------------------
# libcurl refuses such a link (its authority ends at "user:pa", a port that is no number),
# and the password was shown whole: on stderr, in --json and in the ledger (its URL, and
# its name when the password ended the link: "http://u:hun/ter2@host" was "ter2@host").
printf '%s\n' "http://u:hun/ter2@127.0.0.1:$P1/img/s1.png" "http://u:hun?ter2@127.0.0.1:$P1/img/s2.png" \
  "http://u:hun#ter2@127.0.0.1:$P1/img/s3.png" "http://u:hun/ter2@127.0.0.1:$P1" \
  "https://cdn.invalid:$P1/x@2x.png" >"$T/slash.txt"
run_imgpipe get -v --retries 0 -o "$T/slash" --json "$T/slash.txt"
expect_rc 1 "passwords with '/', '?', '#'"
if grep -l "ter2" "$T/out" "$T/err" "$T/slash/.imgpipe/ledger"; then
  fail "a password with '/', '?' or '#' is shown: $(grep -h ter2 "$T/out" "$T/err" "$T/slash/.imgpipe/ledger")"
fi
[ "$(grep -c 'FAILED http://u:\*\*\*@127.0.0.1' "$T/err")" -eq 4 ] || fail "not shown as u:***@: $(cat "$T/err")"
grep -q "FAILED https://cdn.invalid:$P1/x@2x.png" "$T/err" || fail "a link with '@' in its path is changed: $(cat "$T/err")"
ok "a password with '/', '?' or '#' unencoded is shown as ***, an '@' in a path is not"

# --- an answer that is not HTTP ---------------------------------------------------------------
# Bytes with no status line (HTTP/0.9, or another protocol on the port) are said to be
# that, not "a non-http(s) URL or redirect"; no redirect was involved.
run_imgpipe get -q --retries 0 -o "$T/h09" "$H/http09"
expect_rc 1 "an answer without a status line"
expect_err "FAILED $H/http09: the server's answer is not HTTP" "an answer without a status line"
ok "an answer without a status line is said to be not HTTP"

# --- a list line without an end ---------------------------------------------------------
# /dev/zero as the list: one line that never ends holds no run. The deadline ends it, and so
# does SIGTERM (the line was read until memory ran out, which was then taken as the end of
# the list: exit 0 early, and a SIGTERM meanwhile unheard).
# The memory bound (ulimit -v) cannot hold under a sanitizer, which reserves terabytes
# of address space for its shadow: there the time bound alone says the line was left.
vlimit=2000000
{ [ "${SANITIZED:-OFF}" = ON ] || [ "${TSAN:-OFF}" = ON ]; } && vlimit=unlimited
for m in seq async; do
  start=$(date +%s%N)
  RC=0
  (ulimit -v "$vlimit"; exec timeout -s KILL 20 "$IMGPIPE" get -m "$m" -q -o "$T/zero-$m" --timeout 3 /dev/zero) \
    >"$T/out" 2>"$T/err" || RC=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  expect_rc 1 "mode $m: /dev/zero as the list, --timeout 3"
  expect_err "the deadline passed before the links were all read from '/dev/zero'" "mode $m: /dev/zero, --timeout 3"
  [ "$ms" -ge 2900 ] && [ "$ms" -lt 10000 ] || fail "mode $m: /dev/zero with --timeout 3 ended after $ms ms"
  (ulimit -v "$vlimit"; exec timeout -s KILL 20 "$IMGPIPE" get -m "$m" -q -o "$T/zero-$m" /dev/zero) \
    >"$T/out" 2>"$T/err" &
  pid=$!
  sleep 1.5
  kill -TERM "$pid"
  RC=0
  wait "$pid" || RC=$?
  expect_rc 143 "mode $m: SIGTERM while /dev/zero is read as the list"
done
ok "a list line without an end is left at the deadline, and at SIGTERM"


# --- a Retry-After longer than imgpipe waits ----------------------------------------------
# A 503 asking for 600 s is not waited for (120 s at most): the failure says why it was not
# retried, where it said only "server answered HTTP 503".
for m in seq async; do
  run_imgpipe get -m "$m" -q --retries 3 -o "$T/ra-$m" "$H/status?code=503&ra=600&n=9&m=$m"
  expect_rc 1 "mode $m: a 503 with Retry-After: 600"
  expect_err "server answered HTTP 503 (retry after 600 s, longer than the 120 s imgpipe waits)" \
    "mode $m: a 503 with Retry-After: 600"
  grep -q "attempts" "$T/err" && fail "mode $m: retried a 503 asking for 600 s: $(cat "$T/err")"
done
ok "a 503 whose Retry-After is past imgpipe's longest wait fails at once, saying so"
