# Hostile inputs that must cost at most one item, never the run, and never be retried when
# the next attempt cannot do better (issue #11, items 9 and 10): a Retry-After that
# overflows, a 100 KB response header, a URL list that starts with a byte order mark, an
# API item whose text is not valid Unicode.
source "$TESTLIB"
start_galleryd --count 4

# Retry-After: 10000000000000000 (s) overflowed a long once multiplied into ms (UBSan
# stopped; otherwise the wrapped value was retried at once). Asking for longer than we
# wait fails the item at once; a 110 KB header line is refused by libcurl, and is no less
# refused on a retry: both fail after one attempt, with a sentence that says why.
for m in seq threads procs async; do
  run_imgpipe get -m "$m" -o "$T/h-$m" --retries 3 --retry-wait 0.2 \
    "$BASE/f/hugeretry/$m/a.jpg" "$BASE/f/bighead/$m/b.jpg" "$BASE/i/img0000.jpg"
  expect_rc 1 "mode $m: hugeretry and bighead"
  grep "/f/hugeretry/$m/" "$T/err" | grep -q "HTTP 429 (too many requests; retry after" ||
    fail "mode $m: hugeretry: $(cat "$T/err")"
  grep "/f/bighead/$m/" "$T/err" | grep -q "response header too large" ||
    fail "mode $m: bighead: $(cat "$T/err")"
  grep -q "attempts" "$T/err" && fail "mode $m: retried what cannot pass: $(cat "$T/err")"
  cmp -s "$T/h-$m/img0000.jpg" <(curl -sf "$BASE/i/img0000.jpg") || fail "mode $m: the good link"
  ok "mode $m: a huge Retry-After and a 100 KB header fail at once, the rest is done"
done

# A list saved with a UTF-8 byte order mark keeps its first URL.
printf '\xef\xbb\xbf%s\r\n%s\r\n' "$BASE/x/first.png" "$BASE/x/second.png" >"$T/bom.txt"
run_imgpipe get -o "$T/bom" "$T/bom.txt"
expect_rc 0 "a list with a byte order mark"
[ -f "$T/bom/first.png" ] && [ -f "$T/bom/second.png" ] ||
  fail "a list with a byte order mark: got $(ls "$T/bom"); stderr: $(cat "$T/err")"
ok "a URL list that starts with a byte order mark gives its first URL"

# Imgur API requests are retried as downloads are (issue #11, item 10): a 503 or a 429 from
# the API used to end the run. /f/<fault>/<key>/3/... answers as the API once the fault
# has run out.
export IMGUR_CLIENT_ID=e2e-client
IMGUR_API_URL="$BASE/f/503x2/links" run_imgpipe links imgur:gallery/hot
expect_rc 0 "links with an API that answers 503 twice"
[ "$(wc -l <"$T/out")" -eq 4 ] || fail "links after 503s: $(cat "$T/out")"
start=$(date +%s%N)
IMGUR_API_URL="$BASE/f/429x1r1/get" run_imgpipe get -o "$T/api429" imgur:gallery/hot
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_rc 0 "get with an API that answers 429 (Retry-After: 1) once"
[ "$(ls "$T/api429" | wc -l)" -eq 4 ] || fail "get after a 429: $(ls "$T/api429")"
[ "$took" -ge 1000 ] || fail "the API's Retry-After was not waited ($took ms)"
IMGUR_API_URL="$BASE/f/500x50/bounded" run_imgpipe get -o "$T/api500" --retries 2 \
  --retry-wait 0.1 imgur:gallery/hot
expect_rc 1 "get with an API that keeps answering 500"
expect_err "HTTP 500.*(after 3 attempts)" "the API's retries are bounded by --retries"
IMGUR_API_URL="$BASE/f/hugeretry/api" run_imgpipe links imgur:gallery/hot
expect_rc 1 "links with an API that asks to come back in 1e16 s"
grep -q attempts "$T/err" && fail "an API Retry-After past our limit was waited: $(cat "$T/err")"
ok "API requests are retried after 503 and 429 (Retry-After waited), boundedly"
kill "$GPID"

# One item with a lone surrogate escape, one with bytes that are not UTF-8, one with a NUL
# escape in its title: each is still an image, and the page is not lost for them.
mkdir -p "$T/api"
printf '{"data":[{"title":"\\ud800","type":"image/png","link":"{{base}}/x/s.png"},%s%s%s' \
  '{"title":"bad '$'\xff\xfe''","type":"image/png","link":"{{base}}/x/u.png"},' \
  '{"title":"nul \\u0000","type":"image/png","link":"{{base}}/x/n.png"},' \
  '{"title":"fine","type":"image/png","link":"{{base}}/x/f.png"}],"success":true,"status":200}' \
  >"$T/api/gallery.json"
start_galleryd --dir "$T/api"
run_imgpipe links imgur:gallery/hot
expect_rc 0 "a page with items whose text is not valid Unicode"
[ "$(cat "$T/out")" = "$(printf '%s\n' "$BASE/x/s.png" "$BASE/x/u.png" "$BASE/x/n.png" "$BASE/x/f.png")" ] ||
  fail "items with bad text: got $(cat "$T/out"); stderr: $(cat "$T/err")"
ok "API items whose titles are not valid Unicode keep their page and their links"
