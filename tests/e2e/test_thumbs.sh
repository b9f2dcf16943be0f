# thumbs: thumbnails of files and directories on disk, as the tutorial's thumbnail script.
source "$TESTLIB"
start_galleryd --count 8

mkdir -p "$T/pics"
while read -r link; do
  fetch_reference "$link" "$T/pics/${link##*/}"
done < <("$IMGPIPE" links -q)
[ "$(ls "$T/pics" | wc -l)" -eq 8 ] || fail "8 pictures to start with"
printf 'not an image' >"$T/pics/notes.txt"

run_imgpipe thumbs "$T/pics"
expect_rc 0 "thumbs on a directory"
for f in "$T"/pics/img*.*; do
  case "$f" in *_thumbnail.*) continue ;; esac
  stem=${f%.*} ext=${f##*.}
  read -r fmt w h ch <<<"$("$IMGINFO" "${stem}_thumbnail.$ext")"
  read -r sfmt _ _ sch <<<"$("$IMGINFO" "$f")"
  [ "$fmt" = "$sfmt" ] && [ "$ch" = "$sch" ] || fail "thumbnail of $f: $fmt/$ch, source $sfmt/$sch"
  [ "$w" -le 128 ] && [ "$h" -le 128 ] && { [ "$w" -eq 128 ] || [ "$h" -eq 128 ]; } ||
    fail "default thumbnails fit 128x128: ${w}x$h"
done
[ "$(ls "$T/pics" | wc -l)" -eq 17 ] || fail "8 thumbnails added: $(ls "$T/pics")"

run_imgpipe thumbs "$T/pics"
expect_rc 0 "thumbs again"
ls "$T/pics" | grep -q '_thumbnail_thumbnail' && fail "thumbnails are not thumbnailed again"
[ "$(ls "$T/pics" | wc -l)" -eq 17 ] || fail "a second run adds nothing"
ok "directory: one thumbnail per image, thumbnails skipped"

# The same through a shell glob, twice: thumbnails named on the command line are skipped too.
mkdir -p "$T/glob"
cp "$T"/pics/img0000.* "$T"/pics/img0001.* "$T/glob/"
run_imgpipe thumbs "$T"/glob/*
expect_rc 0 "thumbs of globbed files"
run_imgpipe thumbs "$T"/glob/*
expect_rc 0 "thumbs of globbed files and their thumbnails"
ls "$T/glob" | grep -q '_thumbnail_thumbnail' && fail "thumbnails named on the command line are thumbnailed: $(ls "$T/glob")"
[ "$(ls "$T/glob" | grep -c _thumbnail)" -eq "$(ls "$T/glob" | grep -vc _thumbnail)" ] ||
  fail "one thumbnail per image through a glob: $(ls "$T/glob")"
ok "thumbs DIR/* twice: no thumbnail of a thumbnail"

# PNG with alpha keeps it, with real transparency.
png=$(ls "$T"/pics/*.png | grep -v _thumbnail | head -1)
if [ "$("$IMGINFO" "$png" | cut -d' ' -f4)" = 4 ]; then
  read -r _ _ _ _ lo hi <<<"$("$IMGINFO" --alpha-range "${png%.png}_thumbnail.png")"
  [ "$lo" -lt 255 ] || fail "the thumbnail of an RGBA PNG keeps transparency"
fi

# Files given one by one, several sizes, and a corrupt one among them.
cp "$T/pics/img0000.jpg" "$T/one.jpg"
head -c 2000 "$T/pics/img0000.jpg" >"$T/cut.jpg"
run_imgpipe thumbs -s 40x40 -s 90x30 "$T/one.jpg" "$T/cut.jpg" "$T/missing.jpg"
expect_rc 1 "a corrupt and a missing file among good ones"
expect_err "$T/cut.jpg" "the corrupt file is named"
expect_err "$T/missing.jpg" "the missing file is named"
[ -f "$T/one_thumbnail_40x40.jpg" ] && [ -f "$T/one_thumbnail_90x30.jpg" ] || fail "both sizes made"
read -r _ w h _ <<<"$("$IMGINFO" "$T/one_thumbnail_90x30.jpg")"
[ "$w" -le 90 ] && [ "$h" -le 30 ] || fail "90x30 thumbnail is ${w}x$h"
[ ! -e "$T/cut_thumbnail.jpg" ] || fail "no thumbnail of a corrupt file"
ok "files, several sizes, failures"

# Every mode makes the same thumbnails, and reports the same failures.
mkdir -p "$T/m"
for f in "$T"/pics/img*; do case "$f" in *_thumbnail*) ;; *) cp "$f" "$T/m/" ;; esac; done
cp "$T/cut.jpg" "$T/m/zz-cut.jpg"
for m in seq threads procs; do
  rm -rf "$T/m-$m" && cp -r "$T/m" "$T/m-$m"
  run_imgpipe thumbs -m "$m" -j 3 -s 50x50 "$T/m-$m"
  expect_rc 1 "thumbs -m $m with a corrupt file"
  expect_err "zz-cut.jpg" "thumbs -m $m names the corrupt file"
  [ "$(ls "$T/m-$m" | grep -c _thumbnail)" -eq 8 ] || fail "thumbs -m $m: 8 thumbnails"
done
diff -r "$T/m-seq" "$T/m-threads" >/dev/null || fail "threads and seq thumbnails differ"
diff -r "$T/m-seq" "$T/m-procs" >/dev/null || fail "procs and seq thumbnails differ"
ok "thumbs: seq, threads and procs give identical thumbnails"

# --max-pixels: checked from the header, per file; the others go on.
run_imgpipe thumbs -m seq --max-pixels 1000 -s 40x40 "$T/one.jpg"
expect_rc 1 "an image over --max-pixels"
expect_err "pixel limit" "the pixel limit is named"
run_imgpipe thumbs --max-pixels 100M -s 40x40 "$T/one.jpg"
expect_rc 0 "--max-pixels 100M"
run_imgpipe thumbs --max-pixels lots "$T/one.jpg"
expect_rc 2 "--max-pixels takes a number"
ok "--max-pixels"

# A huge file under an image's name that does not start like an image (512 MiB of zeros,
# sparse) is refused by its first bytes: not read whole into memory first.
mkdir -p "$T/huge"
cp "$T/one.jpg" "$T/huge/one.jpg"
truncate -s 512M "$T/huge/zeros.jpg"
RC=0
timeout 60 /usr/bin/time -f '%M' -o "$T/rss" "$IMGPIPE" thumbs -m seq "$T/huge" \
  >"$T/out" 2>"$T/err" || RC=$?
expect_rc 1 "thumbs with a huge file of zeros"
expect_err "zeros.jpg: thumbnail: not an image: 536870912 bytes starting with" "the zeros are named, with their size"
[ -f "$T/huge/one_thumbnail.jpg" ] || fail "the image beside them has its thumbnail"
[ "$(tail -1 "$T/rss")" -lt 393216 ] || fail "thumbs took $(tail -1 "$T/rss") KB for a 512 MiB non-image"
ok "a huge non-image is refused by its head, in bounded memory"

# SIGTERM or SIGINT: no new file starts, the files in hand are finished (no temporary
# file stays beside the pictures), the rest are counted as not tried; exit 128 + signal.
mkdir -p "$T/stop"
/usr/bin/python3 -c 'import sys; from PIL import Image; Image.linear_gradient("L").resize((1600, 1200)).convert("RGB").save(sys.argv[1], quality=90)' \
  "$T/stop/a000.jpg" || fail "python3-pil makes a JPEG"
for i in $(seq 1 99); do cp "$T/stop/a000.jpg" "$T/stop/a$(printf %03d "$i").jpg"; done
for m in threads procs; do
  for sig in TERM INT; do
    rm -f "$T"/stop/*_thumbnail*
    RC=0
    timeout 120 "$IMGPIPE" thumbs -m "$m" -j 2 -t 1600 --format png "$T/stop" \
      >"$T/out" 2>"$T/err" &
    pid=$!
    # once it has made a thumbnail (its handlers are in place: a SIGINT before them would
    # be ignored, as a background job's is)
    for _ in $(seq 1 300); do
      ls "$T/stop" | grep -q _thumbnail && break
      sleep 0.1
    done
    kill -s "$sig" "$pid"
    wait "$pid" || RC=$?
    want=$([ "$sig" = TERM ] && echo 143 || echo 130)
    expect_rc "$want" "thumbs -m $m stopped by SIG$sig"
    expect_err "interrupted; [0-9]* files not tried" "thumbs -m $m says it was stopped (SIG$sig)"
    expect_err " not tried, in " "thumbs -m $m prints its summary when stopped (SIG$sig)"
    made=$(ls "$T/stop" | grep -c _thumbnail || true)
    [ "$made" -lt 100 ] || fail "thumbs -m $m was not stopped by SIG$sig (all 100 made)"
    [ -z "$(ls -A "$T/stop" | grep '^\.imgpipe')" ] || fail "SIG$sig left temporary files: $(ls -A "$T/stop")"
  done
done
ok "SIGTERM/SIGINT stop thumbs cleanly: files in hand finished, no temporary file left, 143/130"
