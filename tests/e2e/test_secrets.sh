# Secrets in image URLs (issue #11, item 8): a link's userinfo (http://user:password@host/x,
# or a token alone, http://token@host/x) is sent to its server and nowhere else. A planted
# password must not appear in get's stderr (-v, failures, retries), --json, --stats, the
# ledger, the names in DIR, the worker's notices, enqueue, status (text and --json),
# requeue-failed, the dashboard (state, failures, gallery, /metrics), nor in links' errors.
# The fetch still uses it: the server here answers 401 without it. `links` prints links as
# given, passwords included: its output is a list to give to get.
source "$TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/redis.sh"
start_galleryd --count 4
G=${BASE#http://}
PW='S3cr3t-pw'
TOKEN='T0ken-zz9'
ALSO='p%40ss-Enc0ded' # percent-encoded, and its decoded form p@ss-Enc0ded
ODD='Odd9' # in every password below that holds a byte a sentence may end a URL at
secrets="$PW|$TOKEN|Enc0ded|$ODD"
no_secret() { # no_secret WHAT FILE...: no password, token or encoded password in any FILE
  local f
  for f in "${@:2}"; do
    [ -e "$f" ] || fail "$1: $f is missing (the check would see nothing)"
  done
  ! grep -E -a -q -- "$secrets" "${@:2}" || fail "$1 shows a secret: $(grep -E -a -- "$secrets" "${@:2}" | head -5)"
}

# A server that wants basic auth (alice and $PW, or the token as a user with no password,
# or alice and the encoded password) and serves one JPEG; /flaky.jpg is 404 until the file
# $T/www/fixed exists.
mkdir -p "$T/www"
fetch_reference "$BASE/i/img0000.jpg" "$T/www/a.jpg"
python3 - "$T/www" "$T/auth.port" "$PW" "$TOKEN" 2>>"$T/auth.log" <<'PY' &
import base64, http.server, os, sys
www, port_file, pw, token = sys.argv[1:]
ok = {base64.b64encode(s.encode()).decode() for s in ("alice:" + pw, token + ":", "alice:p@ss-Enc0ded")}
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        with open(port_file + ".seen", "a", encoding="latin-1") as f: # what libcurl sent
            f.write(base64.b64decode(auth[6:]).decode("latin-1") + "\n" if auth.startswith("Basic ") else "")
        if not auth.startswith("Basic ") or auth[6:] not in ok:
            self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers(); return
        name = self.path.split("?")[0].lstrip("/")
        if name == "flaky.jpg" and not os.path.exists(os.path.join(www, "fixed")):
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
        body = open(os.path.join(www, "a.jpg"), "rb").read()
        self.send_response(200); self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f: f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
BG_PIDS+=($!)
for i in $(seq 1 100); do [ -s "$T/auth.port" ] && break; sleep 0.1; done
[ -s "$T/auth.port" ] || fail "the auth server did not start: $(cat "$T/auth.log")"
A="127.0.0.1:$(cat "$T/auth.port")"
GONE="127.0.0.1:$(free_port)" # connection refused

cat >"$T/list.txt" <<EOL
http://alice:$PW@$A/one.jpg
http://$TOKEN@$A/two.jpg
http://alice:$ALSO@$A/three.jpg
http://alice:$PW@$A/flaky.jpg
http://alice:wrong@$A/refused.jpg
http://alice:$PW@$G/i/missing.jpg
http://alice:$PW@$GONE/gone.jpg
http://alice:$PW@$G/f/503x1/get/img0001.jpg
EOL

# ---- get: stderr, -v, --json, --stats, the ledger, the names ------------------------------
run_imgpipe get -v --json --stats "$T/stats.json" --thumb 32x32 --retries 1 --retry-wait 0.1 \
  -o "$T/d" "$T/list.txt"
expect_rc 1 "get with passwords in its links (3 of them fail)"
for n in one two three img0001; do
  [ -f "$T/d/$n.jpg" ] && [ -f "$T/d/${n}_thumbnail.jpg" ] || fail "$n.jpg was not fetched with its password: $(cat "$T/err")"
done
cmp -s "$T/www/a.jpg" "$T/d/one.jpg" || fail "one.jpg's bytes"
expect_err "FAILED http://alice:\*\*\*@$A/refused.jpg: server answered HTTP 401" "a refused password, shown as ***"
expect_err "ok http://\*\*\*@$A/two.jpg" "a token, shown as ***"
grep -q "\"url\":\"http://alice:\*\*\*@$A/one.jpg\"" "$T/out" || fail "--json's url: $(head -3 "$T/out")"
grep -q "http://alice:\*\*\*@$A/one.jpg" "$T/d/.imgpipe/ledger" || fail "the ledger's url: $(cat "$T/d/.imgpipe/ledger")"
files_in "$T/d" >"$T/names"
no_secret "get's output" "$T/out" "$T/err" "$T/stats.json" "$T/d/.imgpipe/ledger" "$T/names"
ok "get: links with passwords are fetched with them; stderr, --json, --stats, the ledger and names show ***"

# A rerun knows the done links by their shown form; --retry-failed cannot fetch what the
# ledger keeps without its password, and says what to do instead.
run_imgpipe get -o "$T/d" "$T/list.txt"
expect_err "4 already done" "a rerun finds the done links in the ledger"
run_imgpipe get --retry-failed -o "$T/d"
expect_rc 1 "--retry-failed with links whose password the ledger does not keep"
expect_err "FAILED http://alice:\*\*\*@$A/flaky.jpg: the ledger keeps links without their password" "--retry-failed says why"
expect_err "0 downloaded.* 4 failed" "--retry-failed fetches none of them"
no_secret "a rerun and --retry-failed" "$T/out" "$T/err" "$T/d/.imgpipe/ledger"
ok "a rerun skips the done links; --retry-failed fails the ledger's links with a hidden password at once"

# ---- passwords that hold quotes, '<', '>', '`', '\' or '@', or follow extra slashes --------
# libcurl takes all of these as the password and sends it (the server records what it got),
# so they are hidden whole, though a sentence might have ended the URL at such a byte; a
# link with no path is not named after its userinfo.
odd=("$ODD\"q" "$ODD<l" "$ODD>g" "$ODD'a" "$ODD\\b" "$ODD\`t")
: >"$T/odd.txt"
for i in "${!odd[@]}"; do printf 'http://alice:%s@%s/odd%d.jpg\n' "${odd[$i]}" "$A" "$i" >>"$T/odd.txt"; done
printf '%s\n' "http:///alice:$ODD-slashes@$A" "http://alice:$ODD\"404@$G/i/missing.jpg" \
  "http://alice:$ODD'refused@$GONE/gone.jpg" "http://alice:$ODD@at@$A/odd7.jpg" >>"$T/odd.txt"
run_imgpipe get -v --json --retries 0 -o "$T/odd" "$T/odd.txt"
expect_rc 1 "get with passwords libcurl sends but a sentence would cut"
for p in "${odd[@]}" "$ODD-slashes"; do
  grep -qxF "alice:$p" "$T/auth.port.seen" || fail "libcurl did not send alice:$p: $(cat "$T/auth.port.seen")"
done
[ "$(grep -c "FAILED http:///*alice:\*\*\*@" "$T/err")" -eq 10 ] || fail "10 failures shown as alice:***: $(cat "$T/err")"
[ "$(jq -r 'select(.url) | .url' "$T/out" | grep -c '^http:///*alice:\*\*\*@')" -eq 10 ] ||
  fail "--json's urls: $(cat "$T/out")"
[ "$(grep -c 'alice:\*\*\*@' "$T/odd/.imgpipe/ledger")" -eq 10 ] || fail "the ledger's urls: $(cat "$T/odd/.imgpipe/ledger")"
no_secret "get's output for odd passwords" "$T/out" "$T/err" "$T/odd/.imgpipe/ledger"
ok "passwords with quotes, '<', '>', '\`', '\\', '@' or after http:/// are sent, and shown as *** only"

# ---- links: its output is the list as given; its errors show *** ----------------------------
run_imgpipe links "http://alice:$PW@$A/one.jpg"
expect_rc 0 "links of one URL"
[ "$(cat "$T/out")" = "http://alice:$PW@$A/one.jpg" ] || fail "links prints the link as given: $(cat "$T/out")"
IMGUR_API_URL="http://alice:$PW@$GONE" run_imgpipe links imgur:gallery/hot
expect_rc 1 "links from an API that cannot be reached"
expect_err "alice:\*\*\*@$GONE" "the API's URL, shown as ***"
no_secret "links' errors" "$T/err"
ok "links prints links as given (a list for get); its errors show ***"

# ---- the queue: enqueue, worker notices, status, requeue-failed ------------------------------
RPORT=$(free_port)
export IMGPIPE_REDIS_URL="redis://127.0.0.1:$RPORT"
start_redis
sed 's|/f/503x1/get/|/f/503x1/worker/|' "$T/list.txt" >"$T/qlist.txt" # a fault of its own
run_imgpipe enqueue -q sec --thumb 32x32 -o "$T/q" "$T/qlist.txt"
expect_rc 0 "enqueue of links with passwords"
no_secret "enqueue" "$T/out" "$T/err"
run_imgpipe worker --burst --retries 1 sec
expect_rc 0 "a burst worker"
expect_err "retrying http://alice:\*\*\*@$G/f/503x1/worker/img0001.jpg (attempt 2 of 2)" "the worker's retry notice"
expect_err "FAILED http://alice:\*\*\*@$A/flaky.jpg" "the worker's failure line"
cmp -s "$T/www/a.jpg" "$T/q/one.jpg" && [ -f "$T/q/two.jpg" ] && [ -f "$T/q/three.jpg" ] ||
  fail "the worker did not fetch with the passwords: $(cat "$T/err")"
cp "$T/err" "$T/worker.err"
"$IMGPIPE" status sec >"$T/status.txt" 2>&1 || fail "status: $(cat "$T/status.txt")"
"$IMGPIPE" status --json sec >"$T/status.json" 2>&1 || fail "status --json: $(cat "$T/status.json")"
[ "$(jq '.queues[0].failures | length' "$T/status.json")" -eq 4 ] || fail "4 failures: $(cat "$T/status.json")"
jq -r '.queues[0].failures[].url' "$T/status.json" | grep -q "^http://alice:\*\*\*@$A/flaky.jpg$" ||
  fail "status --json shows the failure as ***: $(cat "$T/status.json")"
no_secret "the worker and status" "$T/worker.err" "$T/out" "$T/status.txt" "$T/status.json"

# requeue-failed gives the jobs back with their real links: the fixed one is then done.
touch "$T/www/fixed"
run_imgpipe requeue-failed sec
expect_rc 0 "requeue-failed"
no_secret "requeue-failed" "$T/out" "$T/err"
run_imgpipe worker --burst --retries 0 sec
cmp -s "$T/www/a.jpg" "$T/q/flaky.jpg" || fail "a requeued job lost its password: $(cat "$T/err")"
no_secret "the second worker" "$T/out" "$T/err"
ok "enqueue, worker notices and failures, status (text, --json), requeue-failed: *** only; jobs keep their links"

# ---- the dashboard: state, failures, the gallery (from get's ledger), /metrics -----------------
"$IMGPIPE" dashboard --listen 127.0.0.1:0 --dir "$T/d" >"$T/dash.out" 2>"$T/dash.err" &
DPID=$!
BG_PIDS+=("$DPID")
wait_until 10 "the dashboard to listen" grep -q '^imgpipe dashboard on http' "$T/dash.out"
DASH=$(sed -n 's/^imgpipe dashboard on //p' "$T/dash.out")
curl -sf "${DASH}api/state" >"$T/state.json" || fail "/api/state"
curl -sf "${DASH}api/failures?queue=sec" >"$T/failures.json" || fail "/api/failures"
curl -sf "${DASH}api/gallery" >"$T/gallery.json" || fail "/api/gallery"
curl -sf "${DASH}metrics" >"$T/metrics.txt" || fail "/metrics"
jq -r '.failures[].url' "$T/failures.json" | grep -q "alice:\*\*\*@" || fail "the failures: $(cat "$T/failures.json")"
jq -r '.. | .url? // empty' "$T/gallery.json" | grep -q "alice:\*\*\*@$A/one.jpg" ||
  fail "the gallery's source URLs: $(cat "$T/gallery.json")"
no_secret "the dashboard" "$T/state.json" "$T/failures.json" "$T/gallery.json" "$T/metrics.txt" "$T/dash.out" "$T/dash.err"
ok "the dashboard's state, failures, gallery and /metrics show ***"

# A Redis password in the dashboard's banner when Redis goes away (it was shown there).
stop_redis
start_redis --requirepass "$PW"
kill "$DPID"
"$IMGPIPE" dashboard -r "redis://:$PW@127.0.0.1:$RPORT" --listen 127.0.0.1:0 >"$T/dash.out" 2>"$T/dash.err" &
DPID=$!
BG_PIDS+=("$DPID")
wait_until 10 "the dashboard to listen" grep -q '^imgpipe dashboard on http' "$T/dash.out"
DASH=$(sed -n 's/^imgpipe dashboard on //p' "$T/dash.out")
curl -sf "${DASH}api/state" >"$T/state1.json" || fail "/api/state with a password"
stop_redis
curl -s "${DASH}api/state" >"$T/state2.json" || true
sleep 1.2 # the dashboard asks a Redis that is down once a second
curl -s "${DASH}api/state" >"$T/state3.json" || true
grep -q "redis://:\*\*\*@127.0.0.1:$RPORT" "$T/state2.json" "$T/state3.json" ||
  fail "the banner names Redis: $(cat "$T/state2.json" "$T/state3.json")"
no_secret "the dashboard's Redis banner" "$T/state1.json" "$T/state2.json" "$T/state3.json" "$T/dash.out" "$T/dash.err"
ok "the dashboard's banner shows the Redis URL as redis://:***@"
