# Thumbnail options end to end (issue #13): --fit cover/pad, --upscale, sizes 128/128x/x128,
# --format webp/avif/png with their names, AVIF in, names that never collide whatever the
# sources' formats, and the same settings through get --thumb and through a Redis worker.
source "$TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/redis.sh"
start_galleryd --count 8

mkdir -p "$T/pics"
while read -r link; do
  fetch_reference "$link" "$T/pics/${link##*/}"
done < <("$IMGPIPE" links -q)
[ "$(ls "$T/pics" | wc -l)" -eq 8 ] || fail "8 pictures to start with"
sources() { ls "$1" | grep -v _thumbnail; }

# thumbs_of DIR SUFFIX: every source in DIR has NAME_thumbnailSUFFIX; prints their imginfo.
thumbs_of() {
  local f
  for f in $(sources "$1"); do
    [ -f "$1/${f%.*}_thumbnail${2//\{ext\}/.${f##*.}}" ] || fail "no thumbnail of $f in $1: $(ls "$1")"
    "$IMGINFO" "$1/${f%.*}_thumbnail${2//\{ext\}/.${f##*.}}"
  done
}

# cover: exactly the box, in the source's format
cp -r "$T/pics" "$T/cover"
run_imgpipe thumbs --fit cover -s 100x60 "$T/cover"
expect_rc 0 "thumbs --fit cover"
thumbs_of "$T/cover" "{ext}" | awk '$2 != 100 || $3 != 60 { print; bad = 1 } END { exit bad }' ||
  fail "--fit cover -s 100x60 gives 100x60 thumbnails"
ok "--fit cover: every thumbnail exactly 100x60, same format"

# pad to a square, as WebP: names carry .webp after the source's extension; alpha kept
cp -r "$T/pics" "$T/pad"
run_imgpipe thumbs --fit pad -s 128 --pad-colour '#00000000' --format webp "$T/pad"
expect_rc 0 "thumbs --fit pad --format webp"
thumbs_of "$T/pad" "{ext}.webp" >"$T/pad.info"
awk '$1 != "webp" || $2 != 128 || $3 != 128 { print; bad = 1 } END { exit bad }' \
  "$T/pad.info" || fail "pad 128: 128x128 WebP: $(cat "$T/pad.info")"
# a transparent padding brings alpha to every image that is not square
[ "$(grep -c ' 4$' "$T/pad.info")" -ge 6 ] || fail "padding in #00000000 is transparent: $(cat "$T/pad.info")"
run_imgpipe thumbs --fit pad -s 128 --pad-colour '#00000000' --format webp "$T/pad"
expect_rc 0 "thumbs again"
[ "$(ls "$T/pad" | wc -l)" -eq 16 ] || fail "a rerun skips the .webp thumbnails: $(ls "$T/pad")"
ok "--fit pad --format webp: 128x128 WebP named NAME_thumbnail.EXT.webp, skipped by a rerun"

# x50 as AVIF (effort and quality given), then those AVIFs as sources
cp -r "$T/pics" "$T/avif"
run_imgpipe thumbs -s x50 --format avif --quality 50 --effort 9 "$T/avif"
expect_rc 0 "thumbs --format avif"
thumbs_of "$T/avif" "{ext}.avif" | awk '$1 != "avif" || $3 != 50 { print; bad = 1 } END { exit bad }' ||
  fail "-s x50 --format avif: AVIF 50 high"
mkdir -p "$T/avin"
for f in "$T"/avif/*_thumbnail.*.avif; do
  b=${f##*/}
  cp "$f" "$T/avin/${b%%_thumbnail*}.avif"
done
run_imgpipe thumbs -s 20x --fit contain --upscale "$T/avin"
expect_rc 0 "thumbs of AVIF files"
thumbs_of "$T/avin" "{ext}" | awk '$1 != "avif" || $2 != 20 { print; bad = 1 } END { exit bad }' ||
  fail "AVIF in: AVIF thumbnails 20 wide"
ok "-s x50 --format avif, and AVIF files as sources"

