# The dashboard in a real browser (headless Chromium) over a real redis-server: what the
# page shows matches `status --json`; requeue, drop and purge work with the page's token and
# are refused without it; Redis going away shows a banner that goes when it is back; hostile
# URLs, worker and file names are shown as text; the gallery pages and serves only DIR's
# files; /metrics is valid; basic auth off loopback.
source "$TESTLIB"
HERE=$(dirname "${BASH_SOURCE[0]}")
source "$HERE/redis.sh"
source "$HERE/dashboard.sh"
status_json() { "$IMGPIPE" status --json "$@" >"$T/status.json" || fail "status --json failed"; }
# post PATH TOKEN: HTTP status of a POST (body in $T/post.json).
post() {
  curl -s -o "$T/post.json" -w '%{http_code}' -X POST ${2:+-H "X-Imgpipe-Token: $2"} "$DASH${1#/}"
}

RPORT=$(free_port)
export IMGPIPE_REDIS_URL="redis://127.0.0.1:$RPORT"
start_redis
start_galleryd --count 8

# 6 good jobs, 2 that fail for good (404), with markup in their URLs; a live worker whose
# name has markup in it.
HOSTILE='<script>alert(1)</script>'
{
  for i in 1 2 3 4 5 6; do echo "$BASE/x/ok$i.png"; done
  echo "$BASE/i/missing$HOSTILE.jpg"
  echo "$BASE/i/gone<img src=x onerror=alert(2)>.jpg"
} >"$T/jobs.txt"
run_imgpipe enqueue -o "$T/dl" "$T/jobs.txt"
expect_rc 0 "enqueue"
WNAME="w<b>$HOSTILE</b>"
"$IMGPIPE" worker -j 4 --retries 0 --name "$WNAME" >"$T/w.out" 2>"$T/w.err" &
WPID=$!
BG_PIDS+=("$WPID")
settled() {
  status_json
  [ "$(jq '.queues[0].done + .queues[0].failed' "$T/status.json")" -eq 8 ]
}
wait_until 30 "the worker to do the 8 jobs" settled

start_dashboard
dom /
status_json
jq -e --slurpfile s "$T/status.json" '
  .banner == null and (.queues | length) == 1 and
  (.queues[0] | .name == "default" and
    [.waiting, .in_progress, .scheduled, .retried, .done, .failed] ==
    ($s[0].queues[0] | [.waiting, .in_progress, .scheduled, .retried, .done, .failed]))' "$T/dom.json" >/dev/null ||
  fail "the page's queue row differs from status --json: $(jq -c .queues "$T/dom.json") vs $(jq -c '.queues[0] | del(.held, .failures)' "$T/status.json")"
[ "$(jq '.queues[0].done' "$T/dom.json")" -eq 6 ] && [ "$(jq '.queues[0].failed' "$T/dom.json")" -eq 2 ] ||
  fail "6 done and 2 failed expected on the page: $(jq -c .queues "$T/dom.json")"
jq -e --slurpfile s "$T/status.json" '
  [.failures[] | {id, url, error}] == [$s[0].queues[0].failures[] | {id, url, error}] and
  (.failures | length) == 2' "$T/dom.json" >/dev/null ||
  fail "the page's failures differ from status --json: $(jq -c .failures "$T/dom.json")"
# The 404 is an HTTP error; the URL with spaces in it is refused by libcurl.
jq -e '(.reasons | sort_by(.reason)) == [{"reason": "HTTP error status", "count": 1},
  {"reason": "invalid argument", "count": 1}] and
  ([.failures[] | select(.url | test("missing")) | .reason] == ["HTTP error status"])' \
  "$T/dom.json" >/dev/null || fail "failures by reason: $(jq -c '.reasons, .failures' "$T/dom.json")"
jq -e --arg n "$WNAME" '.workers == [{"name": $n, "state": "alive"}]' "$T/dom.json" >/dev/null ||
  fail "the live worker, named as given: $(jq -c .workers "$T/dom.json")"
ok "the page shows status --json's counts, failures (with their reason) and the worker"

# Markup from URLs and names is text: the only script is the page's own, no <img> or <b>
# was made from data, and the text reads as given.
jq -e '.tags.script == 1 and (.tags.img // 0) == 0 and (.tags.b // 0) == 0' "$T/dom.json" >/dev/null ||
  fail "markup from the data became elements: $(jq -c .tags "$T/dom.json")"
