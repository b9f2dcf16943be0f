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
# one size twice would be one file counted as two thumbnails
run_imgpipe get --thumb 32 --thumb 32x32 "http://127.0.0.1:9/x.jpg"
expect_rc 2 "a --thumb size given twice"
expect_err "'32x32' is given twice" "a --thumb size given twice"
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

# A mistyped option, an unknown one, or one missing its value: one line on stderr naming it,
# with the hint to the command's --help; nothing on stdout (not the whole help); exit 2.
# expect_one_line WHAT WORD CMD: stderr is the one line for WORD.
expect_one_line() {
  expect_rc 2 "$1"
  [ ! -s "$T/out" ] || fail "$1: printed on stdout: $(head -c 300 "$T/out")"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "$1: expected one line on stderr, got: $(cat "$T/err")"
  grep -qF -- "'$2'" "$T/err" || fail "$1: the error does not name '$2': $(cat "$T/err")"
  grep -qF -- "try 'imgpipe $3 --help'" "$T/err" || fail "$1: no hint to '$3 --help': $(cat "$T/err")"
}
for c in links get thumbs enqueue worker status requeue-failed dashboard; do
  run_imgpipe "$c" --no-such-option x
  expect_one_line "$c --no-such-option" --no-such-option "$c"
  run_imgpipe "$c" -Z
  expect_one_line "$c -Z" -Z "$c"
  run_imgpipe "$c" --help=yes
  expect_one_line "$c --help=yes" --help "$c"
done
run_imgpipe get --ouptut "$T/o" "http://127.0.0.1:9/x.jpg"
expect_one_line "get --ouptut (mistyped)" --ouptut get
run_imgpipe get --re 1 "http://127.0.0.1:9/x.jpg"
expect_one_line "get --re (ambiguous)" --re get
run_imgpipe get "http://127.0.0.1:9/x.jpg" -o
expect_one_line "get -o with no value" -o get
run_imgpipe thumbs --thumb
expect_one_line "thumbs --thumb with no value" --thumb thumbs
grep -q "needs a value" "$T/err" || fail "a missing value is not said as such: $(cat "$T/err")"
run_imgpipe frobnicate
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "an unknown command prints more than one line: $(cat "$T/err")"
grep -qF "try 'imgpipe --help'" "$T/err" || fail "no hint for an unknown command: $(cat "$T/err")"
ok "unknown and mistyped options: one line, a hint, exit 2"

# One flag, one meaning: the thumbnail size is -t/--thumb in get, enqueue and thumbs
# (thumbs keeps -s/--size); -Q/--queue is the queue; -q in enqueue is the old spelling of
# -Q, with a warning; -q in worker is still --quiet, with no warning.
for spelling in -t --thumb -s --size; do
  for c in get enqueue thumbs; do
    case "$c:$spelling" in get:-s | get:--size | enqueue:-s | enqueue:--size) continue ;; esac
    run_imgpipe "$c" "$spelling" 32x32 --help
    expect_rc 0 "$c $spelling 32x32"
    run_imgpipe "$c" "$spelling" 32y --help
    expect_rc 2 "$c $spelling 32y (not a size)"
    expect_err "not a size like 128x128" "$c $spelling 32y"
  done
done
run_imgpipe enqueue -q legacy --redis "unix:$T/no-such.sock" "http://127.0.0.1:9/x.jpg"
expect_rc 1 "enqueue -q QUEUE to an absent Redis"
expect_err "warning: '-q' is deprecated in 'enqueue'; use -Q/--queue" "enqueue -q"
run_imgpipe enqueue -Q new --redis "unix:$T/no-such.sock" "http://127.0.0.1:9/x.jpg"
expect_rc 1 "enqueue -Q QUEUE to an absent Redis"
if grep -q deprecated "$T/err"; then fail "enqueue -Q warns: $(cat "$T/err")"; fi
for c in worker status requeue-failed; do
  run_imgpipe "$c" -Q a --queue b --help
  expect_rc 0 "$c -Q a --queue b"
