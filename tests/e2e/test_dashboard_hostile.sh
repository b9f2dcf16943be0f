# The dashboard against a hostile outsider, in headless Chromium: file names that are not
# UTF-8 or hold '?', '#', '%', U+2028 or an RTL override are listed and reachable from
# their tile; each original shows its own thumbnail (a.png never a.jpg's); %00 and other
# tricks reach no file; every answer (a file, a 401, a 405) carries the promised headers;
# idle connections do not silence the page; queues called "constructor" and "__proto__"
# do not break it; a Host naming another machine (a DNS rebinding) is refused without --auth.
source "$TESTLIB"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/install-deps.sh)"
source "$(dirname "${BASH_SOURCE[0]}")/dashboard.sh"

# code PATH [curl options]: the HTTP status of GET PATH, as sent (no ../ folding).
code() {
  local p=$1
  shift
  curl -s -m 5 --path-as-is -o /dev/null -w '%{http_code}' "$@" "$DASH$p" || true
}

# ---- the gallery: names of every kind, each tile's links reach its own files ------------------
start_galleryd --count 2
printf '%s\n' "$BASE/x/plain.png" "$BASE/x/caf%E9.png" "$BASE/x/q%3Fmark.png" \
  "$BASE/x/hash%23x.png" "$BASE/x/pct%25x.png" "$BASE/x/sp%20ace.png" "$BASE/x/ls%E2%80%A8x.png" \
  "$BASE/x/rtl%E2%80%AEgnp.png" "$BASE/x/javascript:alert(1).png" "$BASE/x/%3C%2Fscript%3E.png" \
  "$BASE/x/a.png" "$BASE/x/a.jpg" >"$T/names.txt"
run_imgpipe get -q -o "$T/gal" --thumb 32x32 --thumb 16x16 "$T/names.txt"
expect_rc 0 "get of the hostile names"
[ -f "$T/gal/caf"$'\xe9'".png" ] || fail "get did not keep the Latin-1 name: $(ls "$T/gal")"
[ -f "$T/gal/a_thumbnail_16x16.png" ] && [ -f "$T/gal/a_thumbnail_16x16.jpg.png" ] ||
  fail "the thumbnails of a.png and a.jpg: $(ls "$T/gal")"
start_dashboard --dir "$T/gal"
dom /gallery
total=$(curl -sf "${DASH}api/gallery" | jq .total) || fail "/api/gallery"
[ "$total" -eq 12 ] || fail "the gallery counts $total images, not 12: $(ls "$T/gal")"
jq -e '(.tiles | length) == 12 and .tags.img == 12 and .tags.script == 1' "$T/dom.json" >/dev/null ||
  fail "the page shows $(jq '.tiles | length' "$T/dom.json") of 12 tiles: $(jq -c '[.tiles[].name], .tags' "$T/dom.json")"
jq -e '.tiles | any(.name == "caf\ufffd.png" and (.meta | any(test("caf%E9"))))' "$T/dom.json" >/dev/null ||
  fail "the Latin-1 name and its source URL: $(jq -c .tiles "$T/dom.json")"
# Each link, requested as the browser requests it, answers the bytes of its own file.
n=0
while IFS=$'\t' read -r name href img; do
  curl -sf -m 5 -o "$T/href" "$DASH${href#/}" || fail "the link $href of tile '$name' does not answer"
  curl -sf -m 5 -o "$T/img" "$DASH${img#/}" || fail "the image $img of tile '$name' does not answer"
  cmp -s "$T/href" "$T/gal/$(python3 -c 'import sys, urllib.parse; sys.stdout.buffer.write(urllib.parse.unquote_to_bytes(sys.argv[1][7:]))' "$href")" ||
    fail "the link $href of tile '$name' is not its file"
  n=$((n + 1))
done < <(jq -r '.tiles[] | [.name, .href, .img] | @tsv' "$T/dom.json")
[ "$n" -eq 12 ] || fail "$n tiles checked"
jq -e '(.tiles[] | select(.name == "a.png") | .img) == "/files/a_thumbnail_16x16.png" and
  (.tiles[] | select(.name == "a.jpg") | .img) == "/files/a_thumbnail_16x16.jpg.png"' "$T/dom.json" >/dev/null ||
  fail "a.png and a.jpg share a thumbnail: $(jq -c '[.tiles[] | select(.name | startswith("a.")) | {name, img}]' "$T/dom.json")"