# --upscale: a small image grows only when asked
mkdir -p "$T/up"
"$IMGPIPE" thumbs -q -s 16x --format png "$T/pics/img0000.jpg" || fail "a 16 px PNG to start from"
mv "$T/pics/img0000_thumbnail.jpg.png" "$T/up/small.png"
run_imgpipe thumbs -s 64x64 "$T/up/small.png"
read -r _ w _ _ <<<"$("$IMGINFO" "$T/up/small_thumbnail.png")"
[ "$w" -eq 16 ] || fail "without --upscale a 16 px image stays 16 px, got $w"
rm "$T/up/small_thumbnail.png"
run_imgpipe thumbs -s 64x64 --upscale "$T/up/small.png"
read -r _ w h _ <<<"$("$IMGINFO" "$T/up/small_thumbnail.png")"
{ [ "$w" -eq 64 ] || [ "$h" -eq 64 ]; } || fail "with --upscale it fills 64x64, got ${w}x$h"
ok "--upscale enlarges, its absence never does"

# a.png, a.gif and a.webp (and a.jpg) with --format webp: four sources, four names
mkdir -p "$T/same"
cp "$T/up/small.png" "$T/same/a.png"
/usr/bin/python3 -c 'import sys; from PIL import Image; Image.new("RGB", (40, 30), (200, 10, 10)).save(sys.argv[1])' "$T/same/a.gif" ||
  fail "python3-pil makes a GIF"
"$IMGPIPE" thumbs -q -s 40 --format webp "$T/same/a.png" && mv "$T/same/a_thumbnail.png.webp" "$T/same/a.webp"
cp "$T/pics/img0000.jpg" "$T/same/a.jpg"
run_imgpipe thumbs -s 32 --format webp "$T/same"
expect_rc 0 "thumbs of a.png, a.gif, a.webp, a.jpg as WebP"
for n in a_thumbnail.png.webp a_thumbnail.gif.webp a_thumbnail.webp a_thumbnail.jpg.webp; do
  [ "$("$IMGINFO" "$T/same/$n" | cut -d' ' -f1)" = webp ] || fail "$n is a WebP: $(ls "$T/same")"
done
[ "$(ls "$T/same" | wc -l)" -eq 8 ] || fail "4 sources, 4 thumbnails: $(ls "$T/same")"
# and with the default format: a GIF's is a PNG, which a.png's never takes
run_imgpipe thumbs -s 32 "$T/same"
expect_rc 0 "thumbs of the same, default format"
for n in a_thumbnail.png a_thumbnail.gif.png a_thumbnail.jpg; do
  [ -f "$T/same/$n" ] || fail "$n: $(ls "$T/same")"
done
ok "a.png, a.gif, a.webp, a.jpg never share a thumbnail's name"

# get --thumb with the options: cover 64x64 PNG thumbnails beside JPEG originals
run_imgpipe get -o "$T/dl" --thumb 64x64 --fit cover --format png --json
expect_rc 0 "get --thumb --fit cover --format png"
n=0
for f in "$T"/dl/*.jpg "$T"/dl/*.png; do
  case "$f" in *_thumbnail*) continue ;; esac
  t="${f%.*}_thumbnail.${f##*.}"
  [ "${f##*.}" = png ] || t="$t.png"
  read -r fmt w h _ <<<"$("$IMGINFO" "$t")"
  [ "$fmt $w $h" = "png 64 64" ] || fail "get: $t is $fmt ${w}x$h"
  grep -qF "\"$t\"" "$T/out" || grep -qF "${t##*/}" "$T/out" || fail "--json lists $t"
  n=$((n + 1))
done
[ "$n" -eq 8 ] || fail "get made 8 thumbnails, found $n"
ok "get --thumb 64x64 --fit cover --format png"

# the worker makes what enqueue asked for
RPORT=$(free_port)
export IMGPIPE_REDIS_URL="redis://127.0.0.1:$RPORT"
start_redis
"$IMGPIPE" links -q >"$T/links.txt"
run_imgpipe enqueue -o "$T/wk" --thumb 50x --thumb x40 --fit pad --pad-colour black --format avif \
  --effort 8 "$T/links.txt"
