# What get tells: --json per item and a summary (valid JSON for any URL), --stats FILE,
# -v, -q, the summary by reason, and a progress line only on a terminal.
source "$TESTLIB"
start_galleryd --count 6
"$IMGPIPE" links -q >"$T/list.txt"
printf '%s/i/missing.jpg\n' "$BASE" >>"$T/list.txt"
# curl refuses these two (control bytes; not http): failures whose URLs must still be valid JSON
printf '%s/x/caf\xc3\xa9-\xff\xfe-"q"\\-\x01.png\n' "$BASE" >>"$T/list.txt"  # invalid UTF-8, quote, backslash
printf 'ftp://127.0.0.1/\xc0\xaf\xed\xa0\x80.jpg\n' >>"$T/list.txt"       # overlong form, surrogate

run_imgpipe get --json --stats "$T/stats.json" --thumb 32x32 -o "$T/d" "$T/list.txt"
expect_rc 1 "--json with failures"
/usr/bin/env python3 - "$T" <<'PY' || fail "--json output is wrong (see above)"
import hashlib, json, os, sys
T = sys.argv[1]
lines = open(f"{T}/out", "rb").read().decode("utf-8").splitlines()  # must be UTF-8
objs = [json.loads(l) for l in lines]                               # every line parses
items, summary = objs[:-1], objs[-1]["summary"]
assert len(items) == 9, len(items)
ok = [i for i in items if i["status"] == "ok"]
failed = [i for i in items if i["status"] == "failed"]
assert len(ok) == 6 and len(failed) == 3, (len(ok), len(failed))
for i in ok:
    data = open(i["path"], "rb").read()
    assert len(data) == i["bytes"] and hashlib.sha256(data).hexdigest() == i["sha256"], i
    assert len(i["thumbnails"]) == 1 and os.path.exists(i["thumbnails"][0]), i
    assert i["error"] is None and i["attempts"] == 1 and i["ms"] >= 0
for i in failed:
    assert i["path"] is None and i["error"] and i["thumbnails"] == [], i
assert any("\ufffd" in i["url"] for i in items), "invalid UTF-8 is replaced, not dropped"
assert any('"q"\\-\x01' in i["url"] for i in items), "quotes, backslashes and controls escaped"
assert summary["done"] == 6 and summary["failed"] == 3 and summary["thumbnails"] == 6, summary
assert summary["failed_by_reason"] == {"HTTP error status": 1, "invalid argument": 2}, summary
assert json.load(open(f"{T}/stats.json")) == objs[-1], "--stats holds the same summary"
PY
ok "--json: one valid object per item, right paths, sizes and SHA-256; --stats"

expect_err "3 failed (2 invalid argument, 1 HTTP error status)" "the summary counts failures by reason"
grep -q $'\r' "$T/err" && fail "no progress line when stderr is not a terminal"

run_imgpipe get -v --no-ledger -o "$T/v" "$T/list.txt"
[ "$(grep -c '^imgpipe: ok ' "$T/err")" -eq 6 ] || fail "-v prints a line per item"
run_imgpipe get -q --no-ledger -o "$T/q" "$T/list.txt"
grep -q 'downloaded' "$T/err" && fail "-q prints no summary"
[ "$(grep -c FAILED "$T/err")" -eq 3 ] || fail "-q still prints failures"
ok "-v and -q"

# On a terminal (script(1) gives a pseudo-terminal): a line redrawn in place.
start_galleryd --count 30 --latency-ms 300   # an Imgur answer: the total is known
script -qec "$IMGPIPE get -j 4 --no-ledger -o $T/tty" /dev/null >"$T/tty.out" 2>&1 </dev/null || true
grep -q $'\r\033\[Kimgpipe: [0-9]*/30 done, 0 failed' "$T/tty.out" ||
  fail "a progress line with done/total on a terminal: $(head -c 600 "$T/tty.out" | od -c | head)"
grep -q 'ETA' "$T/tty.out" || fail "the progress line shows an ETA"
grep -q '30 downloaded' "$T/tty.out" || fail "the summary follows the progress line"
grep -q '[0-9a-z]imgpipe: ' "$T/tty.out" && fail "a line was printed over the progress line without clearing it"
ok "progress line on a terminal"

# --stats into a link, a FIFO or a device is written through, as '>' would: the link
# stays a link (its target gets the summary), the FIFO's reader reads it, /dev/null stays
# a device (replaced by a file, as root, it was).
mkdir -p "$T/st"
ln -s "$T/st/target.json" "$T/st/link.json"
mkfifo "$T/st/fifo"
(timeout 30 cat "$T/st/fifo" >"$T/st/from-fifo") &
reader=$!
run_imgpipe get -q --stats "$T/st/link.json" -o "$T/d" "$T/list.txt"
[ -L "$T/st/link.json" ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))["summary"]' \
  "$T/st/target.json" || fail "--stats through a link: $(ls -l "$T/st")"
run_imgpipe get -q --stats "$T/st/fifo" -o "$T/d" "$T/list.txt"
wait "$reader" || fail "the FIFO's reader got nothing"
[ -p "$T/st/fifo" ] && grep -q '"summary"' "$T/st/from-fifo" || fail "--stats into a FIFO: $(ls -l "$T/st")"
if [ "$(id -u)" = 0 ]; then
  run_imgpipe get -q --stats /dev/null -o "$T/d" "$T/list.txt"
  [ -c /dev/null ] || { rm -f /dev/null; mknod -m 666 /dev/null c 1 3; fail "--stats /dev/null replaced the device"; }
fi
ok "--stats writes through a link, into a FIFO or a device, replacing none"

# --json to a stdout that cannot be written (a full disk) fails the run, saying so.
RC=0
timeout 60 "$IMGPIPE" get --json -o "$T/full" "$BASE/i/img0000.jpg" >/dev/full 2>"$T/err" || RC=$?
expect_rc 1 "--json to a full stdout"
expect_err "cannot write to standard output: No space left on device" "--json to a full stdout says why"
ok "--json to a full stdout fails the run"

# A --stats path that cannot be written is a usage error before any link is fetched (it
# failed only once every link was done, exit 1, the downloads already made).
for bad in "$T/no-such-dir/stats.json" "$T/st"; do
  run_imgpipe get -q --stats "$bad" -o "$T/early" "$T/list.txt"
  expect_rc 2 "get --stats $bad"
  expect_err "--stats:" "get --stats $bad"
  [ ! -e "$T/early" ] || fail "get --stats $bad fetched links before failing: $(ls -A "$T/early")"
  run_imgpipe thumbs -q --stats "$bad" "$T/d"
  expect_rc 2 "thumbs --stats $bad"
done
expect_err "is a directory" "--stats a folder"
ok "--stats that cannot be written: exit 2 before anything is fetched or made"
