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