curl -sf "${DASH}api/gallery?page=2305843009213693953" | jq -e '.items == []' >/dev/null ||
  fail "a page past the end (whose first item overflows) lists images"
ok "names not UTF-8 or with ? # % U+2028 RTL are listed and reached; each original its own thumbnail"

# ---- the file route: nothing but regular files directly in DIR ---------------------------------
ln -s /etc/passwd "$T/gal/pw.png"
mkfifo "$T/gal/fifo.png"
for bad in "files/plain.png%00.txt" "files/plain.png%00" "files/%00" "files/pw.png" "files/fifo.png" \
  "files/..%2f..%2fetc%2fpasswd" "files/%2e%2e/%2e%2e/etc/passwd" "files/..%5c..%5cetc%5cpasswd" \
  "files/%252e%252e%252fetc%252fpasswd" "files//etc/passwd" "files/%2fetc%2fpasswd" "files/.imgpipe" \
  "files/../../../../etc/passwd" "files/$(head -c 300 /dev/zero | tr '\0' a).png"; do
  c=$(code "$bad")
  [ "$c" = 404 ] || fail "$bad answered $c, not 404"
done
ok "%00, symlinks, FIFOs, encoded ../ and absolute paths reach no file (404)"

# ---- headers of every answer -----------------------------------------------------------------
headers() { curl -s -m 5 -D "$T/h" -o /dev/null "$@" || true; tr -d '\r' <"$T/h" >"$T/headers"; }
has() { grep -qi "^$1" "$T/headers" || fail "$2 lacks '$1': $(cat "$T/headers")"; }
headers "${DASH}files/plain.png"
for h in "X-Content-Type-Options: nosniff" "X-Frame-Options: DENY" "Content-Security-Policy: default-src 'none'" \
  "Content-Type: image/png"; do has "$h" "a served image"; done
grep -qi "^Content-Security-Policy:.*sandbox" "$T/headers" || fail "a served image without sandbox"
headers -X DELETE "${DASH}api/state"
grep -q "^HTTP/1.1 405" "$T/headers" || fail "DELETE is not a 405: $(cat "$T/headers")"
has "Allow: GET, HEAD, POST" "a 405"
has "X-Frame-Options: DENY" "a 405"
kill "$DPID"
wait "$DPID" || true
start_dashboard --auth 'ops:pw' --dir "$T/gal"
headers "${DASH}files/plain.png"
grep -q "^HTTP/1.1 401" "$T/headers" || fail "no 401 without credentials: $(cat "$T/headers")"
for h in "X-Content-Type-Options: nosniff" "X-Frame-Options: DENY" "Content-Security-Policy: default-src 'none'"; do
  has "$h" "a 401"
done
[ "$(code files/plain.png -u ops:pw)" = 200 ] || fail "the file with the password"
ok "files, 401 and 405 answers carry nosniff, X-Frame-Options and the CSP (405: Allow)"
kill "$DPID"
wait "$DPID" || true

# ---- a FIFO planted as DIR's ledger: the gallery still answers (it hung, waiting for a writer) ------
mkdir -p "$T/fifo/.imgpipe"
cp "$T/gal/plain.png" "$T/fifo/"
mkfifo "$T/fifo/.imgpipe/ledger"
start_dashboard --dir "$T/fifo"
curl -sf -m 5 "${DASH}api/gallery" >"$T/fifo.json" || fail "the gallery with a FIFO as its ledger did not answer in 5 s"
jq -e '.total == 1 and .items[0].name == "plain.png" and .items[0].url == null' "$T/fifo.json" >/dev/null ||
  fail "the gallery with a FIFO as its ledger: $(cat "$T/fifo.json")"
ok "a FIFO in the ledger's place does not hang the gallery"
kill -KILL "$DPID" # a thread stuck opening the FIFO would keep SIGTERM's clean stop waiting
wait "$DPID" 2>/dev/null || true

