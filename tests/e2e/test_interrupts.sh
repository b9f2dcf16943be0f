# Interruptions, crashes, a full disk and runs side by side: what is in DIR is what the
# ledger says is done, and a rerun ends with the set a clean run makes, each link once.
source "$TESTLIB"
start_galleryd --count 8
"$IMGPIPE" links -q >"$T/links.txt"
mkdir -p "$T/ref"
while read -r l; do fetch_reference "$l" "$T/ref/${l##*/}"; done <"$T/links.txt"

# same_as_clean DIR WHAT: every image once under its own name, byte-identical to the
# server's; no -<hash> copy; every image file recorded done in the ledger.
same_as_clean() {
  local f n
  for f in "$T"/ref/*; do cmp -s "$f" "$1/${f##*/}" || fail "$2: ${f##*/} is missing or differs"; done
  n=$(find "$1" -maxdepth 1 -type f ! -name '*_thumbnail*' | wc -l)
  [ "$n" -eq "$(ls "$T/ref" | wc -l)" ] || fail "$2: $n images for $(ls "$T/ref" | wc -l) links: $(ls "$1")"
  for f in "$T"/ref/*; do
    grep -q "^done	[0-9]*	[0-9a-f]*	${f##*/}	" "$1/.imgpipe/ledger" ||
      fail "$2: ${f##*/} is in DIR but not recorded done"
  done
}

# A run killed (SIGKILL) after an image was put in place and before its ledger line (the
# window lasts through the thumbnails, or the trip from a procs worker to its parent):
# simulated by cutting the last lines off a whole run's ledger. The rerun takes the file
# there, which holds the very bytes, for the image itself; it used to be a "file of yours"
# and the link was stored a second time as img-<hash>.jpg.
for m in seq threads procs async; do
  for thumb in "" "--thumb 32"; do
    d="$T/orphan-$m${thumb:+-thumb}"
    run_imgpipe get -m "$m" $thumb -o "$d" "$T/links.txt"
    expect_rc 0 "first run ($m $thumb)"
    head -n -3 "$d/.imgpipe/ledger" >"$T/ledger" && cat "$T/ledger" >"$d/.imgpipe/ledger"
    run_imgpipe get -m "$m" $thumb -o "$d" "$T/links.txt"
    expect_rc 0 "rerun after a crash before the ledger line ($m $thumb)"
    expect_err "5 already done" "the rerun skips what the ledger has ($m $thumb)"
    same_as_clean "$d" "rerun after a crash before the ledger line ($m $thumb)"
    [ -z "$thumb" ] || [ "$(ls "$d" | grep -c _thumbnail)" -eq 8 ] ||
      fail "one thumbnail per image ($m): $(ls "$d")"
    run_imgpipe get -m "$m" $thumb -o "$d" "$T/links.txt"
    expect_err "8 already done" "the next run skips every link ($m $thumb)"
  done
