#!/usr/bin/env bash
# End-to-end checks of galleryd, the Imgur-shaped server the other e2e tests and the
# benchmarks run against: start-up and port file, auth, gallery/album items, /i/ bytes,
# /x/ hostile names, failure prefixes, pagination, --latency-ms, gallery.json with
# {{base}}, bad options, and a clean exit 0 on SIGTERM (which under ASan also means no
# leaks). Needs GALLERYD (set by CTest) and the curl command-line tool.
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

# start NAME ARGS...: runs galleryd on a free port; sets pid and base. Waits at most 10 s.
start() {
    local name=$1
    shift
    rm -f "$tmp/$name.port"
    "$GALLERYD" --port 0 --port-file "$tmp/$name.port" "$@" 2>"$tmp/$name.log" &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 200); do
        [[ -s "$tmp/$name.port" ]] && break
        if ! kill -0 "$pid" 2>/dev/null; then break; fi
        sleep 0.05
    done
    if [[ ! -s "$tmp/$name.port" ]]; then
        echo "FAIL - galleryd $name did not write its port file within 10 s; its log:"
        cat "$tmp/$name.log"
        exit 1
    fi
    base="http://127.0.0.1:$(cat "$tmp/$name.port")"
}

# get URL [CURL ARGS...]: body into $tmp/body, prints the HTTP status.
get() {
    local url=$1
    shift
    curl -s -o "$tmp/body" -w '%{http_code}' "$@" "$url"
}

auth=(-H 'Authorization: Client-ID test-client')

# stop NAME PID: SIGTERM must give exit status 0 (and, under ASan, no leak report).
stop() {
    local rc=0
    kill -TERM "$2"
    wait "$2" || rc=$?
    check "galleryd $1 exits 0 on SIGTERM" 0 "$rc"
    if [[ $rc -ne 0 ]]; then cat "$tmp/$1.log"; fi
}

# --- the generated sample gallery -----------------------------------------------------
start sample --count 24
sample_pid=$pid
check_has "start-up line names the base URL" "serving 24 images on $base (api: $base/3/gallery/random/random/)" "$(cat "$tmp/sample.log")"

code=$(get "$base/3/gallery/random/random/")
check "gallery without Client-ID is 403" 403 "$code"
check_has "403 body is Imgur's error" '"error":"Authentication required","request":"/3/gallery/random/random/"' "$(cat "$tmp/body")"
code=$(get "$base/3/gallery/random/random/" -H 'Authorization: Client-ID ')
check "gallery with an empty Client-ID is 403" 403 "$code"

code=$(get "$base/3/gallery/random/random/" "${auth[@]}")
check "gallery with Client-ID is 200" 200 "$code"
body=$(cat "$tmp/body")
check_has "gallery is a success" '"success":true,"status":200}' "$body"
check_has "first item links under the base" "\"link\":\"$base/i/img0000.jpg\"" "$body"
check_has "gallery has the gif item" "{\"id\":\"gif0\",\"type\":\"image/gif\",\"animated\":true,\"link\":\"$base/i/gif0.gif\"}" "$body"
check_has "gallery has the album item" "\"is_album\":true,\"link\":\"$base/a/sample\",\"images_count\":2" "$body"
links=$(grep -o "\"link\":\"$base/i/img[0-9]*\.\(jpg\|png\)\"" <<<"$body" | sort)
check "every image is listed once (with the album's two)" 24 "$(sort -u <<<"$links" | wc -l)"
check "no image is listed twice" 24 "$(wc -l <<<"$links")"
check "about a quarter are PNG" 6 "$(grep -c '\.png"' <<<"$links" || true)"
code=$(get "$base/3/gallery/hot/viral/day/1" "${auth[@]}")
check "page 1 is empty" '200 {"data":[],"success":true,"status":200}' "$code $(cat "$tmp/body")"
code=$(get "$base/3/gallery/hot/viral/day/0" "${auth[@]}")
check_has "page 0 is the full list" "$base/i/img0000.jpg" "$code $(cat "$tmp/body")"

