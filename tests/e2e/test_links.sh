# Sources: the Imgur API (filtering, albums, pages, failures) and URL lists.
source "$TESTLIB"
start_galleryd --count 12

# The random gallery: 10 images listed, a gif, and an album holding the last 2 images.
run_imgpipe links
expect_rc 0 "links imgur:random"
[ "$(wc -l <"$T/out")" -eq 12 ] || fail "expected 12 links (10 + album's 2), got: $(cat "$T/out")"
for i in $(seq 0 11); do
  grep -q "^$BASE/i/img$(printf %04d "$i")\.\(jpg\|png\)$" "$T/out" || fail "link to image $i missing"
done
grep -q 'gif' "$T/out" && fail "gif items must be skipped"
grep -q '/a/' "$T/out" && fail "album pages must never be links"
expect_err "1 not JPEG or PNG" "the skipped gif is counted"
ok "random gallery filtered, album expanded"

run_imgpipe links imgur:album/sample
expect_rc 0 "links imgur:album/sample"
[ "$(wc -l <"$T/out")" -eq 2 ] || fail "album sample has 2 images, got: $(cat "$T/out")"

run_imgpipe links imgur:gallery/hot/viral/day/1
expect_rc 0 "an empty page"
[ ! -s "$T/out" ] || fail "page 1 is empty"

run_imgpipe links imgur:album/nope
expect_rc 1 "a missing album"
expect_err "404" "a missing album"
expect_err "Unable to find an album" "a missing album gives the API's text"
ok "albums and pages"

# API failures name the status and the API's own words; nothing is downloaded.
IMGUR_API_URL="$BASE/fail" run_imgpipe get -o "$T/dl" imgur:random
expect_rc 1 "API 500"
expect_err "500" "API 500"
expect_err "over capacity" "API 500 gives the API's text"
[ ! -e "$T/dl" ] || fail "an API failure downloads nothing"
IMGUR_API_URL="$BASE/broken" run_imgpipe links
expect_rc 1 "malformed JSON"
expect_err "malformed JSON" "malformed JSON"
IMGUR_API_URL="$BASE/shape" run_imgpipe links
expect_rc 1 "unexpected shape"
expect_err "unexpected shape" "unexpected shape"
IMGUR_API_URL="$BASE/nosuccess" run_imgpipe links
expect_rc 1 "success false"
expect_err "Invalid client" "success false gives the API's text"
IMGUR_CLIENT_ID=wrong-client run_imgpipe links
expect_rc 0 "any client id is accepted by galleryd without --client-id"
IMGUR_API_URL="http://127.0.0.1:1" run_imgpipe links
expect_rc 1 "API unreachable"
expect_err "127.0.0.1:1" "API unreachable names the URL"
ok "API failures"

# URL lists: comments and blanks skipped, CRLF tolerated, stdin, a single URL.
printf '# a comment\n\n  %s/i/img0000.jpg  \r\n\t# indented comment\n%s/i/img0001.jpg\n' \
  "$BASE" "$BASE" >"$T/urls.txt"
run_imgpipe links "$T/urls.txt"
expect_rc 0 "URL list"
printf '%s/i/img0000.jpg\n%s/i/img0001.jpg\n' "$BASE" "$BASE" >"$T/want"
cmp -s "$T/out" "$T/want" || fail "URL list links: $(cat "$T/out")"
RC=0
"$IMGPIPE" links - <"$T/urls.txt" >"$T/out" 2>"$T/err" || RC=$?
expect_rc 0 "URL list on stdin"
cmp -s "$T/out" "$T/want" || fail "stdin links: $(cat "$T/out")"
run_imgpipe links "$BASE/i/img0003.png" "$T/urls.txt"
[ "$(head -1 "$T/out")" = "$BASE/i/img0003.png" ] || fail "a URL source is one link"
[ "$(wc -l <"$T/out")" -eq 3 ] || fail "sources are read in order"
ok "URL lists"

# Streaming: a long list is read a line at a time.
seq 1 200000 | sed "s|.*|$BASE/i/&.jpg|" >"$T/long.txt"
run_imgpipe links "$T/long.txt"
expect_rc 0 "a long URL list"
[ "$(wc -l <"$T/out")" -eq 200000 ] || fail "every line of a long list is a link"
ok "long list"