done
run_imgpipe worker -q --help
expect_rc 0 "worker -q"
[ ! -s "$T/err" ] || fail "worker -q (quiet) warns: $(cat "$T/err")"
for c in get worker; do
  run_imgpipe "$c" --retries 1000 --help
  expect_rc 0 "$c --retries 1000"
  run_imgpipe "$c" --retries 1001 --help
  expect_rc 2 "$c --retries 1001"
  expect_err "from 0 to 1000" "$c --retries 1001"
done
ok "one flag, one meaning: -t/--thumb, -Q/--queue, --retries 0..1000"

# The library's messages describe the problem; the CLI names its options. No string literal
# in src/lib (comments aside) names an option; the CLI adds the option to what it prints.
src=${SOURCE_DIR:-$(cd "$(dirname "$TESTLIB")/../.." && pwd)}
grep -rnE --include='*.c' --include='*.h' '"(([^"\\]|\\.)*[^-a-z0-9])?--[a-z][a-z-]*' "$src/src/lib" |
  grep -vE '^[^:]+:[0-9]+: *(/\*|\*|//)' >"$T/flags" || true
[ ! -s "$T/flags" ] || fail "src/lib strings name CLI options: $(head -c 1500 "$T/flags")"
run_imgpipe get --name '.{name}' "http://127.0.0.1:9/x.jpg"
expect_rc 2 "get --name '.{name}'"
expect_err "imgpipe: --name: name template '.{name}'" "a bad template is said with its option"
run_imgpipe get --retry-failed --no-ledger -o "$T/never"
expect_rc 2 "get --retry-failed --no-ledger"
expect_err "--retry-failed reads the failures from the ledger: not with --no-ledger" "--retry-failed --no-ledger"
[ ! -e "$T/never" ] || fail "get --retry-failed --no-ledger created its directory"
run_imgpipe dashboard --auth nocolon --listen 127.0.0.1:0
expect_rc 2 "dashboard --auth without a colon"
expect_err "must be user:password (see --listen and --auth USER:PASSWORD)" "dashboard --auth nocolon"
if grep -q nocolon "$T/err"; then fail "dashboard --auth printed the credentials: $(cat "$T/err")"; fi
ok "library errors name no options; the CLI adds them"

# A queue name no queue can have is a usage error before Redis is asked (status showed an
# empty queue '' or one with a control byte; the dashboard served them), as in worker.
for cmd in status purge requeue-failed dashboard; do
  for q in '' $'bad\x01q'; do
    run_imgpipe "$cmd" -r redis://127.0.0.1:9 "$q"
    expect_rc 2 "$cmd with the queue name '$q'"
    expect_err "bad queue name" "$cmd with the queue name '$q'"
  done
done
ok "status, purge, requeue-failed and dashboard refuse a bad queue name as worker does"

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

# enqueue says a usage error as such even when Redis is down (it asked Redis first, and
# exited 1 with "cannot connect to Redis", hiding the exit status 2 README promises).
run_imgpipe enqueue -r redis://127.0.0.1:9 imgur:gallery/../etc
expect_rc 2 "enqueue of a malformed imgur: spec, Redis down"
expect_err "invalid Imgur spec" "enqueue of a malformed imgur: spec, Redis down"
for v in unset empty; do
  if [ $v = unset ]; then unset IMGUR_CLIENT_ID; else export IMGUR_CLIENT_ID=; fi
  run_imgpipe enqueue -r redis://127.0.0.1:9 imgur:gallery/hot
  expect_rc 2 "enqueue with IMGUR_CLIENT_ID $v, Redis down"
  expect_err "IMGUR_CLIENT_ID" "enqueue with IMGUR_CLIENT_ID $v, Redis down"
done
export IMGUR_CLIENT_ID=x
ok "enqueue: usage errors before Redis"