jq -e --arg u "$BASE/i/missing$HOSTILE.jpg" 'any(.failures[]; .url == $u)' "$T/dom.json" >/dev/null ||
  fail "the hostile URL is not shown as text: $(jq -c .failures "$T/dom.json")"
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$T/dom.html" || fail "no escaped <script> in the DOM"
ok "<script> and <img onerror> in URLs and a worker name are shown as text"

# CSRF: a POST without the token, or with another, is refused and changes nothing.
TOKEN=$(curl -s "$DASH" | sed -n 's/.*name="imgpipe-token" content="\([0-9a-f]*\)".*/\1/p')
[ ${#TOKEN} -eq 64 ] || fail "no token in the page"
[ "$(post "/api/requeue?queue=default" "")" = 403 ] || fail "a POST without the token was not refused"
WRONG=$([ "${TOKEN:0:1}" = a ] && echo b || echo a)${TOKEN:1}
[ "$(post "/api/requeue?queue=default" "$WRONG")" = 403 ] || fail "a POST with a wrong token was not refused"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${DASH}api/requeue?queue=default")" = 404 ] ||
  fail "a GET of an action is not refused"
status_json
[ "$(jq '.queues[0].failed' "$T/status.json")" -eq 2 ] || fail "a refused request changed the queue"
ok "requests without the page's token get 403 and change nothing"

# Requeue from the page: the same POST the page's button makes. The worker is stopped first
# so the requeued jobs stay waiting for status to see.
kill -TERM "$WPID"
wait "$WPID" || fail "the worker did not stop cleanly"
ID1=$(jq -r '.failures[0].id' "$T/dom.json")
ID2=$(jq -r '.failures[1].id' "$T/dom.json")
[ "$(post "/api/requeue?queue=default&id=$ID1" "$TOKEN")" = 200 ] || fail "requeue one: $(cat "$T/post.json")"
jq -e '.count == 1' "$T/post.json" >/dev/null || fail "requeue one counted $(cat "$T/post.json")"
status_json
jq -e '.queues[0] | .waiting == 1 and .failed == 1' "$T/status.json" >/dev/null ||
  fail "after requeueing one: $(jq -c '.queues[0] | del(.held)' "$T/status.json")"
dom /
jq -e --arg id "$ID2" '.queues[0].waiting == 1 and .queues[0].failed == 1 and [.failures[].id] == [$id]' \
  "$T/dom.json" >/dev/null || fail "the page after requeue: $(jq -c '.queues, .failures' "$T/dom.json")"
[ "$(post "/api/drop?queue=default&id=$ID2" "$TOKEN")" = 200 ] || fail "drop one: $(cat "$T/post.json")"
# The requeued job is taken by a consumer that has no heartbeat: purge leaves it pending.
redis-cli -p "$RPORT" XREADGROUP GROUP imgpipe ghost COUNT 1 STREAMS imgpipe:q:default '>' >/dev/null
[ "$(post "/api/purge?queue=default" "$TOKEN")" = 200 ] || fail "purge: $(cat "$T/post.json")"
jq -e '.count == 0' "$T/post.json" >/dev/null || fail "purge counted the job in hand: $(cat "$T/post.json")"
status_json
jq -e '.queues[0] | .waiting == 0 and .in_progress == 1 and .failed == 0' "$T/status.json" >/dev/null ||
  fail "after drop and purge: $(jq -c '.queues[0] | del(.held)' "$T/status.json")"
[ "$(post "/api/explode?queue=default" "$TOKEN")" = 400 ] || fail "an unknown action is not a 400"
ok "requeue, drop and purge with the token do what they say; purge leaves the job in hand"

# Paging: 250 failures come 50 at a time, each page older than the last, none twice.
for i in $(seq 1 250); do
  echo "XADD imgpipe:q:default:failed * url http://h/$i.png error e status \"HTTP error status\""
done | redis-cli -p "$RPORT" >/dev/null
seen=0 before=""
while :; do
  curl -sf "${DASH}api/failures?queue=default&count=50&before=$before" >"$T/page.json" || fail "failures page"
  n=$(jq '.failures | length' "$T/page.json")
  [ "$n" -le 50 ] || fail "a page of $n failures"
  seen=$((seen + n))
  before=$(jq -r '.next // empty' "$T/page.json")
  [ -n "$before" ] || break
done
[ "$seen" -eq 250 ] || fail "paging saw $seen of 250 failures"
curl -sf "${DASH}api/state" | jq -e '.queues[0].failed == 250 and .queues[0].reasons_sampled == 250' >/dev/null ||
  fail "state with 250 failures"
ok "250 failures page 50 at a time"

# Text that is not UTF-8: a Latin-1 link's failure and a worker named in Latin-1 are listed
# by the API (the bad byte as U+FFFD), and the buttons act on the failure by its id.
printf '%s/i/caf\xe9.jpg\n%s/i/gone.jpg\n' "$BASE" "$BASE" >"$T/latin1.txt" # both 404
run_imgpipe enqueue -Q enc -o "$T/enc" "$T/latin1.txt"
expect_rc 0 "enqueue of a Latin-1 link"
"$IMGPIPE" worker --retries 0 --name $'w\xe9' enc >"$T/wl.out" 2>"$T/wl.err" &
WL=$!
BG_PIDS+=("$WL")
enc_failed() { [ "$("$IMGPIPE" status --json enc | jq '.queues[0].failed')" -eq "$1" ]; }
wait_until 20 "the two failures of enc" enc_failed 2
latin1_id() { # the id of the Latin-1 failure in /api/failures
  curl -sf "${DASH}api/failures?queue=enc" |
    jq -r --arg u "$BASE/i/caf"$'\xef\xbf\xbd'".jpg" '.failures[] | select(.url == $u) | .id'
}
ID=$(latin1_id)
[ -n "$ID" ] || fail "the Latin-1 failure in /api/failures: $(curl -s "${DASH}api/failures?queue=enc")"
curl -sf "${DASH}api/state" >"$T/enc-state.json" || fail "/api/state with text not in UTF-8"
jq -e 'any(.workers[]; .name == "w\ufffd") and
  (.queues[] | select(.name == "enc") | .reasons[0].count == 2)' "$T/enc-state.json" >/dev/null ||
  fail "the Latin-1 worker and failures in /api/state: $(jq -c '.workers, .queues' "$T/enc-state.json")"
[ "$(post "/api/requeue?queue=enc&id=$ID" "$TOKEN")" = 200 ] && jq -e '.count == 1' "$T/post.json" >/dev/null ||
  fail "requeue of the Latin-1 failure: $(cat "$T/post.json")"
wait_until 20 "the requeued Latin-1 link to fail again" enc_failed 2
ID=$(latin1_id)
[ "$(post "/api/drop?queue=enc&id=$ID" "$TOKEN")" = 200 ] && jq -e '.count == 1' "$T/post.json" >/dev/null ||
  fail "drop of the Latin-1 failure: $(cat "$T/post.json")"
curl -sf "${DASH}api/failures?queue=enc" | jq -e --arg u "$BASE/i/gone.jpg" '[.failures[].url] == [$u]' >/dev/null ||
  fail "after the drop: $(curl -s "${DASH}api/failures?queue=enc")"
[ "$(LC_ALL=C grep -a -c "caf"$'\xe9'".jpg" "$T/wl.err")" -eq 2 ] || fail "the requeued job is not the Latin-1 link: $(cat "$T/wl.err")"
kill -TERM "$WL"
wait "$WL" || fail "the worker named w\\xe9 after SIGTERM"
ok "a Latin-1 link's failure and worker name are listed; requeue and drop work on it by id"

# /metrics: valid by a strict parser (and promtool when installed), the numbers of status.
curl -sf "${DASH}metrics" >"$T/metrics.txt" || fail "GET /metrics"
python3 "$HERE/promcheck.py" <"$T/metrics.txt" >"$T/metrics.json" || fail "/metrics is not valid"
if command -v promtool >/dev/null; then
  promtool check metrics <"$T/metrics.txt" || fail "promtool check metrics: $(promtool check metrics <"$T/metrics.txt" 2>&1)"
fi
status_json
jq -e --slurpfile s "$T/status.json" '
  .["imgpipe_queue_failed{queue=default}"] == $s[0].queues[0].failed and
  .["imgpipe_queue_done_total{queue=default}"] == $s[0].queues[0].done and
  .["imgpipe_queue_waiting{queue=default}"] == 0 and .imgpipe_redis_up == 1 and
  .["imgpipe_queue_failed_by_reason{queue=default,reason=HTTP error status}"] == 250' "$T/metrics.json" >/dev/null ||
  fail "/metrics numbers: $(cat "$T/metrics.json")"
ok "/metrics is valid exposition format with status's numbers"

# Redis going away: the page says so, /api/state is 503, /metrics says redis down; back
# again (empty: no persistence), the banner goes.
kill "$RPID"
wait "$RPID" 2>/dev/null || true
dom /
jq -e '.banner | test("Redis is unreachable")' "$T/dom.json" >/dev/null ||
  fail "no banner with Redis down: $(jq -c .banner "$T/dom.json")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${DASH}api/state")" = 503 ] || fail "/api/state is not 503 with Redis down"