expect_rc 0 "enqueue with thumbnail settings"
run_imgpipe worker --burst -j 2
expect_rc 0 "a burst worker"
n=0
for f in "$T"/wk/*.jpg "$T"/wk/*.png; do
  case "$f" in *_thumbnail*) continue ;; esac
  read -r fmt w _ _ <<<"$("$IMGINFO" "${f%.*}_thumbnail_50x.${f##*.}.avif")"
  [ "$fmt $w" = "avif 50" ] || fail "worker: ${f##*/}'s 50x thumbnail is $fmt $w wide"
  read -r fmt _ h _ <<<"$("$IMGINFO" "${f%.*}_thumbnail_x40.${f##*.}.avif")"
  [ "$fmt $h" = "avif 40" ] || fail "worker: ${f##*/}'s x40 thumbnail is $fmt $h high"
  n=$((n + 1))
done
[ "$n" -eq 8 ] || fail "the worker stored 8 images, found $n"
# an entry with a fit the worker does not know fails for good, with the reason
redis-cli -p "$RPORT" XADD imgpipe:q:default '*' url "$(head -1 "$T/links.txt")" name odd.jpg \
  dir "$T/wk" thumbs 32x32 fit squash attempt 0 batch b >/dev/null
run_imgpipe worker --burst
[ "$(q_field default failed)" -ge 1 ] || fail "a job with fit 'squash' fails: $(cat "$T/err")"
[ ! -e "$T/wk/odd.jpg" ] || fail "and stores nothing"
ok "enqueue --thumb 50x --thumb x40 --fit pad --format avif: the worker makes them"

# A name that lies about the format: the thumbnail is written in the format the bytes are
# (the source's own), and named for it, in thumbs and in get, on a rerun too.
mkdir -p "$T/lie"
cp "$T/up/small.png" "$T/lie/photo.jpg"
cp "$T/pics/img0000.jpg" "$T/lie/pic.gif"
cp "$T/pics/img0000.jpg" "$T/lie/real.jpg"
run_imgpipe thumbs -s 32 "$T/lie"
expect_rc 0 "thumbs of mislabelled images"
for want in "photo_thumbnail.jpg.png png" "pic_thumbnail.gif.jpg jpeg" "real_thumbnail.jpg jpeg"; do
  read -r n fmt <<<"$want"
  [ "$("$IMGINFO" "$T/lie/$n" 2>/dev/null | cut -d' ' -f1)" = "$fmt" ] ||
    fail "thumbs: $n should be a $fmt thumbnail: $(ls "$T/lie")"
done
[ "$(ls "$T/lie" | wc -l)" -eq 6 ] || fail "3 sources, 3 thumbnails: $(ls "$T/lie")"
start_galleryd --dir "$T/lie"  # the last test: BASE and the API move here
run_imgpipe get -o "$T/lie-get" --thumb 32 "$BASE/i/photo.jpg" "$BASE/i/pic.gif"
expect_rc 0 "get --thumb of mislabelled images"
[ "$("$IMGINFO" "$T/lie-get/photo_thumbnail.jpg.png" 2>/dev/null | cut -d' ' -f1)" = png ] ||
  fail "get: photo.jpg's thumbnail: $(ls "$T/lie-get")"
[ "$("$IMGINFO" "$T/lie-get/pic_thumbnail.gif.jpg" 2>/dev/null | cut -d' ' -f1)" = jpeg ] ||
  fail "get: pic.gif's thumbnail: $(ls "$T/lie-get")"
rm "$T/lie-get/photo_thumbnail.jpg.png"
run_imgpipe get -o "$T/lie-get" --thumb 32 "$BASE/i/photo.jpg" "$BASE/i/pic.gif"
expect_rc 0 "get --thumb rerun"
[ -f "$T/lie-get/photo_thumbnail.jpg.png" ] || fail "a rerun makes the missing thumbnail: $(ls "$T/lie-get")"
[ "$(ls "$T/lie-get" | wc -l)" -eq 4 ] || fail "the rerun makes no other thumbnail: $(ls "$T/lie-get")"
ok "a mislabelled image's thumbnail is in its real format, named for it"
