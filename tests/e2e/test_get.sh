# get: byte-identical downloads with thumbnails, from the Imgur-shaped API and URL lists.
source "$TESTLIB"
start_galleryd --count 12

run_imgpipe get -o "$T/a/b/images" --thumb 64x64
expect_rc 0 "get imgur:random"
expect_err "12 downloaded" "summary counts the downloads"
n=0
while read -r link; do
  name=${link##*/}
  fetch_reference "$link" "$T/ref"
  cmp -s "$T/ref" "$T/a/b/images/$name" || fail "$name differs from the served bytes"
  stem=${name%.*} ext=${name##*.}
  th="$T/a/b/images/${stem}_thumbnail.$ext"
  [ -f "$th" ] || fail "thumbnail of $name missing"
  read -r fmt w h ch <<<"$("$IMGINFO" "$th")"
  read -r sfmt sw sh sch <<<"$("$IMGINFO" "$T/ref")"
  [ "$fmt" = "$sfmt" ] || fail "thumbnail of $name is $fmt, source is $sfmt"
  [ "$w" -le 64 ] && [ "$h" -le 64 ] || fail "thumbnail of $name is ${w}x$h, over 64x64"
  [ "$w" -eq 64 ] || [ "$h" -eq 64 ] || fail "thumbnail of $name is ${w}x$h: it should touch the box"
  # aspect kept: w/h within one pixel of sw/sh
  [ $(( (w * sh - h * sw) * (w * sh - h * sw) )) -le $(( (sw + sh) * (sw + sh) )) ] ||
    fail "thumbnail of $name is ${w}x$h, source ${sw}x$sh: aspect not kept"
  [ "$ch" = "$sch" ] || fail "thumbnail of $name has $ch channels, source $sch (alpha lost?)"
  n=$((n + 1))
done < <(IMGUR_API_URL=$BASE "$IMGPIPE" links -q)
[ "$n" -eq 12 ] || fail "expected 12 links, checked $n"
[ "$(files_in "$T/a/b/images" | wc -l)" -eq 24 ] || fail "12 images and 12 thumbnails, nothing else"
ok "downloads are byte-identical; thumbnails fit, keep format, aspect and alpha"

# Never upscale: a 128x128 box over a small image keeps its size.
run_imgpipe get -o "$T/small" --thumb 4000x4000 "$BASE/x/small.png"
expect_rc 0 "get with a large box"
[ "$("$IMGINFO" "$T/small/small_thumbnail.png")" = "$("$IMGINFO" "$T/small/small.png")" ] ||
  fail "a thumbnail is never larger than its source"

# Several sizes: NAME_thumbnail_WxH.EXT for each.
run_imgpipe get -o "$T/multi" --thumb 32x32 --thumb 100x50 "$BASE/i/img0000.jpg"
expect_rc 0 "get with two sizes"
read -r _ w h _ <<<"$("$IMGINFO" "$T/multi/img0000_thumbnail_32x32.jpg")"
[ "$w" -le 32 ] && [ "$h" -le 32 ] || fail "32x32 thumbnail is ${w}x$h"
read -r _ w h _ <<<"$("$IMGINFO" "$T/multi/img0000_thumbnail_100x50.jpg")"
[ "$w" -le 100 ] && [ "$h" -le 50 ] || fail "100x50 thumbnail is ${w}x$h"
ok "never upscaled; several sizes"

# A 404 among good images: reported with URL and reason, the rest still done, exit 1.
printf '%s/i/img0001.jpg\n%s/i/missing.jpg\n%s/i/img0002.jpg\n' "$BASE" "$BASE" "$BASE" >"$T/l.txt"
run_imgpipe get -o "$T/partial" "$T/l.txt"
expect_rc 1 "a 404 among good images"
expect_err "$BASE/i/missing.jpg" "the failure names the URL"
expect_err "HTTP 404" "the failure names the status"
[ -f "$T/partial/img0001.jpg" ] && [ -f "$T/partial/img0002.jpg" ] || fail "the good images are still downloaded"
[ ! -e "$T/partial/missing.jpg" ] || fail "a failed item leaves no file"
ok "a failing item does not stop the others"

# --max-bytes: a larger image fails and leaves nothing behind.
run_imgpipe get -o "$T/big" --max-bytes 1K "$BASE/i/img0000.jpg"
expect_rc 1 "an image over --max-bytes"
expect_err "max-bytes" "the failure says why"
[ -z "$(files_in "$T/big")" ] || fail "nothing is left of an image over --max-bytes: $(files_in "$T/big")"

# Unreachable host: a clear per-item failure.
run_imgpipe get -o "$T/down" --connect-timeout 2 "http://127.0.0.1:1/x.jpg"
expect_rc 1 "an unreachable server"
expect_err "http://127.0.0.1:1/x.jpg" "the failure names the URL"
ok "size limit, unreachable servers"

# The default output directory is ./images.
(cd "$T" && RC=0 && timeout 60 "$IMGPIPE" get -q "$BASE/i/img0003.png") || fail "get into ./images"
[ -f "$T/images/img0003.png" ] || fail "the default output directory is images/"
ok "default directory"

# How many transfers get keeps in flight without -j (run/limiter.c): galleryd counts the
# requests it answers at once (/stats/peak) and those before its first answer left
# (/stats/first). It starts at 16 and doubles up to 64 while a doubling pays. When the
# first requests had no answer for 10 ms, straight past 64, to 256 at most, before any
# answer came: 160 links need one round, not three; 480 go out nearly at once.
peak_of() { # peak_of N: the most requests at once while get fetches N links at the defaults
  curl -fsS "$BASE/stats/reset" >/dev/null
  for i in $(seq 1 "$1"); do echo "$BASE/x/p$1-$i.png"; done >"$T/peak.txt"
  run_imgpipe get -q -o "$T/peak$1-$2" "$T/peak.txt"
  expect_rc 0 "get of $1 links"
  [ "$(files_in "$T/peak$1-$2" | wc -l)" -eq "$1" ] || fail "$1 files: $(files_in "$T/peak$1-$2" | wc -l)"
  P=$(curl -fsS "$BASE/stats/peak")
  F=$(curl -fsS "$BASE/stats/first")
}
# 2 ms, well under the threshold even on a loaded machine: no reason to go past 64, and
# the start shows before the first answer
start_galleryd --count 2 --latency-ms 2
peak_of 160 fast
[ "$P" -gt 8 ] && [ "$P" -le 64 ] || fail "160 links answered in 2 ms at the defaults: $P at once (9..64 expected)"
[ "$F" -le 16 ] || fail "160 links answered in 2 ms: $F at once before the first answer (16 at most: the start)"
# 25 ms, over the threshold and under the 40 ms it once was: latency to hide
start_galleryd --count 2 --latency-ms 25
peak_of 160 near
[ "$P" -gt 64 ] || fail "160 links answered in 25 ms at the defaults: $P at once (65.. expected)"
start_galleryd --count 2 --latency-ms 500
peak_of 160 slow
[ "$P" -gt 64 ] && [ "$P" -le 160 ] || fail "160 slow links at the defaults: $P at once (65..160 expected)"
[ "$F" -gt 64 ] || fail "160 slow links at the defaults: $F at once before the first answer (65.. expected)"
peak_of 480 slow
[ "$P" -gt 128 ] && [ "$P" -le 256 ] || fail "480 slow links at the defaults: $P at once (129..256 expected)"
[ "$F" -gt 128 ] || fail "480 slow links at the defaults: $F at once before the first answer (129.. expected)"
ok "in flight at the defaults: 16, up to 64 at 2 ms, past 64 at 25 ms, past 64 before the first answer at 500 ms"
