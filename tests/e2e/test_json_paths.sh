# --json names the files actually written (issue #11): every "path" and every thumbnail in
# get's and thumbs' --json output exists, and each thumbnail is the one made for this run's
# size, also when one size was written under its sized name because a thumbnail of another
# size held the plain one (a rerun with a new size, a file downloaded again).
source "$TESTLIB"
start_galleryd --count 3
"$IMGPIPE" links -q >"$T/list.txt"

# check_json FILE BOX SIZES: every path exists; every thumbnail exists, fits BOX (WxH) and
# is a thumbnail (not the original); an item that wrote thumbnails lists SIZES of them.
check_json() {
  local bw=${2%x*} bh=${2#*x} p w h n
  [ "$(jq -s '[.[] | select(.url)] | length' "$1")" -gt 0 ] || fail "no items in $1"
  while IFS= read -r p; do
    [ -f "$p" ] || fail "--json names a path that does not exist: $p (have: $(ls "$(dirname "$p")"))"
  done < <(jq -r 'select(.url) | (.path // empty), .thumbnails[]' "$1")
  while IFS= read -r p; do
    read -r _ w h _ <<<"$("$IMGINFO" "$p")"
    [ "$w" -le "$bw" ] && [ "$h" -le "$bh" ] || fail "$p is ${w}x$h, not the thumbnail for $2"
  done < <(jq -r 'select(.url) | .thumbnails[]' "$1")
  while IFS= read -r n; do
    [ "$n" -eq 0 ] || [ "$n" -eq "$3" ] || fail "an item lists $n thumbnails, not $3: $(cat "$1")"
  done < <(jq -r 'select(.url) | .thumbnails | length' "$1")
}

run_imgpipe get --json --thumb 64x64 -o "$T/d" "$T/list.txt"
expect_rc 0 "get with one size"
check_json "$T/out" 64x64 1
[ "$(jq -s '[.[] | select(.url) | .thumbnails[]] | length' "$T/out")" -eq 3 ] || fail "3 thumbnails listed"

# A rerun with another size: the done items' 32x32 thumbnails go under sized names.
run_imgpipe get --json --thumb 32x32 -o "$T/d" "$T/list.txt"
expect_rc 0 "a rerun with a new size"
check_json "$T/out" 32x32 1
jq -r 'select(.url) | .thumbnails[]' "$T/out" | grep -q '_thumbnail_32x32\.' ||
  fail "the rerun's thumbnails are the sized ones: $(cat "$T/out")"

# One image downloaded again (its file was removed): its thumbnail too is sized.
first=$(jq -r 'select(.url) | .path' "$T/out" | head -1)
rm "$first" "${first%.*}_thumbnail_32x32.${first##*.}"
run_imgpipe get --json --thumb 32x32 -o "$T/d" "$T/list.txt"
expect_rc 0 "a file downloaded again"
check_json "$T/out" 32x32 1
[ "$(jq -s '[.[] | select(.status == "ok")] | length' "$T/out")" -eq 1 ] || fail "one is downloaded again: $(cat "$T/out")"

# Two sizes in every mode, and thumbs of files on disk.
for m in seq threads procs async; do
  run_imgpipe get -m "$m" --json --thumb 40x40 --thumb 20x20 -o "$T/two-$m" "$T/list.txt"
  expect_rc 0 "two sizes ($m)"
  check_json "$T/out" 40x40 2
done
mkdir "$T/disk" && cp "$T/d"/*[0-9].jpg "$T/d"/*[0-9].png "$T/disk/" 2>/dev/null || true
[ -n "$(ls "$T/disk")" ] || fail "no originals to copy: $(ls "$T/d")"
run_imgpipe thumbs --json -s 48x48 "$T/disk"
expect_rc 0 "thumbs"
check_json "$T/out" 48x48 1
run_imgpipe thumbs --json -s 24x24 "$T/disk"
expect_rc 0 "thumbs of another size"
check_json "$T/out" 24x24 1
ok "every path and thumbnail --json names exists and is the file written for its size"
