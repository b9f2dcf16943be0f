#!/usr/bin/env bash
# End-to-end checks of galleryd's fault injection, /f/<fault>/<key>/<name>, which imgpipe's
# retry and validation tests rely on: counted statuses per path, Retry-After in both forms,
# truncated bodies, drip and stall, wrong types, redirects, the PNG bomb header, unknown
# faults, and a fast clean exit on SIGTERM with a stall still open. Needs GALLERYD (set by
# CTest) and the curl command-line tool. The slow faults run in the background meanwhile,
# so the whole test takes about 3 s.
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

# check_le DESCRIPTION MAX ACTUAL
check_le() {
    if [[ "$3" =~ ^[0-9]+$ ]] && (($3 <= $2)); then ok "$1 ($3)"; else bad "$1: expected at most $2, got [$3]"; fi
}

rm -f "$tmp/port"
"$GALLERYD" --port 0 --port-file "$tmp/port" --count 6 2>"$tmp/log" &
gpid=$!
pids+=("$gpid")
for _ in $(seq 200); do
    [[ -s "$tmp/port" ]] && break
    kill -0 "$gpid" 2>/dev/null || break
    sleep 0.05
done
if [[ ! -s "$tmp/port" ]]; then
    echo "FAIL - galleryd did not write its port file within 10 s; its log:"
    cat "$tmp/log"
    exit 1
fi
base="http://127.0.0.1:$(cat "$tmp/port")"

# fetch NAME URL [CURL ARGS...]: body in $tmp/NAME.body, headers in $tmp/NAME.hdr; prints
# "<curl exit status> <HTTP status> <bytes of body>".
fetch() {
    local name=$1 url=$2 rc=0 out
    shift 2
    out=$(curl -s -o "$tmp/$name.body" -D "$tmp/$name.hdr" -w '%{http_code} %{size_download}' \
        "$@" "$url") || rc=$?
    echo "$rc $out"
}

# header NAME FIELD: that field's value from $tmp/NAME.hdr (the last response), no CR.
header() {
    grep -i "^$2:" "$tmp/$1.hdr" | tail -n 1 | cut -d' ' -f2- | tr -d '\r'
}

# The slow ones first, in the background, so they overlap the rest.
fetch drip "$base/f/drip/a/img0000.jpg" --max-time 3 >"$tmp/drip.res" &
drip_job=$!
fetch stall "$base/f/stall/a/img0000.jpg" --max-time 2 >"$tmp/stall.res" &
stall_job=$!

size=$(curl -s -o /dev/null -w '%{size_download}' "$base/i/img0000.jpg")
png_magic=89504e470d0a1a0a
magic() { head -c "$2" "$tmp/$1.body" | od -An -tx1 | tr -d ' \n'; }

# --- counted statuses -------------------------------------------------------------------
for status in 500 502 503 504 408; do
    codes=""
    for _ in 1 2 3; do codes+="$(curl -s -o /dev/null -w '%{http_code}' "$base/f/${status}x2/a/img0000.jpg") "; done
    check "${status}x2 fails twice, then serves the image" "$status $status 200 " "$codes"
done
check "a fresh key has its own counter" 503 "$(curl -s -o /dev/null -w '%{http_code}' "$base/f/503x2/b/img0000.jpg")"
check "another name is another path too" 503 "$(curl -s -o /dev/null -w '%{http_code}' "$base/f/503x2/a/img0001.jpg")"
check "503x0 never fails" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$base/f/503x0/a/img0000.jpg")"
res=$(fetch after "$base/f/503x1/c/img0000.jpg")
res=$(fetch after "$base/f/503x1/c/img0000.jpg")
check "after the failures the body is the image" "0 200 $size ffd8ff" "$res $(magic after 3)"
res=$(fetch fail "$base/f/504x1/c/img0000.jpg")
check_has "a failure has a short text body" "injected 504 (request 1 of 1)" "$res $(cat "$tmp/fail.body")"

