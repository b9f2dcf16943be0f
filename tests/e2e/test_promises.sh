# The promises of issue #11, tried as a hostile user would: no file lost or replaced by
# another (thumbnail names, names across runs, duplicates), no cut image stored, no ledger
# or image written through a planted link, a per-item error fails that item only, reruns
# make what is missing, `thumbs` never hangs on a FIFO.
source "$TESTLIB"
start_galleryd --count 6
SRC=$BASE
mkdir -p "$T/g1" "$T/g2"
# Images with chosen names and distinct bytes, served by two more galleries.
curl -sf -o "$T/g1/a_thumbnail.jpg" "$SRC/i/img0000.jpg"
curl -sf -o "$T/g1/a.jpg" "$SRC/i/img0001.jpg"
curl -sf -o "$T/g1/a.png" "$SRC/i/img0003.png"
curl -sf -o "$T/g1/A.jpg" "$SRC/i/img0002.jpg"
curl -sf -o "$T/g1/b.jpg" "$SRC/i/img0004.jpg"
# a WebP named like a.png's WebP thumbnail (issue #13's names)
"$IMGPIPE" thumbs -q -s 40 --format webp "$T/g1/a.png" || fail "a WebP to serve"
mv "$T/g1/a_thumbnail.png.webp" "$T/g1/a.webp"
cp "$T/g1/a.webp" "$T/g1/a_thumbnail.png.webp"
printf 'GIF89a\x02\x00\x02\x00\x80\x00\x00\xff\x00\x00\x00\x00\xff,\x00\x00\x00\x00\x02\x00\x02\x00\x00\x02\x02\x84\x51\x00;' >"$T/g1/a.gif"
curl -sf -o "$T/g2/a.jpg" "$SRC/i/img0005.jpg"
start_galleryd --dir "$T/g1"
G1=$BASE
start_galleryd --dir "$T/g2"
G2=$BASE
[ "$("$IMGINFO" "$T/g1/a.gif" | cut -d' ' -f1)" != "" ] || fail "the test GIF does not decode"

# has_bytes DIR FILE: some file in DIR (outside .imgpipe) holds FILE's bytes.
has_bytes() {
  local want have
  want=$(sha256sum <"$2" | cut -d' ' -f1)
  have=$(files_in "$1" | while read -r f; do if [ -f "$f" ]; then sha256sum <"$f"; fi; done)
  [[ "$have" == *"$want "* ]] || fail "$3: no file in $1 holds the bytes of ${2##*/} (lost or replaced)"
}

# 1. A thumbnail's name is reserved: a link named like a thumbnail keeps its bytes.
printf '%s\n' "$G1/i/a_thumbnail.jpg" "$G1/i/a.jpg" >"$T/l1.txt"
for m in seq async; do
  run_imgpipe get -m "$m" --thumb 32x32 -o "$T/t1-$m" "$T/l1.txt"
  expect_rc 0 "a link named like a thumbnail ($m)"
  has_bytes "$T/t1-$m" "$T/g1/a_thumbnail.jpg" "a_thumbnail.jpg's own bytes ($m)"
  has_bytes "$T/t1-$m" "$T/g1/a.jpg" "a.jpg ($m)"
  [ "$(files_in "$T/t1-$m" | wc -l)" -eq 4 ] || fail "two originals, two thumbnails ($m): $(files_in "$T/t1-$m")"
  read -r _ w h _ <<<"$("$IMGINFO" "$T/t1-$m/a_thumbnail.jpg")"
  [ "$w" -le 32 ] && [ "$h" -le 32 ] || fail "a_thumbnail.jpg is a.jpg's thumbnail ($m)"
done
ok "a link named like a thumbnail gets another name; the thumbnail keeps its own"

printf '%s\n' "$G1/i/a.gif" "$G1/i/a.png" >"$T/l1b.txt"
run_imgpipe get --thumb 32x32 -o "$T/t1b" "$T/l1b.txt"
expect_rc 0 "a.gif and a.png"
[ "$(files_in "$T/t1b" | wc -l)" -eq 4 ] || fail "a.gif and a.png: two originals and two thumbnails, got: $(files_in "$T/t1b")"
mkdir "$T/t1c" && cp "$T/g1/a.gif" "$T/g1/a.png" "$T/t1c/"
run_imgpipe thumbs -s 32x32 "$T/t1c"
expect_rc 0 "thumbs of a.gif and a.png"
[ "$(ls "$T/t1c" | wc -l)" -eq 4 ] || fail "thumbs: a.gif and a.png have two thumbnails: $(ls "$T/t1c")"
ok "a.gif's and a.png's thumbnails have different names (get and thumbs)"

