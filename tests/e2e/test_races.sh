# Shared state read across threads (issue #11, item 11), for the ThreadSanitizer stage of
# scripts/test.sh, which fails on any report: in threads mode one worker waits to retry a
# 503 (reading the run's stop flags every 50 ms) while another hits a disk error that
# stops the run (setting them). Read without a lock, that flag must be atomic. Outside
# TSan this checks that the disk error stops the run and the waiting item ends with it.
source "$TESTLIB"
start_galleryd --count 2
for m in threads async; do
  mkdir -p "$T/out-$m/img0000.jpg/in-the-way"  # a directory where the file must go
  printf '%s\n' "$BASE/f/503x1/$m/a.jpg" "$BASE/i/img0000.jpg" "$BASE/i/img0001.jpg" \
    >"$T/list-$m.txt"
  run_imgpipe get -m "$m" -j 2 --retry-wait 1 -o "$T/out-$m" "$T/list-$m.txt"
  [ "$RC" -ne 0 ] || fail "mode $m: a disk error went unreported"
  [ "$RC" -ne 66 ] || fail "mode $m: ThreadSanitizer reported a race: $(cat "$T/err")"
  expect_err "img0000.jpg" "mode $m names the file it could not write"
  ok "mode $m: a disk error while another worker waits to retry"
done
