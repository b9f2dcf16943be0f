# Reruns whose options changed, and links listed twice: a link is stored once in DIR.
source "$TESTLIB"
start_galleryd --count 4

# images DIR: the image files in DIR (thumbnails and the ledger left out), one a line.
images() {
  (cd "$1" && find . -path ./.imgpipe -prune -o -type f -print | grep -v _thumbnail | sort)
}

# A link listed twice is downloaded once, under one name, with {index} too (its second
# place used to give it a second name, and a second download).
printf '%s\n' "$BASE/i/img0000.jpg" "$BASE/i/img0001.jpg" "$BASE/i/img0000.jpg" >"$T/dup.txt"
for m in seq threads procs async; do
  run_imgpipe get -m "$m" --json --name '{index}-{name}' -o "$T/dup-$m" "$T/dup.txt"
  expect_rc 0 "$m: a list with a link twice"
  [ "$(images "$T/dup-$m" | tr '\n' ' ')" = "./0-img0000.jpg ./1-img0001.jpg " ] ||
    fail "$m: a link listed twice is stored once, under its first name: $(images "$T/dup-$m")"
  [ "$(grep -c '"status":"skipped"' "$T/out")" -eq 1 ] || fail "$m: the duplicate is reported as skipped: $(cat "$T/out")"
  [ "$(grep -c "\"path\":\"$T/dup-$m/0-img0000.jpg\"" "$T/out")" -eq 2 ] ||
    fail "$m: both places of the link report its one name: $(cat "$T/out")"
  grep -q '"done":2,.*"skipped":1' "$T/out" || fail "$m: the summary counts 2 done, 1 skipped: $(tail -1 "$T/out")"
done
ok "a link listed twice is one download under one name, with {index} too"

