# Paged Imgur listings: gallery/, r/ and tag/ with --pages, against galleryd --page-size.
# galleryd --log writes each request's path to $T/galleryd.log, which tells which pages
# imgpipe asked for; the log is emptied before each run that is checked that way.
source "$TESTLIB"
# 12 items (10 images, a gif, an album of the last 2 images) as pages of 5: page 0 and 1
# hold 5 images each, page 2 the gif and the album, page 3 is empty.
start_galleryd --count 12 --page-size 5 --log

clear_log() { : >"$T/galleryd.log"; }
# requests PATTERN: how many logged requests match the extended regex PATTERN.
requests() { grep -cE "^galleryd: GET $1\$" "$T/galleryd.log" || true; }

expect_all_12() {
  [ "$(wc -l <"$T/out")" -eq 12 ] || fail "$1: expected 12 links, got: $(cat "$T/out")"
  [ "$(sort -u "$T/out" | wc -l)" -eq 12 ] || fail "$1: a link came twice: $(cat "$T/out")"
  local i
  for i in $(seq 0 11); do
    grep -q "^$BASE/i/img$(printf %04d "$i")\.\(jpg\|png\)$" "$T/out" || fail "$1: image $i missing"
  done
}

# expect_pages NAME PATH0 PREFIX: page 0 asked for as PATH0, pages 1..3 as PREFIX/N, each
# once, and nothing past the first empty page (3).
expect_pages() {
  [ "$(requests "$2")" -eq 1 ] || fail "$1: page 0 ($2) asked for once: $(cat "$T/galleryd.log")"
  local p
  for p in 1 2 3; do
    [ "$(requests "$3/$p")" -eq 1 ] || fail "$1: page $p asked for once: $(cat "$T/galleryd.log")"
  done
  [ "$(requests "$3/[4-9][0-9]*")" -eq 0 ] || fail "$1: pages past the empty one were asked for"
}

clear_log
run_imgpipe links --pages 10 imgur:gallery/hot/viral/day/0
expect_rc 0 "gallery --pages 10"
expect_all_12 "gallery --pages 10"
expect_pages "gallery --pages 10" /3/gallery/hot/viral/day/0 /3/gallery/hot/viral/day
ok "gallery: every link once over 3 pages, stopped at the first empty page"

run_imgpipe links --pages 2 imgur:gallery/hot/viral/day/0
expect_rc 0 "gallery --pages 2"
[ "$(wc -l <"$T/out")" -eq 10 ] || fail "--pages 2: expected 10 links, got: $(cat "$T/out")"
clear_log
run_imgpipe links imgur:gallery/hot/viral/day/0
expect_rc 0 "gallery without --pages"
[ "$(wc -l <"$T/out")" -eq 5 ] || fail "one page by default: $(cat "$T/out")"
[ "$(requests '/3/gallery/.*')" -eq 1 ] || fail "one request by default: $(cat "$T/galleryd.log")"
run_imgpipe links --pages 10 imgur:gallery/hot/viral/day/1
expect_rc 0 "gallery from page 1"
[ "$(wc -l <"$T/out")" -eq 7 ] || fail "from page 1: 5 images + the album's 2: $(cat "$T/out")"
grep -q "img0000" "$T/out" && fail "from page 1: page 0's links must not be there"
ok "--pages 2, the default of one page, and a start page"

clear_log
run_imgpipe links --pages 10 imgur:r/pics
expect_rc 0 "r/pics --pages 10"
expect_all_12 "r/pics --pages 10"
expect_pages "r/pics" /3/gallery/r/pics /3/gallery/r/pics/time/week
run_imgpipe links --pages 2 imgur:r/pics/top/all
[ "$(wc -l <"$T/out")" -eq 10 ] || fail "r/ --pages 2: expected 10 links, got: $(cat "$T/out")"
ok "imgur:r/<subreddit>"

clear_log
run_imgpipe links --pages 10 imgur:tag/cats
expect_rc 0 "tag/cats --pages 10"
expect_all_12 "tag/cats --pages 10"
expect_pages "tag/cats" /3/gallery/t/cats /3/gallery/t/cats/viral/week
run_imgpipe links --pages 2 imgur:tag/cats
[ "$(wc -l <"$T/out")" -eq 10 ] || fail "tag/ --pages 2: expected 10 links, got: $(cat "$T/out")"
grep -q "not JPEG" "$T/err" && fail "tag --pages 2: page 2 (the gif) must not be read"
ok "imgur:tag/<tag>"

