# Object storage output (issue #14 items 1, 2): get -o s3://bucket/prefix against s3rver,
# every request's SigV4 signature and body digests checked by botocore in a proxy
# (tests/tools/s3verify.py). Objects byte-identical to the source, keys with spaces, '+',
# '%' and UTF-8, no secret in metadata or messages, a rerun that skips, a name of another
# URL's object never taken, throttled and dropped PUTs retried, never lost; a bucket that
# is unreachable, missing or refuses the credentials fails before any download.
source "$TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/s3.sh"

start_galleryd --count 6 --log
start_s3 shots
PORT=${BASE##*:}
"$IMGPIPE" links -q >"$T/links.txt"
{
  cat "$T/links.txt"
  echo "$BASE/x/a%20b+c%25d.png"
  echo "$BASE/x/%C3%BCn%C3%AF.png"
  echo "$BASE/x/raw-ü.png"
  echo "http://user:hunter2@127.0.0.1:$PORT/x/secret.png"
} >"$T/urls.txt"
N=$(wc -l <"$T/urls.txt")

# check_bucket PREFIX: N images and N thumbnails under PREFIX, each image equal (sha256)
# to an independent download of the URL its metadata names, no other object.
check_bucket() {
  local prefix=$1 key size sha url
  s3_cli list shots "$prefix/" >"$T/list"
  [ "$(wc -l <"$T/list")" -eq $((2 * N)) ] ||
    fail "$prefix: expected $((2 * N)) objects, got: $(cat "$T/list")"
  [ "$(grep -c '_thumbnail' "$T/list")" -eq "$N" ] || fail "$prefix: $N thumbnails: $(cat "$T/list")"
  while IFS=$'\t' read -r key size sha url; do
    case "$url" in http://127.0.0.1:"$PORT"/*) ;; *) fail "$key: metadata URL '$url'" ;; esac
    case "$key" in *_thumbnail*)
      [ "$size" -gt 0 ] || fail "$key is empty"
      continue ;;
    esac
    fetch_reference "$url" "$T/ref"
    [ "$(sha256sum <"$T/ref" | cut -d' ' -f1)" = "$sha" ] || fail "$key differs from $url"
  done <"$T/list"
}

# 1. Into a bucket, four transfers at once, with thumbnails.
run_imgpipe get -o s3://shots/run/1 --state "$T/st1" -t 64x64 -j 4 "$T/urls.txt"
expect_rc 0 "get into a bucket"
check_bucket run/1
for k in "run/1/a b+c%d.png" "run/1/ünï.png" "run/1/secret.png" "run/1/ünï_thumbnail.png"; do
  cut -f1 "$T/list" | grep -qxF "$k" || fail "no object '$k': $(cut -f1 "$T/list")"
done
grep -q "secret.png	.*	http://127.0.0.1:$PORT/x/secret.png$" "$T/list" ||
  fail "the metadata URL keeps the userinfo: $(grep secret "$T/list")"
! grep -rq hunter2 "$T/s3data" "$T/out" "$T/err" "$S3_LOG" || fail "the URL's password was stored or printed"
! grep -q imgpipe-e2e-secret "$T/out" "$T/err" || fail "the secret key was printed"
[ -s "$T/st1/.imgpipe/ledger" ] || fail "no ledger in --state DIR"
[ "$(s3_refusals)" -eq 0 ] || fail "signatures refused: $(grep REFUSED "$S3_LOG")"
[ "$(s3_put_count)" -eq $((2 * N)) ] || fail "expected $((2 * N)) PUTs, got $(s3_put_count)"
ok "get -o s3://: $N images and thumbnails byte-identical, keys encoded, signatures valid"

# 2. A rerun skips what the ledger and the bucket agree is done: no download, no PUT.
puts=$(s3_put_count) got=$(image_requests)
run_imgpipe get -o s3://shots/run/1 --state "$T/st1" -t 64x64 "$T/urls.txt"
expect_rc 0 "rerun into the bucket"
grep -q "$N already done" "$T/err" || fail "rerun: expected $N already done: $(cat "$T/err")"
[ "$(s3_put_count)" -eq "$puts" ] || fail "the rerun PUT again"
[ "$(image_requests)" -eq "$got" ] || fail "the rerun downloaded again"
ok "a rerun with the same --state skips every link (no download, no PUT)"
run_imgpipe get -o s3://shots/slash/ --no-ledger "$(head -1 "$T/links.txt")"
expect_rc 0 "get into a prefix given with a trailing slash"
[ -n "$(s3_cli list shots slash/)" ] && [ -z "$(s3_cli list shots slash//)" ] ||
  fail "a trailing slash made another key: $(s3_cli list shots slash)"
grep -q -- '-> s3://shots/slash/$' "$T/err" || fail "the summary names the prefix oddly: $(cat "$T/err")"

