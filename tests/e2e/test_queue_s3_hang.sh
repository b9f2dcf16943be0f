# A bucket whose service hangs (issue #14 against failures): it stores a PUT and then never
# answers. The worker gives the request up after --read-timeout of silence and its
# --retries (the worker's own) decide what follows. Redis, s3rver behind
# tests/tools/s3verify.py (--hang-puts), galleryd: all on loopback.
source "$TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/redis.sh"
source "$(dirname "${BASH_SOURCE[0]}")/s3.sh"

RPORT=$(free_port)
export IMGPIPE_REDIS_URL="redis://127.0.0.1:$RPORT"
start_redis
start_s3 fleet
start_galleryd --count 2

# A service that stores a PUT and then never answers: the worker gives the request up after
# --read-timeout of silence (it waited the request's whole 60 s, four times over), and
# --retries is the worker's: with 1, the retry stores the object once, the job done once;
# with 0, the PUT is tried once (it was tried four times: get's default).
start_s3verify --hang-puts 1
run_imgpipe enqueue -q hang -o s3://fleet/p4 "$BASE/x/hang.png"
expect_rc 0 "enqueue for the hanging service"
start=$(date +%s)
run_imgpipe worker --burst --read-timeout 2 --retries 1 --retry-wait 0.1 --name hang1 hang
expect_rc 0 "a worker whose first PUT is never answered"
[ $(($(date +%s) - start)) -lt 40 ] || fail "the silent PUT was given up only after $(($(date +%s) - start)) s"
[ "$(grep -c '^HUNG PUT /fleet/p4/hang.png' "$S3_LOG")" -eq 1 ] &&
  [ "$(grep -c '^ok PUT /fleet/p4/hang.png' "$S3_LOG")" -eq 1 ] || fail "PUTs: $(cat "$S3_LOG"; cat "$T/err")"
"$IMGPIPE" status --json hang | jq -e '.queues[0] | .done == 1 and .failed == 0 and .in_progress == 0' \
  >/dev/null || fail "status: $("$IMGPIPE" status hang)"
[ "$(s3_cli list fleet p4/ | cut -f1)" = p4/hang.png ] || fail "objects: $(s3_cli list fleet p4/)"
start_s3verify --hang-puts 1
run_imgpipe enqueue -q hang0 -o s3://fleet/p5 "$BASE/x/hang0.png"
run_imgpipe worker --burst --read-timeout 2 --retries 0 --name hang2 hang0
expect_rc 0 "a worker with --retries 0 whose PUT is never answered"
[ "$(grep -c 'PUT /fleet/p5/' "$S3_LOG")" -eq 1 ] || fail "--retries 0: PUTs: $(grep PUT "$S3_LOG")"
"$IMGPIPE" status --json hang0 | jq -e '.queues[0].failures[0].error | test("too slow")' >/dev/null ||
  fail "the failure: $("$IMGPIPE" status hang0)"
ok "a PUT never answered is given up after --read-timeout and retried: stored once; --retries 0 is one PUT"