# With --format webp: a.gif, a.png and a.webp have three thumbnails, and a link named like
# one of them (a_thumbnail.png.webp) keeps its bytes under another name.
printf '%s\n' "$G1/i/a_thumbnail.png.webp" "$G1/i/a.gif" "$G1/i/a.png" "$G1/i/a.webp" >"$T/l1d.txt"
for m in seq async; do
  run_imgpipe get -m "$m" --thumb 32x32 --format webp -o "$T/t1d-$m" "$T/l1d.txt"
  expect_rc 0 "four links, thumbnails as WebP ($m)"
  [ "$(files_in "$T/t1d-$m" | wc -l)" -eq 8 ] || fail "four originals, four thumbnails ($m): $(files_in "$T/t1d-$m")"
  has_bytes "$T/t1d-$m" "$T/g1/a_thumbnail.png.webp" "the link named like a thumbnail ($m)"
  for n in a_thumbnail.gif.webp a_thumbnail.png.webp a_thumbnail.webp; do
    read -r fmt w h _ <<<"$("$IMGINFO" "$T/t1d-$m/$n")"
    [ "$fmt" = webp ] && [ "$w" -le 32 ] && [ "$h" -le 32 ] || fail "$n is a 32x32 WebP thumbnail ($m): $fmt ${w}x$h"
  done
done
mkdir "$T/t1e" && cp "$T/g1/a.gif" "$T/g1/a.png" "$T/g1/a.webp" "$T/t1e/"
run_imgpipe thumbs -s 32x32 --format webp "$T/t1e"
expect_rc 0 "thumbs of a.gif, a.png, a.webp as WebP"
[ "$(ls "$T/t1e" | wc -l)" -eq 6 ] || fail "thumbs: three thumbnails: $(ls "$T/t1e")"
ok "with --format webp, a.gif's, a.png's and a.webp's thumbnails have different names, and a link named like one keeps its bytes"

# 2. Names are distinct across runs: a later run never replaces another URL's file.
echo "$G1/i/a.jpg" >"$T/l2a.txt"
echo "$G2/i/a.jpg" >"$T/l2b.txt"
run_imgpipe get --thumb 32x32 -o "$T/t2" "$T/l2a.txt"
expect_rc 0 "run 1"
run_imgpipe get --thumb 32x32 -o "$T/t2" "$T/l2b.txt"
expect_rc 0 "run 2, another list, the same DIR"
has_bytes "$T/t2" "$T/g1/a.jpg" "run 1's a.jpg"
has_bytes "$T/t2" "$T/g2/a.jpg" "run 2's a.jpg"
[ "$(files_in "$T/t2" | wc -l)" -eq 4 ] || fail "two runs, two originals and two thumbnails: $(files_in "$T/t2")"
run_imgpipe get --thumb 32x32 -o "$T/t2" "$T/l2a.txt"
expect_rc 0 "run 1 again"
expect_err "1 already done" "run 1's link is still done, under its own name"
# A file that is not imgpipe's (no ledger line for it) is not replaced either.
mkdir "$T/t2u" && echo "my notes" >"$T/t2u/a.jpg"
run_imgpipe get -o "$T/t2u" "$T/l2a.txt"
expect_rc 0 "a DIR with a file of the user's"
[ "$(cat "$T/t2u/a.jpg")" = "my notes" ] || fail "the user's a.jpg was replaced"
has_bytes "$T/t2u" "$T/g1/a.jpg" "the download beside the user's file"
ok "a later run never replaces a file of another URL or of the user"