# With a name by content, a repeat read after its first was done (seq reads the next line
# only then; a rerun finds the first done already) reports the first's name: it used to
# report DIR/<ext>, the template without the hash. Also with {index}, in shard folders, and
# where a file of yours holds the name by content (the link then has its -<hash> name).
sha0=$(curl -sf "$BASE/i/img0000.jpg" | sha256sum | cut -c1-64)
for nl in "" --no-ledger; do
  for m in seq async; do
    for how in plain index sharded yours; do
      d="$T/sha-$m$nl-$how"
      args=(--name '{sha256}{ext}')
      case $how in
        index) args=(--name '{index}-{sha256}{ext}') ;;
        sharded) args+=(--layout sharded) ;;
        yours) mkdir -p "$d" && echo mine >"$d/$sha0.jpg" ;;
      esac
      for run in first rerun; do
        run_imgpipe get -m "$m" $nl --json "${args[@]}" -o "$d" "$T/dup.txt"
        expect_rc 0 "$m $nl $how $run: a list with a link twice, names by content"
        paths=$(jq -r "select(.url == \"$BASE/i/img0000.jpg\") | .path" "$T/out" | sort -u)
        [ "$(jq -c "select(.url == \"$BASE/i/img0000.jpg\")" "$T/out" | wc -l)" -eq 2 ] &&
          [ "$(echo "$paths" | wc -l)" -eq 1 ] && [[ $paths == *$sha0* ]] && cmp -s "$paths" <(curl -sf "$BASE/i/img0000.jpg") ||
          fail "$m $nl $how $run: both places of the link report its name by content: $(cat "$T/out")"
      done
      [ "$how" != yours ] || [ "$(cat "$d/$sha0.jpg")" = mine ] || fail "$m $nl: your file at the name was replaced"
    done
  done
done
ok "a link listed twice with a name by content reports that name, in the run and on a rerun"

# The same links in another order: {index} names them otherwise, but a link the ledger
# has as done, and still there, is done there (each order used to store every link again).
printf '%s\n' "$BASE/i/img0000.jpg" "$BASE/i/img0001.jpg" "$BASE/i/img0003.png" >"$T/a.txt"
printf '%s\n' "$BASE/i/img0003.png" "$BASE/i/img0001.jpg" "$BASE/i/img0000.jpg" >"$T/b.txt"
d="$T/order"
run_imgpipe get --name '{index}-{id}{ext}' -o "$d" "$T/a.txt"
expect_rc 0 "the first order"
first=$(images "$d")
[ "$(echo "$first" | wc -l)" -eq 3 ] || fail "three links, three files: $first"
for l in b a b; do
  run_imgpipe get --json --name '{index}-{id}{ext}' -o "$d" "$T/$l.txt"
  expect_rc 0 "the order of $l.txt"
  [ "$(images "$d")" = "$first" ] || fail "another order stores the links again: $(images "$d")"
  grep -q '"done":0,.*"skipped":3' "$T/out" || fail "another order downloads nothing: $(tail -1 "$T/out")"
  grep -q "\"url\":\"$BASE/i/img0003.png\",\"path\":\"$d/2-img0003.png\"" "$T/out" ||
    fail "a skipped link is reported where it is: $(cat "$T/out")"
done
ok "the same links in another order, with {index}: nothing is stored twice"

# Another --name, another --layout: the links are done where the ledger has them.
d="$T/changed"
run_imgpipe get -o "$d" "$T/a.txt"
expect_rc 0 "flat, {name}"
first=$(images "$d")
for opts in "--layout sharded" "--name {hash}{ext}" "--name {host}-{index}{ext} --layout sharded"; do
  # shellcheck disable=SC2086 # the options are words
  run_imgpipe get $opts -o "$d" "$T/a.txt"
  expect_rc 0 "a rerun with $opts"
  expect_err "0 downloaded" "a rerun with $opts downloads nothing"
  [ "$(images "$d")" = "$first" ] || fail "a rerun with $opts stores the links again: $(images "$d")"
done
# A link whose file is gone is downloaded again, under the name the options give now.
rm "$d/img0001.jpg"
run_imgpipe get --layout sharded -o "$d" "$T/a.txt"
expect_rc 0 "a rerun after a file was deleted"
expect_err "1 downloaded" "the deleted file's link is downloaded again"
[ "$(images "$d" | grep -c img0001)" -eq 1 ] && images "$d" | grep -q '^\./[0-9a-f][0-9a-f]/img0001\.jpg$' ||
  fail "the deleted file's link is stored again as the layout says: $(images "$d")"
ok "another --name or --layout: links done are not stored a second time"

# A hand-edited ledger line whose name is no name a run gives (outside DIR, absolute, in a
# folder that is not its shard) is not where the link is: the link is downloaded into DIR
# (with {sha256} names the file outside used to be reported as the link, skipped).
fetch_reference "$BASE/i/img0000.jpg" "$T/outside.jpg"
sha=$(sha256sum <"$T/outside.jpg" | cut -c1-64)
size=$(stat -c %s "$T/outside.jpg")
for tpl in '{sha256}{ext}' '{name}' '{index}-{name}'; do
  for rec in ../outside.jpg "$T/outside.jpg" zz/img0000.jpg; do
    d="$T/edited"
    rm -rf "$d"
    mkdir -p "$d/.imgpipe" "$d/zz"
    cp "$T/outside.jpg" "$d/zz/img0000.jpg"
    printf 'done\t%s\t%s\t%s\t%s\t\n' "$size" "$sha" "$rec" "$BASE/i/img0000.jpg" >"$d/.imgpipe/ledger"
    run_imgpipe get --json --thumb 16 --name "$tpl" -o "$d" "$BASE/i/img0000.jpg"
    expect_rc 0 "a ledger line naming '$rec', --name $tpl"
    grep -q '"done":1,' "$T/out" || fail "a ledger line naming '$rec' ($tpl): the link is downloaded: $(cat "$T/out")"
    p=$(grep -o '"path":"[^"]*"' "$T/out" | cut -d'"' -f4)
    [ "$(dirname "$p")" = "$d" ] && cmp -s "$p" "$T/outside.jpg" ||
      fail "a ledger line naming '$rec' ($tpl): the image is in DIR: $p"
    [ ! -e "$T/outside_thumbnail.jpg" ] || fail "a thumbnail was written outside DIR"
  done
done
ok "a ledger line naming a file outside DIR is not taken for the link"