# 3. A name whose object another URL wrote is not taken: the link gets another name.
printf 'not ours' >"$T/theirs"
s3_cli put shots run/1/clash.png "$T/theirs" "http://elsewhere.example/clash.png"
run_imgpipe get -o s3://shots/run/1 --state "$T/st1" "$BASE/x/clash.png"
expect_rc 0 "get of a name taken in the bucket"
s3_cli list shots run/1/clash >"$T/list"
grep -q "^run/1/clash.png	8	$(sha256sum <"$T/theirs" | cut -d' ' -f1)	" "$T/list" ||
  fail "the other URL's object was replaced: $(cat "$T/list")"
[ "$(wc -l <"$T/list")" -eq 2 ] || fail "expected clash.png and a renamed one: $(cat "$T/list")"
ok "an object of another URL keeps its name; the link is stored under another"

# 4. Throttled (503 SlowDown), refused once each, and dropped connections: retried, none lost.
start_s3verify --throttle 3
run_imgpipe get -o s3://shots/thr --no-ledger -t 64x64 -j 4 --retry-wait 0.05 "$T/urls.txt"
expect_rc 0 "get with every third PUT throttled"
grep -q '^THROTTLED PUT' "$S3_LOG" || fail "the proxy throttled nothing"
check_bucket thr
start_s3verify --fail-once-each
run_imgpipe get -o s3://shots/once -m threads -j 3 --no-ledger -t 64x64 --retry-wait 0.05 "$T/urls.txt"
expect_rc 0 "get with every PUT refused once"
[ "$(grep -c '^THROTTLED PUT' "$S3_LOG")" -eq $((2 * N)) ] || fail "not every PUT was refused once"
check_bucket once
start_s3verify --drop-every 4
run_imgpipe get -o s3://shots/drop -m procs -j 2 --no-ledger -t 64x64 --retry-wait 0.05 "$T/urls.txt"
expect_rc 0 "get with every fourth PUT's connection dropped"
grep -q '^DROPPED PUT' "$S3_LOG" || fail "the proxy dropped nothing"
check_bucket drop
[ "$(s3_refusals)" -eq 0 ] || fail "signatures refused: $(grep REFUSED "$S3_LOG")"
ok "throttled, refused-once and dropped PUTs are retried (async, threads, procs): all stored"

# 5. Retries run out: the item fails and says why; nothing half-written.
start_s3verify --throttle 1
run_imgpipe get -o s3://shots/never --no-ledger --retries 1 --retry-wait 0.05 "$BASE/x/never.png"
expect_rc 1 "get with every PUT throttled"
expect_err "SlowDown" "a PUT throttled past its retries"
[ -z "$(s3_cli list shots never/)" ] || fail "an object appeared for a failed PUT"
ok "a PUT throttled past its retries fails the item with SlowDown"

# 6. Bad input: each fails with a sentence before any image is downloaded.
start_s3verify
bad() { # bad RC PATTERN WHAT [env...] -- get args
  local rc=$1 pat=$2 what=$3 before
  shift 3
  before=$(image_requests)
  RC=0
  env "$@" >"$T/out" 2>"$T/err" || RC=$?
  expect_rc "$rc" "$what"
  expect_err "$pat" "$what"
  [ "$(image_requests)" -eq "$before" ] || fail "$what: images were downloaded first"
  ! grep -q 'imgpipe-e2e-secret\|wrong-secret' "$T/err" || fail "$what: a secret was printed"
}
G=(timeout 60 "$IMGPIPE" get --state "$T/stb" "$T/urls.txt")
bad 1 "cannot reach the S3 service at http://127.0.0.1:" "an unreachable service" \
  IMGPIPE_S3_ENDPOINT="http://127.0.0.1:$(free_port)" "${G[@]}" -o s3://shots/b
bad 2 "the bucket 'nosuchbucket' does not exist" "a missing bucket" "${G[@]}" -o s3://nosuchbucket/b
bad 2 "refused the credentials for bucket 'shots'" "a wrong secret" \
  AWS_SECRET_ACCESS_KEY=wrong-secret "${G[@]}" -o s3://shots/b
grep -q '^REFUSED HEAD /shots: signature differs' "$S3_LOG" || fail "the proxy did not see a bad signature"
bad 2 "refused the credentials" "an unknown key id" AWS_ACCESS_KEY_ID=AKIDWRONG "${G[@]}" -o s3://shots/b
bad 2 "needs credentials" "no credentials" -u AWS_SECRET_ACCESS_KEY "${G[@]}" -o s3://shots/b
bad 2 "needs --state DIR" "no --state" timeout 60 "$IMGPIPE" get -o s3://shots/b "$T/urls.txt"
bad 2 "bucket name" "a bad bucket name" "${G[@]}" -o s3://No_Such/b
bad 2 "'..' folder" "a prefix with .." "${G[@]}" -o s3://shots/a/../b
[ -z "$(s3_cli list shots b/)" ] || fail "objects were written by a failed start"
ok "unreachable service, missing bucket, wrong secret or key, no credentials, no --state: clear errors, nothing downloaded"