# 3. A body cut short is never stored: a 206 to a plain GET; a cut JPEG with --thumb.
printf '%s\n' "$SRC/f/partial/k1/img0000.jpg" >"$T/l3.txt"
run_imgpipe get --retries 0 -o "$T/t3" "$T/l3.txt"
expect_rc 1 "a 206 to a request without Range"
expect_err "206" "the 206 is named"
[ "$(files_in "$T/t3" | wc -l)" -eq 0 ] || fail "a 206's part was stored: $(files_in "$T/t3")"
grep -q "^failed" "$T/t3/.imgpipe/ledger" || fail "the 206 is recorded as failed"
printf '%s\n' "$SRC/f/cut/k3/img0000.jpg" >"$T/l3c.txt"
run_imgpipe get --retries 0 -o "$T/t3c" "$T/l3c.txt"
expect_rc 1 "a cut JPEG whose Content-Length matches, without --thumb"
[ "$(files_in "$T/t3c" | wc -l)" -eq 0 ] || fail "a cut JPEG was stored: $(files_in "$T/t3c")"
grep -q "^done" "$T/t3c/.imgpipe/ledger" && fail "a cut JPEG was recorded done"
printf '%s\n' "$SRC/f/cut/k2/img0000.jpg" >"$T/l3b.txt"
run_imgpipe get --retries 0 --thumb 32x32 -o "$T/t3b" "$T/l3b.txt"
expect_rc 1 "a cut JPEG with --thumb"
[ "$(files_in "$T/t3b" | wc -l)" -eq 0 ] || fail "a cut JPEG that failed its thumbnail was left in DIR: $(files_in "$T/t3b")"
ok "a 206 fails; a cut image is not stored, with or without --thumb"

# 4. Links planted inside DIR are refused, never followed.
mkdir -p "$T/t4a" "$T/away"
ln -s "$T/away" "$T/t4a/.imgpipe"
run_imgpipe get -o "$T/t4a" "$T/l2a.txt"
expect_rc 1 "DIR/.imgpipe is a link"
expect_err "symbolic link" "the refusal says why"
[ -z "$(ls -A "$T/away")" ] || fail "the ledger was written through DIR/.imgpipe's link: $(ls -A "$T/away")"
mkdir -p "$T/t4b/.imgpipe"
echo keep >"$T/victim"
ln -s "$T/victim" "$T/t4b/.imgpipe/ledger"
run_imgpipe get -o "$T/t4b" "$T/l2a.txt"
expect_rc 1 "DIR/.imgpipe/ledger is a link"
expect_err "symbolic link" "the refusal says why"
[ "$(cat "$T/victim")" = keep ] || fail "the ledger was appended through a link"
mkdir -p "$T/t4c" "$T/away2"
for i in $(seq 0 255); do ln -s "$T/away2" "$T/t4c/$(printf %02x "$i")"; done
run_imgpipe get --layout sharded -o "$T/t4c" "$T/l1.txt"
expect_rc 1 "shard folders are links"
expect_err "symbolic link" "the refusal says why"
[ -z "$(ls -A "$T/away2")" ] || fail "an image was written through a shard folder's link: $(ls -A "$T/away2")"
ok "DIR/.imgpipe, its ledger and shard folders that are links are refused"

# 5. Duplicates, --retry-failed, reruns with thumbnails, thumbs of another size.
printf '%s\n' "$G1/i/b.jpg" "$G1/i/b.jpg" >"$T/l5.txt"
run_imgpipe get -o "$T/t5" "$T/l5.txt"
expect_rc 0 "a duplicate URL"
[ "$(files_in "$T/t5" | wc -l)" -eq 1 ] || fail "a duplicate URL is downloaded once: $(files_in "$T/t5")"
run_imgpipe get -o "$T/t5" "$T/l5.txt"
expect_rc 0 "rerun with a duplicate"
expect_err "0 downloaded" "a rerun downloads nothing"
ok "a duplicate link is one file, and a rerun downloads nothing"

echo "$SRC/f/500x1/k5/img0001.jpg" >"$T/l5b.txt"
run_imgpipe get --retries 0 -o "$T/t5b" "$T/l5b.txt"
expect_rc 1 "a failure to retry"
run_imgpipe get --retry-failed -o "$T/t5b"
expect_rc 0 "--retry-failed without a source"
expect_err "1 downloaded" "--retry-failed runs the ledger's failure"
[ -f "$T/t5b/img0001.jpg" ] || fail "--retry-failed did not fetch the failed link"
ok "--retry-failed retries what the ledger has as failed"

