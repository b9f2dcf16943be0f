# The fleet (issue #14 item 3): a worker with a wrong secret stops and leaves its job; three workers, each in a private scratch directory of its
# own (its cwd and TMPDIR) with no output directory shared, one Redis, one bucket behind
# the signature-checking proxy. One worker is killed with SIGKILL holding jobs; when the
# queue has drained, every image and thumbnail is in the bucket, byte-identical to the
# gallery's, each under one key (no extra object), and no request was refused.
source "$TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/redis.sh"
source "$(dirname "${BASH_SOURCE[0]}")/s3.sh"

RPORT=$(free_port)
export IMGPIPE_REDIS_URL="redis://127.0.0.1:$RPORT"
start_redis
start_s3 fleet
start_galleryd --count 12 --latency-ms 1000
"$IMGPIPE" links -q >"$T/links.txt"
mapfile -t links <"$T/links.txt"
N=48
for i in $(seq 1 $N); do
  if [ $((i % 3)) -eq 0 ]; then echo "$BASE/x/p$i.png"; else echo "${links[$((i % ${#links[@]}))]}?n=$i"; fi
done >"$T/jobs.txt"

# A missing bucket is said by enqueue, and nothing is queued.
run_imgpipe enqueue -o s3://nosuchbucket/p -t 64x64 "$T/jobs.txt"
expect_rc 2 "enqueue to a missing bucket"
expect_err "the bucket 'nosuchbucket' does not exist" "enqueue to a missing bucket"
[ "$(q_field default waiting)" -eq 0 ] || fail "jobs were queued for a missing bucket"

run_imgpipe enqueue -o s3://fleet/p -t 64x64 "$T/jobs.txt"
expect_rc 0 "enqueue of $N jobs to the bucket"
# A worker whose credentials the service refuses stops at its first job, saying why, and
# leaves the job queued (not failed) for the others.
RC=0
AWS_SECRET_ACCESS_KEY=wrong-secret timeout 60 "$IMGPIPE" worker --burst --claim-after 2 --name badkey \
  >"$T/out" 2>"$T/err" || RC=$?
expect_rc 1 "a worker with a wrong secret"
expect_err "refused the credentials for bucket 'fleet'" "a worker with a wrong secret"
expect_err "the job stays queued" "a worker with a wrong secret"
! grep -q wrong-secret "$T/err" || fail "the worker printed its secret"
[ "$(q_field default failed)" -eq 0 ] && [ "$(q_field default done)" -eq 0 ] ||
  fail "a refused bucket failed or did jobs: $("$IMGPIPE" status)"
refused=$(s3_refusals)
[ "$refused" -ge 1 ] || fail "the proxy refused none of the wrong secret's requests"

pids=()
for w in 1 2 3; do
  mkdir -p "$T/host$w/tmp"
  (cd "$T/host$w" && TMPDIR="$T/host$w/tmp" exec "$IMGPIPE" worker --burst -j 4 --claim-after 2 \
    --name "host$w" >"$T/host$w.out" 2>"$T/host$w.err") &
  pids+=($!)
  BG_PIDS+=($!)
done
holds_jobs() { [ "$("$IMGPIPE" status --json | jq '[.queues[0].held[] | select(.worker == "host1")] | length')" -gt 0 ]; }
wait_until 20 "worker host1 to hold jobs" holds_jobs
kill -9 "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
[ "$(q_field default done)" -lt "$N" ] || fail "the queue was done before the kill: not mid-run"
drained() { ! kill -0 "${pids[1]}" 2>/dev/null && ! kill -0 "${pids[2]}" 2>/dev/null; }
wait_until 120 "the surviving workers to drain the queue" drained
for p in "${pids[@]:1}"; do wait "$p" || fail "a surviving worker exited $?: $(cat "$T"/host*.err)"; done
[ "$(q_field default waiting)" -eq 0 ] && [ "$(q_field default in_progress)" -eq 0 ] &&
  [ "$(q_field default failed)" -eq 0 ] && [ "$(q_field default done)" -ge "$N" ] ||
  fail "status after the drain: $("$IMGPIPE" status)"

