# Hostile link names: whatever a link says, files land inside DIR, with safe names.
source "$TESTLIB"
start_galleryd --count 3

long=$(printf 'a%.0s' $(seq 1 400))
cat >"$T/hostile.txt" <<EOL
$BASE/x/..%2F..%2Fescaped.png
$BASE/x/%2e%2e%2f%2e%2e%2fescaped2.png
$BASE/x/a/..
$BASE/x/a/.
$BASE/x/
$BASE/x/.hidden.png
$BASE/x/$long.png
$BASE/x/%00%01nul.png
$BASE/x/dup.png
$BASE/x/other/dup.png
$BASE/x/dup.png?size=large#frag
$BASE/x/back%5Cslash.png
EOL
mkdir "$T/jail"
run_imgpipe get -o "$T/jail/out" "$T/hostile.txt"
expect_rc 0 "hostile names"
[ "$(ls -A "$T/jail")" = "out" ] || fail "something was written beside DIR: $(ls -A "$T/jail")"
[ "$(ls -A "$T" | grep -c escaped || true)" -eq 0 ] || fail "a file escaped DIR"
[ "$(files_in "$T/jail/out" | wc -l)" -eq 12 ] ||
  fail "12 links, 12 files directly in DIR: $(files_in "$T/jail/out")"