curl -sf "${DASH}metrics" | grep -qx 'imgpipe_redis_up 0' || fail "/metrics does not say Redis is down"
start_redis
sleep 1.2 # the dashboard asks a down Redis once a second
dom /
jq -e '.banner == null and .queues[0].name == "default"' "$T/dom.json" >/dev/null ||
  fail "the page did not recover: $(jq -c '.banner, .queues' "$T/dom.json")"
ok "Redis down shows a banner; the page recovers when it is back"
kill "$DPID"
wait "$DPID" || fail "the dashboard did not exit 0 on SIGTERM: $(cat "$T/dash.err")"

# The gallery: 30 images with thumbnails from get (its ledger gives each source URL), a
# file with markup in its name, and things that must not be served.
for i in $(seq 1 30); do printf '%s/x/g%02d.png?q=%s\n' "$BASE" "$i" "$([ "$i" = 1 ] && echo "$HOSTILE" || echo "$i")"; done >"$T/gal.txt"
run_imgpipe get -q -o "$T/gal" --thumb 64x64 "$T/gal.txt"
expect_rc 0 "get for the gallery"
EVIL='z<img src=x onerror=alert(3)>.png' # a file name has no '/': no closing tags
cp "$T/gal/g02.png" "$T/gal/$EVIL"
ln -s /etc/passwd "$T/gal/zlink.png"
start_dashboard --dir "$T/gal"
dom /gallery
jq -e '(.tiles | length) == 24 and .tags.script == 1 and .tags.img == 24' "$T/dom.json" >/dev/null ||
  fail "gallery page 1: $(jq -c '.tiles | length' "$T/dom.json") tiles, tags $(jq -c .tags "$T/dom.json")"