# Every image once, byte-identical to the gallery's file; a thumbnail beside each.
s3_cli list fleet p/ >"$T/list"
[ "$(wc -l <"$T/list")" -eq $((2 * N)) ] || fail "expected $((2 * N)) objects, got $(wc -l <"$T/list"): $(cut -f1 "$T/list")"
[ "$(cut -f1 "$T/list" | sort -u | wc -l)" -eq $((2 * N)) ] || fail "a key listed twice"
grep -v _thumbnail "$T/list" | cut -f4 | sort >"$T/stored_urls"
sort "$T/jobs.txt" | diff - "$T/stored_urls" >/dev/null || fail "the stored URLs are not the jobs': $(diff <(sort "$T/jobs.txt") "$T/stored_urls")"
while IFS=$'\t' read -r key size sha url; do
  case "$key" in *_thumbnail*)
    stem=${key%_thumbnail*}
    grep -q "^$stem\.[a-z]*	" "$T/list" || fail "thumbnail $key has no image"
    continue ;;
  esac
  fetch_reference "$url" "$T/ref"
  [ "$(sha256sum <"$T/ref" | cut -d' ' -f1)" = "$sha" ] || fail "$key is not the bytes of $url"
done <"$T/list"
[ "$(s3_refusals)" -eq "$refused" ] || fail "signatures refused: $(grep REFUSED "$S3_LOG")"
for w in 1 2 3; do
  [ -z "$(find "$T/host$w" -type f)" ] || fail "worker $w wrote files locally: $(find "$T/host$w" -type f)"
done
ok "3 workers, one killed with SIGKILL mid-run: $N images and $N thumbnails in the bucket, byte-identical, each once, no refused signature"

# A job whose name is held in the bucket by another URL's object fails with that reason;
# the object is not replaced.
printf 'not ours' >"$T/theirs"
s3_cli put fleet p2/clash.png "$T/theirs" "http://elsewhere.example/clash.png"
run_imgpipe enqueue -q clash -o s3://fleet/p2 "$BASE/x/clash.png"
expect_rc 0 "enqueue of a job whose name is taken in the bucket"
run_imgpipe worker --burst --name clash1 clash
[ "$(q_field clash failed)" -eq 1 ] || fail "the clashing job did not fail: $("$IMGPIPE" status clash)"
"$IMGPIPE" status --json clash | grep -q "another source's object" ||
  fail "the failure does not say why: $("$IMGPIPE" status --json clash)"
s3_cli list fleet p2/ >"$T/list"
grep -q "^p2/clash.png	8	$(sha256sum <"$T/theirs" | cut -d' ' -f1)	http://elsewhere.example/clash.png$" "$T/list" ||
  fail "another URL's object was replaced: $(cat "$T/list")"
ok "a worker does not replace an object another URL wrote under its job's name"

# A bucket that throttles every PUT: the job goes back on the queue (retried), then to the
# failed list with SlowDown; requeued once the service recovers, it is stored: never lost.
good=$IMGPIPE_S3_ENDPOINT
start_s3verify --throttle 1
run_imgpipe enqueue -q slow -o s3://fleet/p3 "$BASE/x/slowdown.png"
expect_rc 0 "enqueue for the throttling bucket"
run_imgpipe worker --burst --retries 1 --name thr1 slow
"$IMGPIPE" status --json slow >"$T/slow.json"
[ "$(jq '.queues[0].retried' "$T/slow.json")" -ge 1 ] && [ "$(jq '.queues[0].failed' "$T/slow.json")" -eq 1 ] ||
  fail "a throttled PUT was not retried through the queue: $(cat "$T/slow.json")"
grep -q SlowDown "$T/slow.json" || fail "the failure does not say SlowDown: $(cat "$T/slow.json")"
grep -q '^THROTTLED PUT /fleet/p3/slowdown.png' "$S3_LOG" || fail "no PUT was throttled"
export IMGPIPE_S3_ENDPOINT=$good
run_imgpipe requeue-failed slow
expect_rc 0 "requeue-failed"
run_imgpipe worker --burst --name thr2 slow
[ "$(q_field slow done)" -eq 1 ] || fail "the requeued job was not done: $("$IMGPIPE" status slow)"
s3_cli list fleet p3/ | grep -q "^p3/slowdown.png	" || fail "the throttled image is not in the bucket"
ok "a PUT throttled through its retries goes back on the queue, then fails visibly, and is stored once requeued"