# --- 429 and Retry-After ----------------------------------------------------------------
res=$(fetch r1 "$base/f/429x1/a/img0000.jpg")
check "429x1 is 429 with Retry-After 1" "0 429 1" "${res% *} $(header r1 Retry-After)"
res=$(fetch r1 "$base/f/429x1/a/img0000.jpg")
check "429x1 then serves the image" "0 200 $size" "$res"
res=$(fetch r7 "$base/f/429x2r7/a/img0000.jpg")
check "429x2r7 says Retry-After 7" "0 429 7" "${res% *} $(header r7 Retry-After)"
fetch r7 "$base/f/429x2r7/a/img0000.jpg" >/dev/null
res=$(fetch r7 "$base/f/429x2r7/a/img0000.jpg")
check "429x2r7 serves the third request" "0 200" "${res% *}"
res=$(fetch d30 "$base/f/429x1d30/a/img0000.jpg")
date=$(header d30 Retry-After)
check "429x1d30 is 429" "0 429" "${res% *}"
if [[ "$date" =~ ^(Mon|Tue|Wed|Thu|Fri|Sat|Sun),\ [0-9]{2}\ [A-Z][a-z]{2}\ [0-9]{4}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ GMT$ ]]; then
    ahead=$(($(date -u -d "$date" +%s) - $(date -u +%s)))
    if ((ahead >= 25 && ahead <= 31)); then ok "Retry-After date is 30 s ahead ($date)"; else bad "Retry-After date: expected about 30 s ahead, got $ahead s ($date)"; fi
else
    bad "429x1d30: expected Retry-After as an IMF-fixdate, got [$date]"
fi

# --- truncated bodies -------------------------------------------------------------------
res=$(fetch reset "$base/f/resetx1/a/img0000.jpg")
check "resetx1: curl 18 (partial file) after half the body" "18 200 $((size / 2))" "$res"
check "resetx1 announces the full Content-Length" "$size" "$(header reset Content-Length)"
res=$(fetch reset "$base/f/resetx1/a/img0000.jpg")
check "resetx1 then serves the whole image" "0 200 $size" "$res"
for _ in 1 2; do
    res=$(fetch short "$base/f/short/a/img0000.jpg")
    check "short is truncated every time: curl 18 after the image" "18 200 $size" "$res"
done
check "short announces 1000 bytes too many" "$((size + 1000))" "$(header short Content-Length)"
res=$(fetch big "$base/f/big/a/img0000.jpg")
check "big announces 200 MiB" 209715200 "$(header big Content-Length)"
check "big sends the image, then closes: curl 18" "18 200 $size" "$res"
res=$(fetch bigcap "$base/f/big/a/img0000.jpg" --max-filesize 1000000)
check "a client with a size limit gives up on big's header: curl 63" "63 200 0" "$res"