jq -e --arg u "$BASE/x/g01.png?q=$HOSTILE" '
  .tiles[0] | .name == "g01.png" and .href == "/files/g01.png" and
  .img == "/files/g01_thumbnail.png" and (.meta | index($u)) != null' "$T/dom.json" >/dev/null ||
  fail "the first tile: $(jq -c '.tiles[0]' "$T/dom.json")"
jq -e --arg s "$(stat -c %s "$T/gal/g01.png")" '.tiles[0].meta[0] == ($s + " B")' \
  "$T/dom.json" >/dev/null || fail "the first tile's size: $(jq -c '.tiles[0]' "$T/dom.json")"
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$T/dom.html" || fail "the ledger's hostile URL is not text"
dom "/gallery?page=2"
jq -e --arg e "$EVIL" '(.tiles | length) == 7 and .tags.img == 7 and .tags.script == 1 and
  .tiles[-1].name == $e' "$T/dom.json" >/dev/null ||
  fail "gallery page 2: $(jq -c '.tiles[-1], .tags' "$T/dom.json")"
curl -sf "${DASH}api/gallery?page=2" >"$T/g2.json" || fail "gallery page 2"
jq -e '.total == 31 and .pages == 2 and (.items | length) == 7' "$T/g2.json" >/dev/null ||
  fail "gallery page 2: $(jq -c . "$T/g2.json")"
curl -sf "${DASH}files/g05.png" -o "$T/served.png" && cmp -s "$T/served.png" "$T/gal/g05.png" ||
  fail "the served original differs from the file"
for bad in "files/zlink.png" "files/..%2f..%2fetc%2fpasswd" "files/.imgpipe" "files/%2e%2e"; do
  code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$DASH$bad")
  [ "$code" = 404 ] || fail "$bad answered $code, not 404"
done
code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "${DASH}files/../../../etc/passwd")
[ "$code" = 404 ] || fail "a ../ path answered $code"
ok "the gallery pages 24 at a time with thumbnails, sizes and source URLs; no traversal, no symlinks"
kill "$DPID"
wait "$DPID" || true