# ---- idle connections: 150 open ones (a slowloris) leave the page answering ------------------------
start_dashboard --dir "$T/gal"
PORT=${DASH%/}
PORT=${PORT##*:}
python3 - "$PORT" <<'EOF' || fail "the dashboard stopped answering with 150 idle connections open"
import socket, sys, time, urllib.request
port = int(sys.argv[1])
idle = []
for i in range(150):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if i % 2:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # a request that never ends
    idle.append(s)
time.sleep(0.3)
try:
    r = urllib.request.urlopen("http://127.0.0.1:%d/api/gallery" % port, timeout=5)
except OSError as e:
    sys.exit("no answer: %s" % e)
sys.exit(0 if r.status == 200 else "answered %d" % r.status)
EOF
ok "150 idle connections do not keep the page from answering"
kill "$DPID"
wait "$DPID" || true

# ---- queues called like the properties of a JavaScript object ------------------------------------
RPORT=$(free_port)
export IMGPIPE_REDIS_URL="redis://127.0.0.1:$RPORT"
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no --dir "$T" \
  >>"$T/redis.log" 2>&1 &
BG_PIDS+=("$!")
wait_until 10 "redis-server" sh -c "[ \"\$(redis-cli -p $RPORT ping 2>/dev/null)\" = PONG ]"
echo "$BASE/i/missing.jpg" >"$T/one.txt"
for q in constructor __proto__ toString; do
  run_imgpipe enqueue -Q "$q" -o "$T/q" "$T/one.txt"
  expect_rc 0 "enqueue on queue $q"
done
run_imgpipe worker --burst --retries 0 __proto__
start_dashboard
dom /
jq -e '.banner == null and ([.queues[].name] | sort) == ["__proto__", "constructor", "toString"] and
  ([.queues[] | select(.name == "__proto__") | .failed] == [1]) and
  ([.queues[] | select(.name == "constructor") | .waiting] == [1]) and (.failures | length) == 1' \
  "$T/dom.json" >/dev/null || fail "queues named like Object's properties: $(jq -c '.banner, .queues, .failures' "$T/dom.json")"
ok "queues called constructor, __proto__ and toString are shown, with their failures"
# An escaped NUL does not cut a queue's name short: "__proto__%00x" is no queue of ours.
curl -s -m 5 -o "$T/f.json" -w '%{http_code}' "${DASH}api/failures?queue=__proto__%00x" >"$T/code" || true
[ "$(cat "$T/code")" = 400 ] && jq -e '.error == "bad queue name"' "$T/f.json" >/dev/null ||
  fail "a queue name with %00 answered $(cat "$T/code") $(cat "$T/f.json")"
[ "$(code "api/failures?queue=__proto__&before=nonsense")" = 400 ] || fail "a bad id is not a 400"
ok "%00 in a queue's name and a bad entry id are refused with 400"
kill "$DPID"
wait "$DPID" || true

# ---- a sharded DIR: the images in its shard folders, each with its thumbnail -----------------
# --layout sharded keeps DIR's files in 00..ff: the gallery showed none of them ("0 images").
printf "%s\n" "$BASE/i/img0000.jpg" "$BASE/i/img0001.jpg" >"$T/sh.txt"
run_imgpipe get -q -o "$T/sh" --layout sharded --thumb 16x16 "$T/sh.txt"
expect_rc 0 "get --layout sharded"
mkdir -p "$T/sh/zz" "$T/sh/0g"
cp "$T/gal/plain.png" "$T/sh/zz/not-a-shard.png" # folders no shard is called: not shown
cp "$T/gal/plain.png" "$T/sh/0g/not-a-shard.png"
ln -s "$T/gal" "$T/sh/ee" # a symlink in a shard's place: not followed
start_dashboard --dir "$T/sh"
curl -sf "${DASH}api/gallery" >"$T/sh.json" || fail "/api/gallery of a sharded DIR"
jq -e '.total == 2 and ([.items[].name | test("^[0-9a-f]{2}/img000[01][.]jpg$")] | all) and
  ([.items[].thumb | test("^[0-9a-f]{2}/img000[01]_thumbnail[.]jpg$")] | all)' "$T/sh.json" >/dev/null ||
  fail "the gallery of a sharded DIR: $(cat "$T/sh.json")"
while IFS=$'\t' read -r name href thumb; do
  curl -sf -m 5 -o "$T/href" "$DASH${href#/}" || fail "the link $href of $name does not answer"
  cmp -s "$T/href" "$T/sh/$name" || fail "the link $href is not $name"
  curl -sf -m 5 -o "$T/href" "$DASH${thumb#/}" || fail "the thumbnail $thumb of $name does not answer"
done < <(jq -r '.items[] | [.name, .href, .thumb_href] | @tsv' "$T/sh.json")
for bad in "files/ee/plain.png" "files/ee%2fplain.png" "files/zz%2fnot-a-shard.png" "files/0g/not-a-shard.png" \
  "files/AB%2fimg0000.jpg" "files/%2e%2e%2fsh%2fzz%2fnot-a-shard.png"; do
  c=$(code "$bad")
  [ "$c" = 404 ] || fail "$bad answered $c, not 404"
done
ok "a sharded DIR's gallery shows the images of its shard folders, linked; other folders and symlinks are not"

# ---- DNS rebinding: a page of another site, its name pointed at 127.0.0.1 ---------------------
# Its requests name the attacker's domain in Host. Without --auth they were answered: the
# page (and the token in it) could be read, and a POST made with that token.
port=${DASH##*:}
port=${port%/}
TOKEN=$(curl -s "$DASH" | sed -n 's/.*name="imgpipe-token" content="\([0-9a-f]*\)".*/\1/p')
[ ${#TOKEN} -eq 64 ] || fail "no token in the page"
for h in "rebind.example:$port" "rebind.example" "127.0.0.1.nip.io:$port" "localhost.rebind.example:$port"; do
  c=$(curl -s -m 5 -o "$T/rebind.html" -w '%{http_code}' -H "Host: $h" "$DASH")
  [ "$c" = 403 ] || fail "the page for Host $h answered $c, not 403"
  [ -s "$T/rebind.html" ] && ! grep -q "$TOKEN" "$T/rebind.html" ||
    fail "the page for Host $h gave the token away: $(head -c 300 "$T/rebind.html")"
  c=$(code "api/gallery" -H "Host: $h")
  [ "$c" = 403 ] || fail "/api/gallery for Host $h answered $c, not 403"
  c=$(curl -s -m 5 -o "$T/rebind.txt" -w '%{http_code}' -X POST -H "Host: $h" \
    -H "X-Imgpipe-Token: $TOKEN" "${DASH}api/purge?queue=default")
  [ "$c" = 403 ] && grep -q "Host header" "$T/rebind.txt" ||
    fail "a POST with the token for Host $h answered $c: $(cat "$T/rebind.txt")"
done
for h in "127.0.0.1:$port" "localhost:$port" "LOCALHOST" "dash.localhost:$port" "localhost.:$port"; do
  c=$(code "" -H "Host: $h")
  [ "$c" = 200 ] || fail "the page for Host $h answered $c, not 200"
done
# raw REQUEST: the status line of the answer to REQUEST (\r and \n written as such), sent as it is.
raw() {
  python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].replace("\\r", "\r").replace("\\n", "\n").encode())
print(s.makefile("rb").readline().decode().strip())' "$port" "$1"
}
for req in "GET / HTTP/1.1\r\nConnection: close\r\n\r\n" \
  "GET / HTTP/1.1\r\nHost: localhost\r\nHost: rebind.example\r\nConnection: close\r\n\r\n" \
  "GET / HTTP/1.1\r\nHost: rebind.example\r\nHost: localhost\r\nConnection: close\r\n\r\n"; do
  st=$(raw "$req")
  [[ $st == "HTTP/1.1 400"* ]] || fail "no Host in HTTP/1.1, or two, answered '$st', not 400: $req"
done
st=$(raw 'GET / HTTP/1.0\r\n\r\n')
[[ $st == "HTTP/1.0 200"* || $st == "HTTP/1.1 200"* ]] || fail "HTTP/1.0 without Host answered '$st'"
kill "$DPID"
wait "$DPID" || true
start_dashboard --dir "$T/sh" --auth "ops:s3cret"
c=$(code "api/gallery" -H "Host: dash.example.org:$port" -u ops:s3cret)
[ "$c" = 200 ] || fail "with --auth, a request naming another host with the password answered $c"
c=$(code "api/gallery" -H "Host: dash.example.org:$port")
[ "$c" = 401 ] || fail "with --auth, a request without the password answered $c"
ok "without --auth, a Host naming another machine (a DNS rebinding) gets 403, no page, no token, no POST; no Host in HTTP/1.1, or two, 400"
