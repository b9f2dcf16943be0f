# The final rename never replaces a file that another process created at the name after
# imgpipe checked it was free (issue #11): an LD_PRELOAD shim (tests/tools/plant_shim.c)
# plants a file at the name just before the rename, in every mode, through each way the
# store has (renameat2's RENAME_NOREPLACE, link + unlink, a check before the rename). The
# planted file keeps its bytes, the item fails saying why, no temporary file is left, and
# a rerun stores the image beside it. A file that is the link's own (the ledger says so)
# is still rewritten.
source "$TESTLIB"
: "${BUILD_DIR:?set BUILD_DIR to the build directory}"
SHIM="$BUILD_DIR/tests/libplant_shim.so"
[ -f "$SHIM" ] || fail "no $SHIM (built by tests/CMakeLists.txt)"
# An instrumented imgpipe wants its sanitizer's runtime first; the shim comes before it.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
start_galleryd --count 2
URL="$BASE/i/img0000.jpg"

# planted DIR MODE [VAR=1...]: a get of URL with the shim planting img0000.jpg.
planted() {
  local dir=$1 mode=$2
  shift 2
  RC=0
  env "$@" LD_PRELOAD="$SHIM" PLANT_NAME=img0000.jpg PLANT_TEXT="not imgpipe's" \
    timeout 120 "$IMGPIPE" get -m "$mode" --thumb 32x32 -o "$dir" "$URL" >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 1 "$mode $*: a file planted before the rename"
  [ "$(cat "$dir/img0000.jpg")" = "not imgpipe's" ] || fail "$mode $*: the planted file was replaced"
  expect_err "img0000.jpg.*appeared at that name.*not replaced" "$mode $*: the failure says why"
  [ -z "$(find "$dir" -name '.imgpipe-*')" ] || fail "$mode $*: a temporary file is left: $(ls -A "$dir")"
  [ ! -e "$dir/img0000_thumbnail.jpg" ] || fail "$mode $*: a thumbnail of a file not stored"
  grep -q "^failed.*img0000.jpg" "$dir/.imgpipe/ledger" || fail "$mode $*: not recorded as failed"
}

for m in seq threads procs async; do
  planted "$T/$m" "$m"
done
ok "renameat2 (RENAME_NOREPLACE): a file planted before the rename is kept, in every mode"
planted "$T/link" seq PLANT_NO_RENAMEAT2=1
ok "without renameat2 (link + unlink): the planted file is kept"
planted "$T/check" seq PLANT_NO_RENAMEAT2=1 PLANT_NO_LINK=1
ok "without renameat2 nor hard links (a check before the rename): the planted file is kept"

# A thumbnail's name found free is not taken from a file planted there either.
RC=0
LD_PRELOAD="$SHIM" PLANT_NAME=img0000_thumbnail.jpg PLANT_TEXT="a thumbnail of mine" \
  timeout 120 "$IMGPIPE" get -m seq --thumb 32x32 -o "$T/thumb" "$URL" >"$T/out" 2>"$T/err" || RC=$?
expect_rc 1 "a file planted at the thumbnail's name"
[ "$(cat "$T/thumb/img0000_thumbnail.jpg")" = "a thumbnail of mine" ] || fail "the planted thumbnail was replaced"
expect_err "img0000_thumbnail.jpg.*not replaced" "the thumbnail's failure says why"
ok "a file planted at a thumbnail's name is kept"

# A rerun gives the link another name; a file the ledger has as the link's own, no longer
# what was recorded, is fetched again and rewritten in place.
run_imgpipe get -o "$T/seq" "$URL"
expect_rc 0 "a rerun beside the planted file"
[ "$(cat "$T/seq/img0000.jpg")" = "not imgpipe's" ] || fail "the rerun replaced the planted file"
[ "$(ls "$T/seq" | grep -c '^img0000-.*\.jpg$')" -eq 1 ] || fail "the rerun's name: $(ls "$T/seq")"
run_imgpipe get -o "$T/own" "$URL"
expect_rc 0 "a first download"
truncate -s 100 "$T/own/img0000.jpg" # no longer what the ledger recorded: fetched again
run_imgpipe get -o "$T/own" "$URL"
expect_rc 0 "a rerun over the link's own file"
cmp -s "$T/own/img0000.jpg" <(curl -sf "$URL") || fail "the link's own file was not rewritten whole"
ok "a rerun stores the image beside a planted file; a file that is the link's own is rewritten"
