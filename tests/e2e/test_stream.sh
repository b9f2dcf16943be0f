# Bodies written as they arrive (issue #12): without thumbnails, a download goes to a
# hidden temporary file in DIR while it is under way, never to its final name; a stop
# removes that file; the bytes on disk are the body's. Retries after half a body, cut and
# short bodies and --max-bytes are test_faults' cases, run on this same path.
source "$TESTLIB"
start_galleryd --count 2
ref="$T/ref.jpg"
fetch_reference "$BASE/i/img0000.jpg" "$ref"   # unknown names under /f/ serve this image

for m in async threads seq; do
  d="$T/drip-$m"
  mkdir -p "$d"
  # drip: the image at one byte per second; --min-speed 1 lets it go on
  "$IMGPIPE" get -m "$m" --retries 0 --read-timeout 60 --min-speed 1 -o "$d" \
    "$BASE/f/drip/$m/drip.jpg" >"$T/out" 2>"$T/err" &
  pid=$!
  part=""
  for _ in $(seq 300); do # up to 30 s for the first 3 bytes on a loaded machine
    part=$(find "$d" -maxdepth 1 -name '.imgpipe-*.part' -size +2c | head -1)
    [ -n "$part" ] && break
    sleep 0.1
  done
  [ -n "$part" ] || { kill "$pid"; fail "mode $m: no temporary file holds the bytes received so far: $(ls -A "$d")"; }
  [ ! -e "$d/drip.jpg" ] || { kill "$pid"; fail "mode $m: the final name exists before the body is whole"; }
  cmp -s <(head -c 3 "$part") <(head -c 3 "$ref") ||
    { kill "$pid"; fail "mode $m: the temporary file does not start with the image's bytes"; }
  kill -INT "$pid"
  RC=0
  wait "$pid" || RC=$?
  expect_rc 130 "mode $m: SIGINT during a streamed body"
  [ -z "$(find "$d" -name '.imgpipe-*')" ] || fail "mode $m: a stopped transfer left $(ls -A "$d")"
  [ ! -e "$d/drip.jpg" ] || fail "mode $m: a stopped transfer left a file under the final name"
  ok "mode $m: a body under way is on disk under a hidden name only, and a stop removes it"
done

# The same files, in place, when the transfer ends: the whole gallery, byte-identical,
# with {sha256} names in the sharded layout (the name is known only at the end, in
# another folder than the temporary file's).
run_imgpipe get -q -o "$T/sha" --name '{sha256}{ext}' --layout sharded imgur:random
expect_rc 0 "get with {sha256} names, sharded"
n=0
while read -r f; do
  want=$(sha256sum <"$f" | cut -c1-64)
  [ "$(basename "$f" | cut -d. -f1)" = "$want" ] || fail "$f is not named by its content"
  n=$((n + 1))
done < <(find "$T/sha" -path '*/.imgpipe' -prune -o -type f -name '*.*' -print)
[ "$n" -ge 1 ] || fail "no images in $T/sha: $(find "$T/sha")"
[ -z "$(find "$T/sha" -name '.imgpipe-*')" ] || fail "temporary files left in $T/sha"
ok "{sha256} names, sharded: $n images named by the content streamed to disk"

# Few file descriptors: a temporary file per body under way would run out of them (a
# socket and up to two temporary files per transfer in flight); bodies then stay in memory
# and every image still arrives, none fails with "too many open files".
start_galleryd --count 100 --latency-ms 200
run_imgpipe_nofile() { RC=0; (ulimit -n 100 && exec timeout 120 "$IMGPIPE" "$@") >"$T/out" 2>"$T/err" || RC=$?; }
run_imgpipe_nofile get -q -j 48 -o "$T/fds" imgur:random
expect_rc 0 "get -j 48 with 100 file descriptors"
n=$(find "$T/fds" -maxdepth 1 -type f | wc -l)
[ "$n" -eq 100 ] || fail "get -j 48 with 100 file descriptors stored $n of 100 images: $(head -c 1000 "$T/err")"
ok "with few file descriptors, bodies stay in memory and all 100 images arrive"
