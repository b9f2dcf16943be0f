# enqueue reads SOURCEs as get does, --pages included (README "SOURCE": `--pages N` reads N
# pages of the listings; imgpipe --help: "--pages N reads N pages of these"): it refused
# the option as unknown. A later page that fails ends the batch with exit status 1 after
# the jobs of the earlier pages, as get keeps their downloads.
source "$TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/redis.sh"

RPORT=$(free_port)
export IMGPIPE_REDIS_URL="redis://127.0.0.1:$RPORT"
start_redis
start_galleryd --count 12 --page-size 5

run_imgpipe enqueue -Q all -o "$T/all" --pages 10 imgur:gallery/hot
expect_rc 0 "enqueue --pages 10 of a 12-image gallery"
[ "$(q_field all waiting)" -eq 12 ] || fail "jobs of every page: $(q_field all waiting), want 12"
run_imgpipe links --pages 10 imgur:gallery/hot
[ "$(wc -l <"$T/out")" -eq 12 ] || fail "links --pages 10 printed $(wc -l <"$T/out") links"
run_imgpipe enqueue -Q one -o "$T/one" imgur:gallery/hot
expect_rc 0 "enqueue without --pages"
[ "$(q_field one waiting)" -eq 5 ] || fail "without --pages one page: $(q_field one waiting) jobs"
for bad in 0 1001 x; do
  run_imgpipe enqueue -Q bad -o "$T/bad" --pages "$bad" imgur:gallery/hot
  expect_rc 2 "enqueue --pages $bad"
  expect_err "--pages" "enqueue --pages $bad"
done
ok "enqueue --pages N queues the links of N pages, 1..1000"

start_galleryd --count 12 --page-size 5 --fail-page 1
run_imgpipe enqueue -Q mid -o "$T/mid" --pages 3 imgur:gallery/hot
expect_rc 1 "enqueue whose second page fails"
expect_err "status 500" "enqueue whose second page fails"
[ "$(q_field mid waiting)" -eq 5 ] || fail "the first page's jobs stay: $(q_field mid waiting)"
ok "a later page that fails: exit 1 after the earlier pages' jobs"