done
# A file of yours at the name with other bytes is still yours: the link gets its -<hash>.
mkdir -p "$T/yours"
first=$(head -1 "$T/links.txt")
echo "mine" >"$T/yours/${first##*/}"
run_imgpipe get -o "$T/yours" "$first"
expect_rc 0 "a file of yours at the name"
[ "$(cat "$T/yours/${first##*/}")" = mine ] || fail "a file of yours was replaced"
[ "$(ls "$T/yours" | wc -l)" -eq 2 ] || fail "the link gets its -<hash> name: $(ls "$T/yours")"
# A file of yours at the name, and a run killed before the ledger line of the link it stored
# under its -<hash> name: the rerun takes that file (not yours) for the image, in every mode.
for m in seq threads procs async; do
  d="$T/yours-killed-$m"
  mkdir -p "$d"
  echo "mine" >"$d/${first##*/}"
  run_imgpipe get -m "$m" -o "$d" "$first"
  expect_rc 0 "a file of yours at the name ($m)"
  : >"$d/.imgpipe/ledger"
  run_imgpipe get -m "$m" -o "$d" "$first"
  expect_rc 0 "rerun after a crash before the ledger line, a file of yours at the name ($m)"
  [ "$(cat "$d/${first##*/}")" = mine ] || fail "a file of yours was replaced ($m)"
  [ "$(ls "$d" | wc -l)" -eq 2 ] || fail "the link stored twice ($m): $(ls "$d")"
  grep -q "^done	" "$d/.imgpipe/ledger" || fail "the -<hash> file is not recorded done ($m)"
done
ok "a crash between an image and its ledger line: the rerun records the image, stores it once"

# Two runs of one list into one DIR at once: the second starts with a link that takes
# 2 s (two 503s before it is answered), so it names the others after the first run put
# them in place but after its own look at the ledger: their files hold the very bytes it
# downloads, and are kept and recorded (they used to be stored again as img-<hash>.jpg).
# Each link once, under its own name; a third run downloads nothing.
start_galleryd --count 8 --latency-ms 200
SLOW=$BASE
"$IMGPIPE" links -q >"$T/slow.txt"
for m in seq async; do
  d="$T/both-$m"
  { echo "$SLOW/f/503x2/lag-$m/lag.jpg" && cat "$T/slow.txt"; } >"$T/lag.txt"
  RC=0
  "$IMGPIPE" get -q -m "$m" -j 2 -o "$d" "$T/slow.txt" 2>"$T/err-a" &
  a=$!
  "$IMGPIPE" get -q -m "$m" -j 1 --retry-wait 1 -o "$d" "$T/lag.txt" 2>"$T/err" || RC=$?
  expect_rc 0 "the second of two runs at once ($m)"
  wait "$a" || fail "the first of two runs at once ($m): $(cat "$T/err-a")"
  { echo lag.jpg && sed "s|^$SLOW/i/||" "$T/slow.txt"; } | sort >"$T/want"
  ls "$d" | sort >"$T/got"
  cmp -s "$T/want" "$T/got" || fail "two runs at once ($m) stored: $(diff "$T/want" "$T/got")"
  run_imgpipe get -m "$m" -o "$d" "$T/lag.txt"
  expect_rc 0 "a third run ($m)"
  expect_err "0 downloaded" "a third run after two at once downloads nothing ($m)"
done
ok "two runs of one list into one DIR at once store each link once"

# The disk fills between an image and its thumbnail: the item fails and neither stays in
# DIR (the ledger records it failed); with room again the rerun stores the link once.
mkdir -p "$T/full"
mount -t tmpfs -o size=1m tmpfs "$T/full" || fail "cannot mount a small tmpfs (run as root)"
trap 'mountpoint -q "$T/full" && umount "$T/full"; cleanup' EXIT
start_galleryd --count 8
url="$BASE/i/$(basename "$(sed -n 2p "$T/links.txt")")"
pages=$(($(curl -sf "$url" | wc -c) / 4096 + 1))
for m in seq threads procs async; do
  find "$T/full" -mindepth 1 -delete
  mkdir -p "$T/full/out/.imgpipe"
  printf 'failed\t0\t-\tpad.png\thttp://127.0.0.1:1/pad.png\tx\n' >"$T/full/out/.imgpipe/ledger"
  free=$(df -k --output=avail "$T/full" | tail -1)
  dd if=/dev/zero of="$T/full/filler" bs=4k count=$((free / 4 - pages)) 2>/dev/null
  run_imgpipe get -m "$m" --thumb 64 -o "$T/full/out" "$url"
  expect_rc 1 "a thumbnail on a full disk ($m)"
  expect_err "_thumbnail.*No space left on device" "the failure names the thumbnail ($m)"
  [ -z "$(ls "$T/full/out")" ] || fail "a failed item left files in DIR ($m): $(ls "$T/full/out")"
  grep -q "^failed.*${url##*/}" "$T/full/out/.imgpipe/ledger" || fail "not recorded as failed ($m)"
  rm "$T/full/filler"
  run_imgpipe get -m "$m" --thumb 64 -o "$T/full/out" "$url"
  expect_rc 0 "the rerun with room again ($m)"
  [ "$(ls "$T/full/out" | tr '\n' ' ')" = "$(basename "$url" | sed 's/\(.*\)\.\(.*\)/\1.\2 \1_thumbnail.\2 /')" ] ||
    fail "the rerun stores the link once ($m): $(ls "$T/full/out")"
done
umount "$T/full"
ok "a thumbnail that hits a full disk takes its image back; the rerun stores the link once"

# thumbs under a file size limit (ulimit -f): a thumbnail over it fails as its own item
# (EFBIG), where SIGXFSZ used to kill the run at the first one, exit 153, leaving its cut
# temporary file in the folder. And a temporary file that a killed run left in a folder
# (here a get killed during a slow download) is removed by the next thumbs there.
mkdir -p "$T/th"
cp "$T/ref/$(ls "$T/ref" | head -1)" "$T/ref/$(ls "$T/ref" | sed -n 2p)" "$T/th/"
RC=0
setsid "$IMGPIPE" get -m seq -o "$T/th" "$BASE/f/drip/th/drip.jpg" >/dev/null 2>&1 &
pid=$!
for i in $(seq 1 200); do
  [ -n "$(find "$T/th" -name '.imgpipe-*.part')" ] && break
  sleep 0.05
done
kill -9 -- "-$pid"
wait "$pid" 2>/dev/null || true
[ -n "$(find "$T/th" -name '.imgpipe-*.part')" ] || fail "the killed get left no temporary file to sweep"
rm -rf "$T/th/.imgpipe"
for m in seq threads procs; do
  RC=0
  (ulimit -f 100 && exec timeout 120 "$IMGPIPE" thumbs -m "$m" -t 1500 --upscale --format png \
    --effort 1 "$T/th") >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 1 "thumbs over a file size limit ($m)"
  expect_err "File too large" "thumbs says why ($m)"
  [ "$(grep -c FAILED "$T/err")" -eq 2 ] || fail "each file fails as its own item ($m): $(cat "$T/err")"
  [ -z "$(find "$T/th" -name '.imgpipe-*')" ] || fail "thumbs left temporary files ($m): $(ls -A "$T/th")"
  [ "$(ls "$T/th" | wc -l)" -eq 2 ] || fail "no thumbnail is written whole ($m): $(ls "$T/th")"
done
run_imgpipe thumbs -t 32 "$T/th"
expect_rc 0 "thumbs within the limit"
[ "$(ls "$T/th" | grep -c _thumbnail)" -eq 2 ] || fail "thumbs within the limit: $(ls "$T/th")"
ok "thumbs: a thumbnail over the file size limit fails alone; a killed run's temporary file is swept"

# Restartable runs name a link as before. With --layout sharded the ledger's names are
# paths (ab/x.jpg): a rerun skips what is done (each rerun used to store every link again
# under a new -<hash> name). And a link an earlier run stored under its -<hash> name (a
# file of yours had the base name then) is done there even once the base name is free
# (the rerun used to store it a second time under the base name).
start_galleryd --count 3
for k in 1 2 3; do
  run_imgpipe get --layout sharded -o "$T/sharded" "$BASE/i/img0000.jpg" "$BASE/i/img0001.jpg"
  expect_rc 0 "sharded run $k"
done
expect_err "0 downloaded" "a sharded rerun downloads nothing"
expect_err "2 already done" "a sharded rerun skips both links"
[ "$(find "$T/sharded" -name '*.jpg' | wc -l)" -eq 2 ] ||
  fail "sharded reruns store each link once: $(find "$T/sharded" -name '*.jpg')"
mkdir -p "$T/freed"
echo mine >"$T/freed/img0000.jpg"
run_imgpipe get -o "$T/freed" "$BASE/i/img0000.jpg"
expect_rc 0 "beside a file of yours"
rm "$T/freed/img0000.jpg"
run_imgpipe get -o "$T/freed" "$BASE/i/img0000.jpg" "$BASE/i/img0000.jpg"
expect_rc 0 "a rerun once the base name is free"
expect_err "0 downloaded" "the rerun downloads nothing"
[ "$(ls "$T/freed")" = "$(ls "$T/freed" | grep '^img0000-[0-9a-f]*\.jpg$')" ] ||
  fail "the link stays where the ledger has it, once: $(ls "$T/freed")"
ok "reruns find links where the ledger has them: sharded, and under a -<hash> name"

# Runs into one DIR at once share the ledger: one appending a line per link while others
# start (each reads the ledger, and used to cut it back to what it had read, dropping the
# lines appended meanwhile). Every line of the appending run is kept. A race: three
# rounds, each of which lost lines more often than not before.
start_galleryd --count 1 --latency-ms 2
for i in $(seq 1 8000); do echo "$BASE/i/nope$i.jpg"; done >"$T/nope.txt"
starts=0
for round in 1 2 3; do
  d="$T/shared-$round"
  run_imgpipe get -q -o "$d" "$BASE/i/img0000.jpg"
  expect_rc 0 "the first run into the shared DIR"
  "$IMGPIPE" get -q -m async -j 32 --retries 0 -o "$d" "$T/nope.txt" 2>/dev/null &
  a=$!
  while kill -0 "$a" 2>/dev/null; do
    bs=()
    for k in 1 2 3 4; do
      timeout 60 "$IMGPIPE" get -q -o "$d" "$BASE/i/img0000.jpg" &
      bs+=($!)
    done
    wait "${bs[@]}" || fail "a run started beside another failed"
    starts=$((starts + 4))
  done
  wait "$a" 2>/dev/null || true
  n=$(grep -c '^failed' "$d/.imgpipe/ledger" || true)
  [ "$n" -eq 8000 ] || fail "round $round: $((8000 - n)) of 8000 ledger lines lost to runs started meanwhile"
done
ok "a run's ledger lines survive $starts runs started into the same DIR meanwhile"

# Where flock is a POSIX lock of the process (Linux's NFS client makes it one), closing any
# descriptor of the ledger lets the lock go: the torn tail was cut after the copy the ledger
# was read through was closed, unlocked, where it could take a line another run appended
# (tests/tools/nfslock_shim.c: flock as NFS does it; it says when the ledger is cut unlocked).
start_galleryd --count 2
"$IMGPIPE" links -q >"$T/nfs.txt"
d="$T/nfs"
run_imgpipe get -o "$d" "$T/nfs.txt"
expect_rc 0 "a run before the NFS one"
printf 'done\t12\t-\ttorn' >>"$d/.imgpipe/ledger"
RC=0
LD_PRELOAD="$BUILD_DIR/tests/libnfslock_shim.so" NFSLOCK_REPORT="$T/unlocked" \
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
  timeout 120 "$IMGPIPE" get -o "$d" "$T/nfs.txt" >"$T/out" 2>"$T/err" || RC=$?
expect_rc 0 "a rerun with flock as NFS's"
[ ! -e "$T/unlocked" ] || fail "with NFS's locks: $(cat "$T/unlocked")"
[ "$(tail -c 1 "$d/.imgpipe/ledger" | od -An -c | tr -d ' ')" = '\n' ] || fail "the torn line stays"
ok "with flock as NFS's (a POSIX lock), the ledger's torn tail is cut under the lock"

# ---- a stop during the Imgur API request, or while a FIFO list waits for its writer ------
# The handlers were set only once the sources were open: SIGTERM then killed the process by
# its default action, with no word. Now the request (or the open) ends, saying so, 143/130.
start_galleryd --count 4 --latency-ms 20000
for sig in TERM INT; do
  RC=0
  "$IMGPIPE" get -o "$T/api-$sig" imgur:random >"$T/out" 2>"$T/err" &
  pid=$!
  sleep 0.7
  start=$(date +%s%N)
  kill -"$sig" "$pid"
  wait "$pid" || RC=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  want=$([ "$sig" = TERM ] && echo 143 || echo 130)
  expect_rc "$want" "SIG$sig during the API request"
  expect_err "imgpipe: interrupted" "SIG$sig during the API request"
  [ "$ms" -lt 5000 ] || fail "SIG$sig during the API request took $ms ms to end the run"
done
mkfifo "$T/nowriter.fifo"
RC=0
"$IMGPIPE" get -o "$T/fifo-out" "$T/nowriter.fifo" >"$T/out" 2>"$T/err" &
pid=$!
sleep 0.5
kill -TERM "$pid"
wait "$pid" || RC=$?
expect_rc 143 "SIGTERM while a FIFO list waits for its writer"
expect_err "imgpipe: interrupted" "SIGTERM while a FIFO list waits for its writer"
ok "SIGTERM and SIGINT during the API request or a FIFO's open end the run, saying so"
