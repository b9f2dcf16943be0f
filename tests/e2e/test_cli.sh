# The command line: help, version, usage errors and their exit statuses.
source "$TESTLIB"

run_imgpipe --version
expect_rc 0 "--version"
grep -q '^imgpipe [0-9]' "$T/out" || fail "--version prints 'imgpipe VERSION'"

run_imgpipe --help
expect_rc 0 "--help"
for c in links get thumbs; do
  grep -q "^  $c " "$T/out" || fail "--help lists the $c command"
done
for c in links get thumbs; do
  run_imgpipe "$c" --help
  expect_rc 0 "$c --help"
  grep -q "^usage: imgpipe $c" "$T/out" || fail "$c --help prints its usage"
done
ok "help and version"

run_imgpipe
expect_rc 2 "no command"
run_imgpipe frobnicate
expect_rc 2 "unknown command"
expect_err "unknown command 'frobnicate'" "unknown command"

for bad in 12y x 12x0 0x12 x12x 65536 -5; do
  run_imgpipe get --thumb "$bad" "http://127.0.0.1:9/x.jpg"
  expect_rc 2 "bad --thumb $bad"
  expect_err "not a size like 128x128" "bad --thumb $bad"
done
for bad in "--fit fill" "--format gif" "--format heif" "--pad-colour #12" "--effort 0" "--effort 10"; do
  # shellcheck disable=SC2086 # the option and its value are two words
  run_imgpipe thumbs $bad "$T"
  expect_rc 2 "thumbs $bad"
done
run_imgpipe get --max-bytes lots "http://127.0.0.1:9/x.jpg"
expect_rc 2 "bad --max-bytes"
run_imgpipe get --read-timeout -1 "http://127.0.0.1:9/x.jpg"
expect_rc 2 "bad --read-timeout"
run_imgpipe get --mode turbo "http://127.0.0.1:9/x.jpg"
expect_rc 2 "bad --mode"
expect_err "not one of seq" "bad --mode"
run_imgpipe thumbs
expect_rc 2 "thumbs without a path"
run_imgpipe links "$T/no-such-list.txt"
expect_rc 1 "missing URL list"
expect_err "cannot open URL list" "missing URL list"
ok "usage errors"

# Missing Imgur credentials are a configuration error that says what to do.
for v in unset empty; do
  if [ $v = unset ]; then unset IMGUR_CLIENT_ID; else export IMGUR_CLIENT_ID=; fi
  run_imgpipe links
  expect_rc 2 "links with IMGUR_CLIENT_ID $v"
  expect_err "IMGUR_CLIENT_ID" "links with IMGUR_CLIENT_ID $v"
  expect_err "api.imgur.com/oauth2/addclient" "links with IMGUR_CLIENT_ID $v"
  run_imgpipe get -o "$T/never" imgur:gallery/hot
  expect_rc 2 "get with IMGUR_CLIENT_ID $v"
  [ ! -e "$T/never" ] || fail "nothing is created when configuration is missing"
done
export IMGUR_CLIENT_ID=x
run_imgpipe links imgur:gallery/../etc
expect_rc 2 "a malformed imgur: spec"
ok "missing client id and bad specs"