code=$(get "$base/3/album/sample" "${auth[@]}")
check_has "album holds the last two images" "\"images_count\":2,\"images\":[{\"id\":\"img0022\"" "$code $(cat "$tmp/body")"
code=$(get "$base/3/album/sample/images" "${auth[@]}")
check_has "album images are a data array" '{"data":[{"id":"img0022"' "$(cat "$tmp/body")"
code=$(get "$base/3/album/nope" "${auth[@]}")
check "unknown album is 404" 404 "$code"
check_has "unknown album error text" '"error":"Unable to find an album with the id, nope"' "$(cat "$tmp/body")"

code=$(get "$base/i/img0000.jpg")
check "sample JPEG is served" 200 "$code"
check "sample JPEG starts with the JPEG magic" "ffd8ff" "$(head -c 3 "$tmp/body" | od -An -tx1 | tr -d ' \n')"
size=$(grep -o '"size":[0-9]*,"link":"[^"]*/img0000.jpg"' <<<"$body" | sed 's/"size":\([0-9]*\).*/\1/' || true)
check "listed size equals the bytes served" "$size" "$(stat -c %s "$tmp/body")"
check "unknown image is 404" 404 "$(get "$base/i/nope.jpg")"
check "path tricks do not reach the file system" 404 "$(get "$base/i/../../etc/passwd" --path-as-is)"

png_magic=89504e470d0a1a0a
long=$(printf 'a%.0s' $(seq 3000))
for path in "/x/../anything" "/x/..%2F..%2Fetc%2Fpasswd" "/x/$long.png" "/x/"; do
    code=$(get "$base$path" --path-as-is)
    check "GET ${path:0:40} is a PNG" "200 $png_magic" "$code $(head -c 8 "$tmp/body" | od -An -tx1 | tr -d ' \n')"
done

# --- failure prefixes -----------------------------------------------------------------
check "/broken/ needs Client-ID too" 403 "$(get "$base/broken/3/gallery/random/random/")"
code=$(get "$base/broken/3/gallery/random/random/" "${auth[@]}")
check "/broken/ is 200 with truncated JSON" '200 {"data":[{"id":"x",' "$code $(cat "$tmp/body")"
code=$(get "$base/fail/3/gallery/random/random/" "${auth[@]}")
check "/fail/ is 500 with Imgur's error" '500 {"data":{"error":"Imgur is temporarily over capacity. Please try again later.","request":"/fail/3/gallery/random/random/","method":"GET"},"success":false,"status":500}' "$code $(cat "$tmp/body")"
code=$(get "$base/shape/3/gallery/random/random/" "${auth[@]}")
check "/shape/ is 200 with an unexpected shape" '200 {"data":{"unexpected":true},"success":true,"status":200}' "$code $(cat "$tmp/body")"
code=$(get "$base/nosuccess/3/gallery/random/random/" "${auth[@]}")
check_has "/nosuccess/ is 200 with success false" '200 {"data":{"error":"Invalid client"' "$code $(cat "$tmp/body")"
check_has "/nosuccess/ says success false" '"success":false,"status":200}' "$(cat "$tmp/body")"
check "other paths are 404" 404 "$(get "$base/nothing/here")"

# Real images for the --dir gallery below.
mkdir -p "$tmp/corpus/i"
curl -sf -o "$tmp/corpus/i/img0000.jpg" "$base/i/img0000.jpg"
curl -sf -o "$tmp/corpus/i/img0003.png" "$base/i/img0003.png"
stop sample "$sample_pid"

