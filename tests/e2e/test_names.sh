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