run_imgpipe get -o "$T/t5c" "$T/l2a.txt"
run_imgpipe get --thumb 64x64 -o "$T/t5c" "$T/l2a.txt"
expect_rc 0 "rerun with --thumb"
[ -f "$T/t5c/a_thumbnail.jpg" ] || fail "a rerun with --thumb makes the done item's thumbnail"
before=$(sha256sum <"$T/t5c/a_thumbnail.jpg")
run_imgpipe get --thumb 32x32 -o "$T/t5c" "$T/l2a.txt"
expect_rc 0 "rerun with a new size"
[ -f "$T/t5c/a_thumbnail_32x32.jpg" ] || fail "a rerun with a new size makes it: $(ls "$T/t5c")"
run_imgpipe thumbs -s 16x16 "$T/t5c"
expect_rc 0 "thumbs of another size"
[ "$(sha256sum <"$T/t5c/a_thumbnail.jpg")" = "$before" ] || fail "thumbs -s 16x16 replaced get's 64x64 thumbnail"
read -r _ w h _ <<<"$("$IMGINFO" "$T/t5c/a_thumbnail_16x16.jpg")"
[ "$w" -le 16 ] && [ "$h" -le 16 ] || fail "the 16x16 thumbnail is ${w}x$h"
run_imgpipe thumbs -s 64x64 "$T/t5c"
expect_rc 0 "thumbs of the same size"
[ ! -e "$T/t5c/a_thumbnail_64x64.jpg" ] || fail "the same size rewrites its own thumbnail, not a second one"
ok "reruns make missing thumbnails; thumbnails of different sizes never replace each other"

# 6. A per-item write error fails that item; a full DIR ends the run and counts the rest.
IMGUR_API_URL=$SRC "$IMGPIPE" links -q >"$T/gallery.txt"
[ "$(wc -l <"$T/gallery.txt")" -eq 6 ] || fail "the gallery has 6 links: $(cat "$T/gallery.txt")"
mkdir -p "$T/t6/img0000_thumbnail_32x32.jpg"
run_imgpipe get -m seq --thumb 32x32 --thumb 16x16 -o "$T/t6" "$T/gallery.txt"
expect_rc 1 "a directory in the way of one thumbnail"
expect_err "5 downloaded" "the other items are done"
[ "$(grep -c FAILED "$T/err")" -eq 1 ] || fail "one item fails: $(cat "$T/err")"
ok "a directory in the way fails one item, the others go on"

mkdir -p "$T/t6b"
if mount -t tmpfs -o size=64k tmpfs "$T/t6b" 2>/dev/null; then
  full="tmpfs of 64 KiB"
  trap 'mountpoint -q "$T/t6b" && umount "$T/t6b"; cleanup' EXIT
else
  full="a folder without write permission"   # not root: the same DIR-wide failure
  chmod 555 "$T/t6b"
