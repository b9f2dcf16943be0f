# Shared state read across threads (issue #11, item 11), for the ThreadSanitizer stage of
# scripts/test.sh, which fails on any report: in threads mode one worker waits to retry a
# 503 (reading the run's stop flags every 50 ms) while another hits a disk error that
# stops the run (setting them). Read without a lock, that flag must be atomic. Outside
# TSan this checks that the disk error stops the run and the waiting item ends with it.
source "$TESTLIB"
start_galleryd --count 2
for m in threads async; do
  # A full disk: every write in DIR fails alike, so the run stops (a directory in the way
  # of one name would be that item's failure only).
  mkdir -p "$T/out-$m"
  mount -t tmpfs -o size=64k tmpfs "$T/out-$m" || fail "cannot mount a small tmpfs (run as root)"
  trap 'for d in "$T"/out-*; do mountpoint -q "$d" && umount "$d"; done; cleanup' EXIT
  mkdir -p "$T/out-$m/.imgpipe"
  dd if=/dev/zero of="$T/out-$m/filler" bs=4k 2>/dev/null || true
  printf '%s\n' "$BASE/f/503x1/$m/a.jpg" "$BASE/i/img0000.jpg" "$BASE/i/img0001.jpg" \
    >"$T/list-$m.txt"
  run_imgpipe get -m "$m" -j 2 --retry-wait 1 -o "$T/out-$m" "$T/list-$m.txt"
  [ "$RC" -ne 0 ] || fail "mode $m: a disk error went unreported"
  [ "$RC" -ne 66 ] || fail "mode $m: ThreadSanitizer reported a race: $(cat "$T/err")"
  expect_err "No space left on device" "mode $m says why it could not write"
  ok "mode $m: a disk error while another worker waits to retry"
done