# 7. The proxy refuses a body that does not match its digests (what makes 1.-4. a check).
printf 'abc' >"$T/body"
code=$(curl -s -o "$T/resp" -w '%{http_code}' -X PUT --data-binary @"$T/body" \
  --aws-sigv4 "aws:amz:us-east-1:s3" -u "S3RVER:$AWS_SECRET_ACCESS_KEY" \
  -H "x-amz-content-sha256: $(sha256sum <"$T/body" | cut -d' ' -f1)" \
  -H "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==" "$IMGPIPE_S3_ENDPOINT/shots/tampered")
[ "$code" = 400 ] && grep -q BadDigest "$T/resp" || fail "a wrong Content-MD5 was accepted ($code)"
ok "the verifying proxy refuses a body whose Content-MD5 does not match"

# 8. thumbs -o s3://: thumbnails of files on disk PUT to the bucket; names kept apart.
start_s3verify
mkdir -p "$T/pics" "$T/pics2" "$T/pics3"
head -3 "$T/links.txt" | while read -r u; do fetch_reference "$u" "$T/pics/${u##*/}"; done
cp "$T/pics/$(ls "$T/pics" | head -1)" "$T/pics2/"
cp "$T/pics/$(ls "$T/pics" | head -1)" "$T/pics3/"
run_imgpipe thumbs -o s3://shots/th -s 48x48 "$T/pics"
expect_rc 0 "thumbs into a bucket"
s3_cli list shots th/ >"$T/list"
[ "$(wc -l <"$T/list")" -eq 3 ] || fail "thumbs: 3 objects expected: $(cat "$T/list")"
for f in "$T"/pics/*; do
  b=${f##*/}
  grep -q "^th/${b%.*}_thumbnail\.${b##*.}	[1-9][0-9]*	.*	file://[^	]*$f$" "$T/list" ||
    fail "thumbs: no thumbnail of $b from $f: $(cat "$T/list")"
done
run_imgpipe thumbs -o s3://shots/th -s 48x48 "$T/pics"
expect_rc 0 "thumbs into the bucket again (its own objects are rewritten)"
f1=$(ls "$T/pics" | head -1)
run_imgpipe thumbs --json -o s3://shots/th -s 48x48 "$T/pics" "$T/pics/$f1" "$T/pics/./$f1"
expect_rc 0 "thumbs of a folder and one of its files (one file named thrice, not two of one name)"
[ "$(grep -c '"status":"ok"' "$T/out")" -eq 3 ] || fail "thumbs: 3 files expected: $(cat "$T/out")"
for f in "$T"/pics/*; do
  grep -qF "\"path\":\"$f\"," "$T/out" || fail "thumbs --json: the path of $f is not the file: $(cat "$T/out")"
done
run_imgpipe thumbs -o s3://shots/th -s 48x48 "$T/pics2" "$T/pics3"
expect_rc 2 "thumbs of two files of one name"
expect_err "would have the same thumbnail name" "thumbs of two files of one name"
before=$(s3_cli list shots th/)
run_imgpipe thumbs -o s3://shots/th -s 48x48 "$T/pics2"
expect_rc 1 "thumbs of a file whose thumbnail name another file's object has"
expect_err "is another source's object" "thumbs over another file's object"
[ "$(s3_cli list shots th/)" = "$before" ] || fail "another file's thumbnail was replaced"
run_imgpipe thumbs -o "$T/elsewhere" "$T/pics"
expect_rc 2 "thumbs -o DIR"
[ "$(s3_refusals)" -eq 0 ] || fail "signatures refused: $(grep REFUSED "$S3_LOG")"
ok "thumbs -o s3://: thumbnails in the bucket, a name of another file's object refused"

# 9. SIGTERM while a PUT waits on a silent service: the transfer in flight is ended (not
#    after --read-timeout), exit 143, no object is half-written, and a rerun completes.
start_s3verify --hang-puts 1
"$IMGPIPE" get -o s3://shots/term --state "$T/stt" -t 32x32 -j 1 --read-timeout 20 \
  "$T/links.txt" >"$T/out" 2>"$T/err" &
GP=$!
BG_PIDS+=("$GP")
wait_until 10 "a PUT held by the proxy" grep -q '^HUNG PUT' "$S3_LOG"
t0=$(date +%s)
kill -TERM "$GP"
RC=0
wait "$GP" || RC=$?
expect_rc 143 "get stopped by SIGTERM mid-PUT"
[ $(($(date +%s) - t0)) -le 5 ] || fail "SIGTERM waited $(($(date +%s) - t0)) s for the PUT in flight"
start_s3verify
run_imgpipe get -o s3://shots/term --state "$T/stt" -t 32x32 -j 1 "$T/links.txt"
expect_rc 0 "rerun after SIGTERM"
s3_cli list shots term/ >"$T/list"
[ "$(wc -l <"$T/list")" -eq $((2 * $(wc -l <"$T/links.txt"))) ] ||
  fail "after the rerun: $(cat "$T/list")"
! cut -f1 "$T/list" | grep -q -- '-[0-9a-f]\{8\}' || fail "the rerun renamed a link: $(cat "$T/list")"
ok "SIGTERM ends a PUT in flight at once (exit 143); the rerun completes under the same names"