fi
for i in $(seq 1 20); do echo "$SRC/f/redirect/k6-$i/img0000.jpg"; done >"$T/many.txt"
[ "$(sort -u "$T/many.txt" | wc -l)" -eq 20 ] || fail "20 distinct links"
# seq writes on the transfer's thread, async on the pool's (run/stream.c): both report it.
for m in seq async; do
  find "$T/t6b" -mindepth 1 -delete 2>/dev/null || true
  run_imgpipe get -m "$m" -o "$T/t6b" "$T/many.txt"
  expect_rc 1 "a full DIR ($full, $m)"
  expect_err "not tried" "the summary says how many links were not tried ($full, $m)"
  n=$(grep -o '[0-9]* not tried' "$T/err" | tail -1 | cut -d' ' -f1)
  d=$(grep -o '[0-9]* downloaded' "$T/err" | cut -d' ' -f1)
  f=$(grep -o '[0-9]* failed' "$T/err" | tail -1 | cut -d' ' -f1)
  [ $((n + d + f)) -eq 20 ] || fail "done $d + failed $f + not tried $n is not the 20 links ($full, $m)"
  [ -z "$(find "$T/t6b" -name '.imgpipe-*')" ] || fail "a full DIR leaves a temporary file ($m)"
  # What was put in place is whole: every file there is the image, byte for byte.
  for g in "$T"/t6b/*.jpg; do
    [ -e "$g" ] || continue
    cmp -s "$g" "$T/g1/a_thumbnail.jpg" || fail "a full DIR ($m) left a cut file: $g"
  done
done
umount "$T/t6b" 2>/dev/null || chmod 755 "$T/t6b"
ok "a full DIR ($full) ends the run in seq and async modes; the summary counts the links not tried"

# 7. thumbs opens regular files only: a FIFO named x.jpg does not hang it.
mkdir "$T/t7" && mkfifo "$T/t7/x.jpg" && cp "$T/g1/b.jpg" "$T/t7/"
RC=0
timeout 20 "$IMGPIPE" thumbs -s 32x32 "$T/t7" >"$T/out" 2>"$T/err" || RC=$?
[ "$RC" -ne 124 ] || fail "thumbs hangs on a FIFO"
expect_rc 1 "a FIFO among the images"
expect_err "not a regular file" "the FIFO is named as not a regular file"
[ -f "$T/t7/b_thumbnail.jpg" ] || fail "the regular file beside the FIFO still gets its thumbnail"
RC=0
timeout 20 "$IMGPIPE" thumbs -s 32x32 "$T/t7/x.jpg" >"$T/out" 2>"$T/err" || RC=$?
[ "$RC" -ne 124 ] || fail "thumbs hangs on a FIFO given by path"
expect_rc 1 "a FIFO given by path"
ok "thumbs refuses a FIFO without waiting on it"

# Hostile cases beyond the issue's list.
long=$(printf '%%C3%%A9%.0s' $(seq 1 150))   # 300 bytes of UTF-8 once decoded
cat >"$T/hostile.txt" <<EOL
$SRC/x/...
$SRC/x/$long.png
$SRC/x/Case.png
$SRC/x/case.png
EOL
run_imgpipe get --thumb 32x32 --thumb 16x16 -o "$T/h" "$T/hostile.txt"
expect_rc 0 "hostile names with two thumbnail sizes"
[ "$(files_in "$T/h" | wc -l)" -eq 12 ] || fail "4 links, 4 originals and 8 thumbnails: $(files_in "$T/h")"
[ "$(ls "$T/h" | tr 'A-Z' 'a-z' | sort -u | wc -l)" -eq 12 ] ||
  fail "names that differ only in case would collide on a case-insensitive file system: $(ls "$T/h")"
ls "$T/h" | grep -q '^image-[0-9a-f]*$' || fail "a name of dots only becomes image-<hash>: $(ls "$T/h")"
while IFS= read -r f; do
  n=${f##*/}
  [ "${#n}" -le 255 ] || fail "a name over 255 bytes: $n"
  printf '%s' "$n" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1 || fail "a name cut inside a UTF-8 sequence: $n"
done < <(files_in "$T/h")
ok "dots only, 300 bytes of UTF-8, names differing only in case"

# A ledger with a line cut by a crash mid-file and a line of garbage: lines it cannot
# read are ignored, the rest still counts.
run_imgpipe get -o "$T/hl" "$T/l2a.txt"
{ printf 'done\t12'; printf '\n\001\002garbage\tline\n'; cat "$T/hl/.imgpipe/ledger"; } >"$T/ledger.new"
mv "$T/ledger.new" "$T/hl/.imgpipe/ledger"
run_imgpipe get -o "$T/hl" "$T/l2a.txt"
expect_rc 0 "a ledger with a cut line and garbage"
expect_err "1 already done" "the whole lines still count"
ok "a ledger with a cut and a garbage line"

# DIR itself a link is the user's own path: followed, like any path given on the command
# line; only what is inside DIR is never followed.
mkdir "$T/real"
ln -s "$T/real" "$T/dirlink"
run_imgpipe get -o "$T/dirlink" "$T/l2a.txt"
expect_rc 0 "DIR itself a link"
[ -f "$T/real/a.jpg" ] || fail "DIR's link is followed: $(ls -A "$T/real")"
ok "DIR itself a link is followed (the user's path)"

# A read-only DIR: a clear error at once, nothing else.
mkdir -p "$T/ro"
if mount -t tmpfs -o size=64k,ro tmpfs "$T/ro" 2>/dev/null; then
  trap 'mountpoint -q "$T/ro" && umount "$T/ro"; cleanup' EXIT
  run_imgpipe get -o "$T/ro" "$T/many.txt"
  expect_rc 1 "a read-only DIR"
  expect_err "Read-only file system" "the error says why"
  umount "$T/ro"