# The Client-ID goes into a header line: one with a line break would add headers of its
# own to every API request (it did: "X-Injected: 1" reached the server). It is refused as
# the configuration error it is, before any request, and the secret is not echoed.
port=$(free_port)
python3 - "$port" "$T/request" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4); s.settimeout(8)
with open(sys.argv[2], "wb") as out:
    while True:
        try:
            c, _ = s.accept()
        except OSError:
            break
        c.settimeout(2); d = b""
        try:
            while b"\r\n\r\n" not in d:
                chunk = c.recv(4096)
                if not chunk:
                    break
                d += chunk
        except OSError:
            pass
        out.write(d); out.flush()
        c.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"); c.close()
PY
BG_PIDS+=($!)
sleep 0.5
for cmd in links get; do
  args=(links imgur:random)
  [ "$cmd" = links ] || args=(get --retries 0 -o "$T/inj" imgur:random)
  RC=0
  IMGUR_API_URL="http://127.0.0.1:$port" IMGUR_CLIENT_ID=$'sekrit\r\nX-Injected: 1' \
    timeout 30 "$IMGPIPE" "${args[@]}" >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 2 "$cmd with a line break in IMGUR_CLIENT_ID"
  expect_err "Client-ID" "$cmd with a line break in IMGUR_CLIENT_ID"
  ! grep -q sekrit "$T/err" "$T/out" || fail "$cmd printed the Client-ID: $(cat "$T/err")"
  [ ! -e "$T/inj" ] || fail "$cmd created its output with a bad Client-ID"
done
! grep -qi "X-Injected" "$T/request" || fail "a header was injected through IMGUR_CLIENT_ID"
[ ! -s "$T/request" ] || fail "an API request was made with a bad Client-ID: $(cat -A "$T/request")"
ok "a Client-ID with a line break is a configuration error, no header is injected"

# Every spec is checked before the first is opened: a malformed one after a good one costs
# no API request (imgur:random was asked, then the run ended on the bad spec).
: >"$T/galleryd.log"
start_galleryd --log
run_imgpipe links imgur:random imgur:gallery/../etc
expect_rc 2 "a malformed spec after a good one"
[ ! -s "$T/out" ] || fail "links printed before a usage error: $(head -3 "$T/out")"
if grep -a -q 'GET /3/' "$T/galleryd.log"; then
  fail "an API request before the usage error: $(grep -a 'GET /3/' "$T/galleryd.log")"
fi
ok "a malformed spec is a usage error before any API request"

# The API's 429 with a Retry-After longer than imgpipe waits fails at once and says the
# wait (README: "a longer Retry-After, said as `retry after N s, longer than the 120 s
# imgpipe waits`"; "Imgur API requests are retried alike"); the API's text stays.
port=$(free_port)
python3 - "$port" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        b = b'{"data":{"error":"Too Many Requests"},"success":false,"status":429}'
        self.send_response(429)
        self.send_header("Retry-After", "3600")
        self.send_header("X-RateLimit-ClientRemaining", "0")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers(); self.wfile.write(b)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
BG_PIDS+=($!)
wait_until 5 "the 429 server" curl -s -o /dev/null "http://127.0.0.1:$port/"
RC=0
IMGUR_API_URL="http://127.0.0.1:$port" timeout 30 "$IMGPIPE" links >"$T/out" 2>"$T/err" || RC=$?
expect_rc 1 "an API answering 429 with Retry-After: 3600"
expect_err "Too Many Requests" "the API's text on a 429"
expect_err "retry after 3600 s, longer than the 120 s imgpipe waits" "the wait of a 429"
ok "an API 429 with a long Retry-After says the wait"

# A Client-ID the API refuses (403) says what to do, and does not show the Client-ID.
start_galleryd --client-id the-right-one
RC=0
IMGUR_CLIENT_ID=wrongsecret42 timeout 30 "$IMGPIPE" links >"$T/out" 2>"$T/err" || RC=$?
expect_rc 1 "a refused Client-ID"
expect_err "HTTP 403" "a refused Client-ID"
expect_err "refused the Client-ID: check it" "a refused Client-ID"
expect_err "api.imgur.com/oauth2/addclient" "a refused Client-ID"
! grep -q wrongsecret42 "$T/err" "$T/out" || fail "the Client-ID was printed: $(cat "$T/err")"
ok "a refused Client-ID says what to do"