files_in "$T/jail/out" | while read -r f; do [ -d "$f" ] && echo "$f"; done | grep -q . && fail "no directories are created in DIR"
while IFS= read -r f; do
  name=${f##*/}
  case "$name" in .*) fail "a name starts with a dot: $name" ;; esac
  [ ${#name} -le 200 ] || fail "a name is longer than 200 bytes: ${#name}"
  printf '%s' "$name" | LC_ALL=C grep -q '[[:cntrl:]]' && fail "a name has control characters"
  cmp -s "$f" "$T/jail/out/dup.png" || fail "$name is not the served image"
done < <(files_in "$T/jail/out")
[ -f "$T/jail/out/dup.png" ] || fail "the first dup.png keeps its name"
[ "$(ls "$T/jail/out" | grep -c '^dup.*\.png$')" -eq 3 ] || fail "three dup.png links, three distinct names"
ls "$T/jail/out" | grep -q "^$(printf 'a%.0s' $(seq 1 196))\.png$" || fail "a long name is cut to 200 bytes, extension kept"
ok "hostile names stay inside DIR"

# Names are deterministic: the same list gives the same names.
run_imgpipe get -o "$T/again" "$T/hostile.txt"
expect_rc 0 "hostile names, again"
diff <(ls "$T/jail/out") <(ls "$T/again") >/dev/null || fail "names differ between two runs of the same list"
ok "names are deterministic"

# --name templates and --layout sharded.
"$IMGPIPE" links -q >"$T/gallery.txt"
run_imgpipe get --name '{index}-{id}{ext}' -o "$T/tpl" "$T/gallery.txt"
expect_rc 0 "--name '{index}-{id}{ext}'"
i=0
while read -r l; do
  n=${l##*/}
  cmp -s "$T/tpl/$i-$n" <(curl -sf "$l") || fail "--name: $i-$n is not the image of link $i"
  i=$((i + 1))
done <"$T/gallery.txt"
ok "--name '{index}-{id}{ext}'"

run_imgpipe get --name '{sha256}{ext}' --layout sharded --thumb 32x32 --json -o "$T/cas" "$T/gallery.txt"
expect_rc 0 "--name '{sha256}{ext}' --layout sharded"
n=0
while IFS= read -r f; do
  rel=${f#"$T/cas/"}
  case "$rel" in .imgpipe*) continue ;; */*_thumbnail.*) continue ;; esac
  [[ "$rel" =~ ^[0-9a-f]{2}/[0-9a-f]{64}\.(jpg|png)$ ]] || fail "sharded content name: $rel"
  [ "$(sha256sum <"$f" | cut -c1-64)" = "$(basename "${rel%.*}")" ] || fail "$rel is not named by its content"
  [ -f "${f%.*}_thumbnail.${f##*.}" ] || fail "the thumbnail of $rel is beside it"
  n=$((n + 1))
done < <(find "$T/cas" -type f)
[ "$n" -eq 3 ] || fail "3 images by content, got $n"
grep -q "\"path\":\"$T/cas/[0-9a-f][0-9a-f]/[0-9a-f]\{64\}\." "$T/out" || fail "--json gives the final sharded path"
run_imgpipe get --name '{sha256}{ext}' --layout sharded --thumb 32x32 -o "$T/cas" "$T/gallery.txt"
expect_err "3 already done" "a rerun skips files named by content"
for m in threads procs; do
  run_imgpipe get -m "$m" --name '{sha256}{ext}' --layout sharded -o "$T/cas-$m" "$T/gallery.txt"
  diff <(cd "$T/cas" && find . -path ./.imgpipe -prune -o -type f -print | grep -v _thumbnail | sort) \
       <(cd "$T/cas-$m" && find . -path ./.imgpipe -prune -o -type f -print | sort) >/dev/null ||
    fail "mode $m names files by content alike"
done
ok "--name '{sha256}{ext}' --layout sharded, in every mode, and reruns"

# A name by content is known only after the download, but it is taken like any other: a
# file of yours there with other bytes, or a planted link, is left as it is and the image
# gets its -<hash> name; a file there with the same bytes is the image, kept as it is.
for i in 0 1 2; do
  curl -sf "$BASE/i/img000$i.jpg" -o "$T/ref$i.jpg" || fail "reference download of img000$i.jpg"
  sha[$i]=$(sha256sum <"$T/ref$i.jpg" | cut -c1-64)
done
printf '%s\n' "$BASE/i/img0000.jpg" "$BASE/i/img0001.jpg" "$BASE/i/img0002.jpg" >"$T/three.txt"
for m in seq threads procs async; do
  d="$T/taken-$m"
  mkdir -p "$d"
  echo "MY OWN FILE" >"$d/${sha[0]}.jpg"
  echo "victim" >"$T/victim-$m"
  ln -s "$T/victim-$m" "$d/${sha[1]}.jpg"
  cp "$T/ref2.jpg" "$d/${sha[2]}.jpg"
  run_imgpipe get -m "$m" --json --name '{sha256}{ext}' -o "$d" "$T/three.txt"
  expect_rc 0 "$m: {sha256} names with the names taken"
  [ "$(cat "$d/${sha[0]}.jpg")" = "MY OWN FILE" ] || fail "$m: a file of yours at a name by content was replaced"
  [ -L "$d/${sha[1]}.jpg" ] && [ "$(cat "$T/victim-$m")" = victim ] ||
    fail "$m: a link planted at a name by content was replaced or followed"
  for i in 0 1; do
    got=$(ls "$d" | grep "^${sha[$i]}-[0-9a-f]\{8\}\.jpg\$") || fail "$m: img000$i has no -<hash> name: $(ls "$d")"
    cmp -s "$d/$got" "$T/ref$i.jpg" || fail "$m: $got is not img000$i"
    grep -q "\"path\":\"$d/$got\"" "$T/out" || fail "$m: --json does not give $got"
  done
  cmp -s "$d/${sha[2]}.jpg" "$T/ref2.jpg" || fail "$m: the same bytes at a name by content were changed"
  [ "$(ls "$d" | grep -c "^${sha[2]}")" -eq 1 ] || fail "$m: the same bytes were stored twice: $(ls "$d")"
  grep -q "\"path\":\"$d/${sha[2]}.jpg\"" "$T/out" || fail "$m: --json does not give ${sha[2]}.jpg"
  run_imgpipe get -m "$m" --name '{sha256}{ext}' -o "$d" "$T/three.txt"
  expect_err "3 already done" "$m: a rerun skips what the first run named"
done
ok "{sha256} names: a file of yours or a planted link is never replaced, in every mode"

for bad in 'x/{name}' '.{name}' 'plain' '{nope}' ; do
  run_imgpipe get --name "$bad" -o "$T/never" "$BASE/i/img0000.jpg"
  expect_rc 2 "--name '$bad'"
done
[ ! -e "$T/never" ] || fail "a bad template downloads nothing"
run_imgpipe get --layout deep -o "$T/never" "$BASE/i/img0000.jpg"
expect_rc 2 "--layout deep"
ok "bad templates and layouts are usage errors"

# A template whose expansion is long (here 2,200 bytes of UTF-8 text before the fields) is
# cut to 200 bytes like any name: whole characters, its extension kept (the fields after
# the 2,047th byte, {ext} among them, used to be lost).
long_tpl="$(printf 'é%.0s' $(seq 1 1100)){index}{ext}"
run_imgpipe get --name "$long_tpl" -o "$T/longtpl" "$BASE/i/img0000.jpg" "$BASE/i/img0001.jpg"
expect_rc 0 "a long template"
[ "$(ls "$T/longtpl" | wc -l)" -eq 2 ] || fail "a long template: two links, two files: $(ls "$T/longtpl")"
while IFS= read -r f; do
  [ "$(printf '%s' "$f" | wc -c)" -le 200 ] || fail "a long template's name is over 200 bytes: $f"
  case "$f" in *.jpg) ;; *) fail "a long template's name lost its extension: $f" ;; esac
  printf '%s' "$f" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1 || fail "a name is cut inside a character: $f"
done < <(ls "$T/longtpl")
ok "a long template is cut to 200 bytes, whole characters, extension kept"

# A link listed again is reported as its first occurrence turned out, in every mode: a
# repeat of a failed link fails with the first's reason (it is not fetched again, and it
# is never reported before the first), a repeat of a done link is skipped as already done
# under the first's name. The repeats add no ledger line. Each repeat used to be reported
# "skipped: already done" with a --json path that does not exist, counted as done.
dup_check() { # dup_check JSON-FILE: the items and the summary of the list below
  python3 - "$1" "$BASE" <<'PY'
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
items, summ = recs[:-1], recs[-1]["summary"]
base = sys.argv[2]
def fail(m):
    sys.exit("FAIL: " + m + ": " + json.dumps(recs))
bad = [i for i in items if i["url"] == base + "/i/nope.jpg"]
good = [i for i in items if i["url"] == base + "/i/img0000.jpg"]
if len(bad) != 3 or len(good) != 2 or len(items) != 5:
    fail("five records: three of the missing link, two of the image")
if [i["status"] for i in bad] != ["failed"] * 3:
    fail("every occurrence of a failing link fails")
if bad[0]["error"] != "server answered HTTP 404" or bad[0]["attempts"] != 1:
    fail("the first occurrence fails on its own, first")
for i in bad[1:]:
    if i["error"] != "same link as one before it in this run: server answered HTTP 404" or i["attempts"]:
        fail("a repeat says it is the same link, with the first's reason, not fetched again")
if any(i["path"] is not None for i in bad):
    fail("a failed link has no path")
if sorted(i["status"] for i in good) != ["ok", "skipped"]:
    fail("a repeat of a done link is skipped")
if any(not os.path.isfile(i["path"]) for i in good):
    fail("a done link's path and its repeat's are the stored file")
if (summ["done"], summ["failed"], summ["skipped"]) != (1, 3, 1):
    fail("the summary counts one done, three failed, one already done")
PY
}
for m in seq threads procs async; do
  printf '%s\n' "$BASE/i/nope.jpg" "$BASE/i/img0000.jpg" "$BASE/i/nope.jpg" \
    "$BASE/i/img0000.jpg" "$BASE/i/nope.jpg" >"$T/dups-$m.txt"
  run_imgpipe get -m "$m" -j 4 -v --json -o "$T/dups-$m" "$T/dups-$m.txt"
  expect_rc 1 "mode $m: a failing link listed three times"
  dup_check "$T/out" || fail "mode $m: repeats of a failing link"
  grep -q "skipped .*nope.jpg" "$T/err" && fail "mode $m: a repeat of a failed link is reported skipped: $(cat "$T/err")"
  first=$(grep -n "nope.jpg" "$T/err" | head -1)
  case "$first" in *"same link"*) fail "mode $m: a repeat is reported before its first: $(cat "$T/err")" ;; esac
  grep -q "3 failed" "$T/err" || fail "mode $m: the summary says 3 failed: $(tail -1 "$T/err")"
  grep -q "1 already done" "$T/err" || fail "mode $m: the summary says 1 already done: $(tail -1 "$T/err")"
  [ "$(grep -c "nope.jpg" "$T/dups-$m/.imgpipe/ledger")" -eq 1 ] ||
    fail "mode $m: one ledger line for a link listed three times: $(cat "$T/dups-$m/.imgpipe/ledger")"
  [ ! -e "$T/dups-$m/nope.jpg" ] || fail "mode $m: a failed link left a file"
  # Again in the same DIR: the done link and its repeat are skipped, the failed one is
  # tried again once, its repeats following it.
  run_imgpipe get -m "$m" -j 4 --json -o "$T/dups-$m" "$BASE/i/img0000.jpg" "$BASE/i/img0000.jpg" \
    "$BASE/i/img0000.jpg"
  expect_rc 0 "mode $m: a done link listed three times, again"
  grep -q '"done":0,"failed":0,"skipped":3' "$T/out" || fail "mode $m: three already done: $(tail -1 "$T/out")"
  run_imgpipe get -m "$m" -j 4 --json -o "$T/dups-$m" "$BASE/i/nope.jpg" "$BASE/i/nope.jpg"
  expect_rc 1 "mode $m: a failed link listed twice, again"
  grep -q '"done":0,"failed":2,"skipped":0' "$T/out" || fail "mode $m: two failed: $(tail -1 "$T/out")"
  [ "$(grep -c '"attempts":1' "$T/out")" -eq 1 ] || fail "mode $m: fetched once: $(cat "$T/out")"
done
ok "a repeated link is reported as its first occurrence turned out, in every mode"

# The repeats are read while the first is still on its way (each answer takes 300 ms):
# they wait for its outcome, and follow it.
BASE_FAST=$BASE
start_galleryd --count 1 --latency-ms 300
for m in threads procs async; do
  run_imgpipe get -m "$m" -j 4 -v --json -o "$T/slowdups-$m" "$BASE/i/nope.jpg" "$BASE/i/nope.jpg" \
    "$BASE/i/nope.jpg"
  expect_rc 1 "mode $m: a slow failing link listed three times"
  grep -q '"done":0,"failed":3,"skipped":0' "$T/out" || fail "mode $m: three failed: $(tail -1 "$T/out")"
  [ "$(grep -c '"attempts":1' "$T/out")" -eq 1 ] || fail "mode $m: fetched once: $(cat "$T/out")"
  head -1 "$T/err" | grep -q "FAILED .*nope.jpg: server answered HTTP 404" ||
    fail "mode $m: the first's outcome comes first: $(cat "$T/err")"
  [ "$(grep -c "same link as one before it in this run: server answered HTTP 404" "$T/err")" -eq 2 ] ||
    fail "mode $m: two repeats of the first's failure: $(cat "$T/err")"
done
BASE=$BASE_FAST
ok "repeats of a link on its way wait for its outcome"