else
  chmod 555 "$T/ro"
  run_imgpipe get -o "$T/ro" "$T/many.txt"
  expect_rc 1 "a DIR without write permission"
  expect_err "Permission denied" "the error says why"
fi
[ "$(grep -c FAILED "$T/err" || true)" -eq 0 ] || fail "a read-only DIR is one error, not one per link"
expect_err "stopped: in $T/ro: " "the error names DIR"
expect_err "20 links not tried" "the summary counts the links not tried"
ok "a read-only DIR is one clear error"

# The disk fills between an image and its ledger line: the run stops saying why, the image
# is taken back and no torn line is left, so a rerun downloads the link again under its own
# name, once (left in place unrecorded, it would be taken for a file of yours).
mkdir -p "$T/lf"
mount -t tmpfs -o size=64k tmpfs "$T/lf" || fail "cannot mount a small tmpfs (run as root)"
trap 'mountpoint -q "$T/lf" && umount "$T/lf"; cleanup' EXIT
pad_ledger() { # the ledger ends a few bytes before 4096
  local len pad
  len=$(stat -c %s "$T/lf/out/.imgpipe/ledger")
  pad=$(head -c $((4096 - len - 60)) /dev/zero | tr '\0' a)
  printf 'failed\t0\t-\tpad.png\thttp://127.0.0.1:1/%s\tx\n' "$pad" >>"$T/lf/out/.imgpipe/ledger"
}
fill_but_a_page() { # ... and one page is left
  local free
  pad_ledger
  free=$(df -k --output=avail "$T/lf" | tail -1)
  dd if=/dev/zero of="$T/lf/filler" bs=4k count=$((free / 4 - 1)) 2>/dev/null
}
for m in seq threads procs async; do
  find "$T/lf" -mindepth 1 -delete
  run_imgpipe get -m "$m" -o "$T/lf/out" "$SRC/x/first.png"
  expect_rc 0 "the first image in a 64 KiB tmpfs ($m)"
  fill_but_a_page # the image takes that page, and the next line needs another
  run_imgpipe get -m "$m" -o "$T/lf/out" "$SRC/x/second.png"
  expect_rc 1 "the ledger line cannot be written ($m)"
  expect_err "cannot append to .imgpipe/ledger: No space left on device" "the reason is the disk's ($m)"
  [ ! -e "$T/lf/out/second.png" ] || fail "an image whose ledger line failed stays in DIR ($m)"
  [ "$(tail -c 1 "$T/lf/out/.imgpipe/ledger" | od -An -c | tr -d ' ')" = '\n' ] ||
    fail "a torn line is left at the ledger's end ($m)"
  rm "$T/lf/filler"
  run_imgpipe get -m "$m" -o "$T/lf/out" "$SRC/x/second.png"
  expect_rc 0 "the rerun with room again ($m)"
  cmp -s "$T/lf/out/second.png" "$T/lf/out/first.png" || fail "the rerun stores second.png ($m)"
  [ "$(ls "$T/lf/out" | grep -c '^second')" -eq 1 ] || fail "the link is stored twice ($m): $(ls "$T/lf/out")"
done
# A name by content that already held these bytes (a file of yours, the same image) was
# not this run's: a ledger line that fails for it leaves it where it is. (The disk cannot
# fail here: the temporary file's page is freed before the line; a file size limit of
# 4 KiB can, as the image is smaller.)
find "$T/lf" -mindepth 1 -delete
run_imgpipe get -o "$T/lf/out" "$SRC/x/first.png"
expect_rc 0 "the first image, for the ledger"
sha=$(sha256sum <"$T/lf/out/first.png" | cut -c1-64)
cp "$T/lf/out/first.png" "$T/lf/out/$sha.png"
pad_ledger
RC=0
(ulimit -f 4 && exec timeout 120 "$IMGPIPE" get --name '{sha256}{ext}' -o "$T/lf/out" "$SRC/x/again.png") \
  >"$T/out" 2>"$T/err" || RC=$?
expect_rc 1 "the ledger line of a kept file cannot be written"
expect_err "cannot append to .imgpipe/ledger: File too large" "the reason is the limit's (a kept file)"
cmp -s "$T/lf/out/$sha.png" "$T/lf/out/first.png" || fail "a file that held the same bytes was taken away"
umount "$T/lf"
ok "a ledger line that cannot be written takes its image back (in every mode), never a file that was there"