# Sources without pages answer once, whatever --pages says.
clear_log
run_imgpipe links --pages 5 imgur:random imgur:album/sample
expect_rc 0 "random and album with --pages"
[ "$(wc -l <"$T/out")" -eq 7 ] || fail "random (first 5 items) + album (2): $(cat "$T/out")"
[ "$(requests '/3/.*')" -eq 2 ] || fail "random and album: one request each: $(cat "$T/galleryd.log")"
ok "random and album are not paged"

# A later page fails: the links of earlier pages are printed, then the API's message, exit 1.
start_galleryd --count 12 --page-size 5 --fail-page 1
for spec in imgur:gallery/hot/viral/day/0 imgur:r/pics imgur:tag/cats; do
  run_imgpipe links --pages 3 "$spec"
  expect_rc 1 "$spec: page 1 fails"
  [ "$(wc -l <"$T/out")" -eq 5 ] || fail "$spec: page 0's 5 links come first: $(cat "$T/out")"
  expect_err "HTTP 500" "$spec: page 1 fails"
  expect_err "over capacity" "$spec: page 1's failure gives the API's text"
done
run_imgpipe get -q -o "$T/dl" --pages 3 imgur:gallery/hot/viral/day/0
expect_rc 1 "get: page 1 fails"
expect_err "over capacity" "get: page 1's failure gives the API's text"
run_imgpipe links --pages 1 imgur:gallery/hot/viral/day/0
expect_rc 0 "the failing page is not asked for with --pages 1"
ok "a failing later page"

# Bad specs and --pages values are usage errors that list what is accepted.
for spec in imgur:r/ imgur:r imgur:tag/ imgur:tag/a/b/c/d/e imgur:tag/ca.ts imgur:r/pics/top/all/x \
  'imgur:r/pi cs'; do
  run_imgpipe links "$spec"
  expect_rc 2 "bad spec $spec"
  expect_err "imgur:r/<subreddit>" "bad spec $spec lists the r/ form"
  expect_err "imgur:tag/<tag>" "bad spec $spec lists the tag/ form"
  expect_err "imgur:gallery/<section>" "bad spec $spec lists the gallery/ form"
done
for n in 0 1001 x -1; do
  run_imgpipe links --pages "$n" imgur:r/pics
  expect_rc 2 "--pages $n"
  expect_err "--pages" "--pages $n names the option"
done
run_imgpipe get --pages 0 imgur:r/pics
expect_rc 2 "get --pages 0"
run_imgpipe get --help
grep -q -- "--pages N" "$T/out" || fail "get --help shows --pages"
run_imgpipe links --help
grep -q -- "--pages N" "$T/out" || fail "links --help shows --pages"
"$IMGPIPE" --help | grep -q "imgur:tag/<tag>" || fail "imgpipe --help shows imgur:tag/"
ok "bad specs and --pages values"

# The next page is fetched while this page's images download, not after them: with one
# transfer at a time and 100 ms per response, page 1 is asked for before page 0's last
# image (lazily it would come after all five).
start_galleryd --count 12 --page-size 5 --latency-ms 100 --log
clear_log
run_imgpipe get -q -j 1 --pages 2 -o "$T/ahead" imgur:gallery/hot/viral/day/0
expect_rc 0 "get --pages 2 -j 1"
[ "$(find "$T/ahead" -maxdepth 1 -type f | wc -l)" -eq 10 ] || fail "get --pages 2: expected 10 images"
page1=$(grep -nE '^galleryd: GET /3/gallery/hot/viral/day/1$' "$T/galleryd.log" | cut -d: -f1)
last0=$(grep -nE '^galleryd: GET /i/img000[0-4]\.' "$T/galleryd.log" | tail -1 | cut -d: -f1)
[ -n "$page1" ] && [ -n "$last0" ] || fail "get --pages 2: requests missing: $(cat "$T/galleryd.log")"
[ "$page1" -lt "$last0" ] || fail "page 1 was asked for only after page 0's images: $(cat "$T/galleryd.log")"
ok "the next page is fetched while the current one downloads"

# procs forks its workers while page 1 may still be on its way: the fork waits for it.
run_imgpipe get -q -m procs -j 2 --pages 2 -o "$T/procs" imgur:gallery/hot/viral/day/0
expect_rc 0 "get -m procs --pages 2"
[ "$(find "$T/procs" -maxdepth 1 -type f | wc -l)" -eq 10 ] || fail "procs --pages 2: expected 10 images"
ok "procs mode with a page fetched ahead"