# --- a --dir gallery: DIR/i/ layout, names needing escapes, non-images skipped ------------
weird='we "ird" näme.jpg'
cp "$tmp/corpus/i/img0000.jpg" "$tmp/corpus/i/$weird"
printf 'GIF89a\002\000\003\000\000\000\000;' >"$tmp/corpus/i/anim.gif"
echo "not an image" >"$tmp/corpus/i/notes.txt"
cp "$tmp/corpus/i/img0000.jpg" "$tmp/corpus/i/.hidden.jpg"
start dir --dir "$tmp/corpus"
dir_pid=$pid
check_has "start-up line counts the --dir images" "serving 4 images on $base" "$(cat "$tmp/dir.log")"
code=$(get "$base/3/gallery/top/time/week/" "${auth[@]}")
body=$(cat "$tmp/body")
check "--dir gallery is 200" 200 "$code"
check_has "gif size is read from its header" "{\"id\":\"anim\",\"title\":\"anim\",\"type\":\"image/gif\",\"animated\":false,\"width\":2,\"height\":3,\"size\":14,\"link\":\"$base/i/anim.gif\"}" "$body"
check_has "JPEG size is read from its header" '"width":320,"height":240' "$body"
check_has "names are JSON-escaped" '"id":"we \"ird\" näme"' "$body"
check_has "links are percent-encoded" "\"link\":\"$base/i/we%20%22ird%22%20n%C3%A4me.jpg\"" "$body"
check "non-images and dot files are not listed" "" "$(grep -o 'notes\|hidden' <<<"$body" || true)"
for pair in img0000.jpg img0003.png anim.gif "$weird|we%20%22ird%22%20n%C3%A4me.jpg"; do
    f=${pair%%|*} enc=${pair#*|}
    code=$(get "$base/i/$enc")
    if [[ $code == 200 ]] && cmp -s "$tmp/body" "$tmp/corpus/i/$f"; then
        ok "/i/ bytes equal the file on disk: $f"
    else
        bad "/i/ bytes equal the file on disk: $f: expected 200 and the bytes of $tmp/corpus/i/$f from /i/$enc, got $code"
    fi
done
code=$(get "$base/i/notes.txt")
check "non-image files are not served" 404 "$code"

# gallery.json is re-read per request, so it can be written after start.
printf '{"data":[{"id":"a","type":"image/png","link":"{{base}}/i/img0003.png"},{"link":"{{base}}/x/{{base}}"}],"success":true,"status":200}' >"$tmp/corpus/gallery.json"
code=$(get "$base/3/gallery/random/random" "${auth[@]}")
check "gallery.json is served with {{base}} replaced" "200 {\"data\":[{\"id\":\"a\",\"type\":\"image/png\",\"link\":\"$base/i/img0003.png\"},{\"link\":\"$base/x/$base\"}],\"success\":true,\"status\":200}" "$code $(cat "$tmp/body")"
code=$(get "$base/3/gallery/random/random/day/1" "${auth[@]}")
check "page 1 is empty with gallery.json too" '200 {"data":[],"success":true,"status":200}' "$code $(cat "$tmp/body")"
stop dir "$dir_pid"

# --- --latency-ms and --client-id --------------------------------------------------------
start slow --count 3 --latency-ms 300 --client-id secret
slow_pid=$pid
t=$(curl -s -o /dev/null -w '%{time_total}' "$base/i/img0000.jpg")
if awk -v t="$t" 'BEGIN { exit !(t >= 0.3) }'; then ok "--latency-ms 300 delays a response ($t s)"; else bad "--latency-ms 300: expected a request to take >= 0.3 s, took $t s"; fi
check "--client-id rejects another id" 403 "$(get "$base/3/gallery/random/random/" "${auth[@]}")"
check "--client-id accepts its id" 200 "$(get "$base/3/gallery/random/random/" -H 'Authorization: Client-ID secret')"
check_has "three images make an album" '"is_album":true' "$(cat "$tmp/body")"
stop slow "$slow_pid"

# --- options ------------------------------------------------------------------------------
rc=0
"$GALLERYD" --port nope 2>"$tmp/opt.log" || rc=$?
check "a bad --port exits 2" 2 "$rc"
check_has "a bad option prints usage" "usage: galleryd" "$(cat "$tmp/opt.log")"
rc=0
"$GALLERYD" --count 3 2>/dev/null || rc=$?
check "missing --port exits 2" 2 "$rc"
rc=0
help=$("$GALLERYD" --help) || rc=$?
check "--help exits 0" 0 "$rc"
check_has "--help documents /x/" "/x/ANYTHING" "$help"

checks_done "galleryd"