# --- types, pages, redirects ------------------------------------------------------------
res=$(fetch ctype "$base/f/ctype/a/img0000.jpg")
check "ctype: the image bytes as text/html" "0 200 $size text/html ffd8ff" "$res $(header ctype Content-Type) $(magic ctype 3)"
res=$(fetch html "$base/f/html/a/img0000.jpg")
check "html: a Not found page" "0 200 text/html; charset=utf-8 <!DOCTYPE html><html><body>Not found</body></html>" "${res% *} $(header html Content-Type) $(cat "$tmp/html.body")"
res=$(fetch loop "$base/f/loop/a/img0000.jpg")
check "loop redirects to itself" "0 302 $base/f/loop/a/img0000.jpg" "${res% *} $(header loop Location)"
res=$(fetch loopL "$base/f/loop/a/img0000.jpg" -L --max-redirs 5)
check "loop: curl -L gives up with 47 (too many redirects)" "47 302" "${res% *}"
res=$(fetch removed "$base/f/removed/a/img0000.jpg")
check "removed redirects to /removed.png" "0 302 $base/removed.png" "${res% *} $(header removed Location)"
res=$(fetch removedL "$base/f/removed/a/img0000.jpg" -L)
check "/removed.png is a 161x81 PNG" "0 200 image/png $png_magic 000000a100000051" "${res% *} $(header removedL Content-Type) $(magic removedL 8) $(od -An -tx1 -j16 -N8 "$tmp/removedL.body" | tr -d ' \n')"
res=$(fetch redirect "$base/f/redirect/a/img0003.png")
check "redirect goes to /i/NAME" "0 302 $base/i/img0003.png" "${res% *} $(header redirect Location)"
res=$(fetch redirectL "$base/f/redirect/a/img0003.png" -L)
check "redirect works: a PNG at the end" "0 200 image/png $png_magic" "${res% *} $(header redirectL Content-Type) $(magic redirectL 8)"
res=$(fetch other "$base/f/redirect/a/not-in-gallery.gif" -L)
check "a name not in the gallery means the first JPEG" "0 200 $size ffd8ff $base/i/img0000.jpg" "$res $(magic other 3) $(header other Location | head -n 1)"

# --- the bomb ---------------------------------------------------------------------------
res=$(fetch bomb "$base/f/bomb/a/img0000.jpg")
check "bomb is a PNG" "0 200 image/png $png_magic" "${res% *} $(header bomb Content-Type) $(magic bomb 8)"
check "bomb's IHDR declares 30000x30000" "0000753000007530" "$(od -An -tx1 -j16 -N8 "$tmp/bomb.body" | tr -d ' \n')"
check "bomb's IHDR says 8-bit RGBA" "0806" "$(od -An -tx1 -j24 -N2 "$tmp/bomb.body" | tr -d ' \n')"
if command -v python3 >/dev/null; then
    crc=$(python3 -c 'import sys, zlib; d = open(sys.argv[1], "rb").read(); print(zlib.crc32(d[12:29]) == int.from_bytes(d[29:33], "big"))' "$tmp/bomb.body")
    check "bomb's IHDR CRC is right" True "$crc"
fi

# --- bad requests -----------------------------------------------------------------------
res=$(fetch unknown "$base/f/nope/a/img0000.jpg")
check "an unknown fault is 404" "0 404 unknown fault" "${res% *} $(cat "$tmp/unknown.body")"
for f in 503 503x 503xx 429x1q2 429x1r 599x1 resetx1r2; do
    check "fault '$f' is unknown" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$base/f/$f/a/img0000.jpg")"
done
check "a missing name is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$base/f/html/a/")"

# --- the slow ones ----------------------------------------------------------------------
wait "$drip_job" "$stall_job"
read -r rc code bytes <"$tmp/drip.res"
check "drip: 200, then curl --max-time 3 times out (28)" "28 200" "$rc $code"
check_le "drip sends about 1 byte per second: at most 4 bytes in 3 s" 4 "$bytes"
if ((bytes < 1)); then bad "drip: expected at least 1 byte in 3 s, got $bytes"; fi
read -r rc code bytes <"$tmp/stall.res"
check "stall: headers (200), no body, curl -m 2 times out (28)" "28 200 0" "$rc $code $bytes"

# A stall still open must not hold up the stop.
curl -s -o /dev/null --max-time 20 "$base/f/stall/z/img0000.jpg" &
sleep 0.3
start=$(date +%s%N)
rc=0
kill -TERM "$gpid"
wait "$gpid" || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "galleryd exits 0 on SIGTERM with a stall open" 0 "$rc"
check_le "and within 2 s (ms)" 2000 "$ms"
wait

rc=0
help=$("$GALLERYD" --help) || rc=$?
for f in 500xK 429xKdS resetxK short big drip stall ctype html loop removed redirect bomb; do
    check_has "--help documents $f" "  $f" "$help"
done

checks_done "galleryd fault"