# --metrics-listen: a worker's and a get run's own counters, scraped while they run.
MPORT=$(free_port)
printf '%s\n' "$BASE/x/m1.png" "$BASE/x/m2.png" "$BASE/x/m3.png" "$BASE/i/nope.jpg" >"$T/m.txt"
run_imgpipe enqueue -q metered -o "$T/mdl" "$T/m.txt"
"$IMGPIPE" worker --retries 0 --metrics-listen "127.0.0.1:$MPORT" metered >"$T/mw.out" 2>"$T/mw.err" &
MW=$!
BG_PIDS+=("$MW")
four_seen() {
  curl -sf "http://127.0.0.1:$MPORT/metrics" >"$T/wm.txt" &&
    [ "$(sed -n 's/^imgpipe_job_seconds_count //p' "$T/wm.txt")" = 4 ]
}
wait_until 20 "the worker's /metrics to count 4 jobs" four_seen
python3 "$HERE/promcheck.py" <"$T/wm.txt" >"$T/wm.json" || fail "the worker's /metrics is not valid"
if command -v promtool >/dev/null; then promtool check metrics <"$T/wm.txt" || fail "promtool on the worker's /metrics"; fi
bytes=$(cat "$T"/mdl/m*.png | wc -c)
jq -e --argjson b "$bytes" '.imgpipe_jobs_done_total == 3 and .imgpipe_bytes_total == $b and
  .["imgpipe_jobs_failed_total{reason=HTTP error status}"] == 1 and
  .["imgpipe_job_seconds_bucket{le=+Inf}"] == 4' "$T/wm.json" >/dev/null ||
  fail "the worker's counters: $(cat "$T/wm.json")"
kill -TERM "$MW"
wait "$MW" || fail "the metered worker did not stop cleanly"
run_imgpipe get --metrics-listen 127.0.0.1:notaport "$T/m.txt"
expect_rc 2 "get with a bad --metrics-listen"
start_galleryd --count 2 --latency-ms 700
for i in 1 2 3 4 5; do echo "$BASE/x/s$i.png"; done >"$T/slow.txt"
"$IMGPIPE" get -q -m seq --metrics-listen "127.0.0.1:$MPORT" -o "$T/sdl" "$T/slow.txt" 2>"$T/get.err" &
GETP=$!
BG_PIDS+=("$GETP")
one_done() {
  curl -sf "http://127.0.0.1:$MPORT/metrics" >"$T/gm.txt" && grep -qx 'imgpipe_jobs_done_total [1-4]' "$T/gm.txt"
}
wait_until 20 "get's /metrics to count a job while it runs" one_done
python3 "$HERE/promcheck.py" <"$T/gm.txt" >/dev/null || fail "get's /metrics is not valid"
wait "$GETP" || fail "the metered get failed: $(cat "$T/get.err")"
ok "--metrics-listen on worker and get: valid, with jobs, failures by reason, bytes and latency"

# Off loopback, auth is required; with it, requests without credentials get 401.
run_imgpipe dashboard --listen 0.0.0.0:0
expect_rc 2 "dashboard on 0.0.0.0 without --auth"
expect_err "needs basic auth" "dashboard on 0.0.0.0 without --auth"
expect_err "--auth USER:PASSWORD" "dashboard on 0.0.0.0 without --auth (the CLI's hint)"
"$IMGPIPE" dashboard --listen 0.0.0.0:0 --auth 'ops:s3cret' >"$T/dash.out" 2>"$T/dash.err" &
DPID=$!
BG_PIDS+=("$DPID")
wait_until 10 "the dashboard to listen on 0.0.0.0" grep -q '^imgpipe dashboard on http' "$T/dash.out"
PORT=$(sed -n 's/.*:\([0-9]*\)\/$/\1/p' "$T/dash.out")
# the warning follows the "on URL" line: wait for it rather than race it
wait_until 10 "a warning about plain HTTP" grep -q "TLS" "$T/dash.err"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/state")" = 401 ] || fail "no 401 without credentials"
[ "$(curl -s -o /dev/null -w '%{http_code}' -u ops:wrong "http://127.0.0.1:$PORT/api/state")" = 401 ] || fail "no 401 with a wrong password"
[ "$(curl -s -o /dev/null -w '%{http_code}' -u ops:s3cret "http://127.0.0.1:$PORT/api/state")" = 200 ] || fail "no 200 with the password"
# ps and /proc/PID/cmdline show the arguments to every user of the host
tr '\0' ' ' <"/proc/$DPID/cmdline" >"$T/dash.cmdline"
! grep -q s3cret "$T/dash.cmdline" || fail "the dashboard's command line shows the password: $(cat "$T/dash.cmdline")"
grep -q -- "--auth ops:\*\*\*\*\*\* " "$T/dash.cmdline" || fail "cmdline: $(cat "$T/dash.cmdline")"
ok "off loopback: --auth required, basic auth checked, a warning about plain HTTP"
