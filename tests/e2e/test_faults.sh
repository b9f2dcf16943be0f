# Downloads against a hostile server, in every mode: each fault gives the right file,
# byte-identical, or a clear failure with the right reason and number of attempts --
# never a partial or wrong file.
source "$TESTLIB"
start_galleryd --count 4
ref="$T/ref.jpg"
fetch_reference "$BASE/i/img0000.jpg" "$ref"   # unknown names under /f/ serve this image

# fault-path  file-name  expected: ok, or a stderr fragment
cases=(
  "503x2 r503.jpg ok"
  "500x3 r500.jpg HTTP_500_(after_3_attempts)"
  "429x1r1 r429.jpg ok"
  "429x1d2 r429d.jpg ok"
  "resetx1 reset.jpg ok"
  "short short.jpg cut_short"
  "ctype ctype.jpg ok"
  "redirect redirect.jpg ok"
  "html html.jpg not_an_image"
  "loop loop.jpg too_many_redirects"
  "removed removed.jpg removed"
  "bomb bomb.png over_the_100_MP_limit"
  "big big.jpg max-bytes"
)

for m in seq threads procs async; do
  : >"$T/list-$m.txt"
  for c in "${cases[@]}"; do
    read -r fault name _ <<<"$c"
    echo "$BASE/f/$fault/$m/$name" >>"$T/list-$m.txt"
  done
  start=$(date +%s%N)
  run_imgpipe get -m "$m" -j 4 -o "$T/out-$m" --retries 2 --retry-wait 0.1 --max-bytes 10M \
    "$T/list-$m.txt"
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  expect_rc 1 "mode $m against faults"
  for c in "${cases[@]}"; do
    read -r fault name want <<<"$c"
    if [ "$want" = ok ]; then
      cmp -s "$ref" "$T/out-$m/$name" || fail "mode $m, $fault: $name is not the served image"
    else
      [ ! -e "$T/out-$m/$name" ] || fail "mode $m, $fault: a failure left $name"
      grep "/f/$fault/$m/$name" "$T/err" | grep -q -- "${want//_/ }" ||
        fail "mode $m, $fault: expected '${want//_/ }' in: $(grep "/f/$fault/" "$T/err")"
    fi
  done
  # permanent failures are not retried; transient ones are, the given number of times
  for f in html loop removed bomb big; do
    grep "/f/$f/$m/" "$T/err" | grep -q 'attempts' && fail "mode $m: $f must not be retried"
  done
  grep "/f/short/$m/" "$T/err" | grep -q '(after 3 attempts)' || fail "mode $m: short is tried 3 times"
  [ -z "$(find "$T/out-$m" -name '.imgpipe-*')" ] || fail "mode $m left temporary files"
  # Retry-After: 1 s (and an HTTP date about 2 s ahead) is waited, not ignored
  [ "$took" -ge 1000 ] || fail "mode $m finished in $took ms: Retry-After was not waited"
  ok "mode $m: retried, refused and recovered as each fault asks ($took ms)"
done

# A trickling server is cut by --min-speed over --read-timeout. The limit leaves a loaded
# machine (or a sanitizer's start-up) its seconds: without --min-speed the 1 byte/s drip
# of a whole image would run into run_imgpipe's 120 s timeout.
start=$(date +%s%N)
run_imgpipe get -o "$T/drip" --retries 0 --read-timeout 1 --min-speed 100 "$BASE/f/drip/a/drip.jpg"
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_rc 1 "a dripping server"
expect_err "timed out" "a dripping server"
[ "$took" -lt 15000 ] || fail "--min-speed 100 over 1 s took $took ms"
[ -z "$(files_in "$T/drip")" ] || fail "a cut drip leaves no file"
ok "--min-speed cuts a trickling server"

# Imgur's quota headers: a host that says few requests are left is slowed to 1/s, and
# the run says so.
for i in 1 2 3 4; do echo "$BASE/f/quota40/q$i/q$i.jpg"; done >"$T/quota.txt"
start=$(date +%s%N)
run_imgpipe get -j 4 -o "$T/quota" "$T/quota.txt"
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_rc 0 "a host low on quota"
expect_err "says 40 requests are left of its quota" "the slowdown is announced"
[ "$(grep -c 'left of its quota' "$T/err")" -eq 1 ] || fail "the slowdown is announced once"
for i in 1 2 3 4; do cmp -s "$ref" "$T/quota/q$i.jpg" || fail "quota: q$i.jpg is the image"; done
ok "a host low on quota is slowed down, and the run says so ($took ms)"
start=$(date +%s%N)
run_imgpipe get -m seq -o "$T/quota-seq" --no-ledger "$T/quota.txt"
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_err "left of its quota" "seq mode announces the slowdown too"
[ "$took" -ge 1900 ] || fail "after the first answer, 3 more requests at 1/s take 2 s or more, took $took ms"

# --rate paces requests to one host.
for i in 1 2 3 4 5; do echo "$BASE/i/img0000.jpg?r=$i"; done >"$T/rate.txt"
start=$(date +%s%N)
run_imgpipe get -o "$T/rate" --rate 5 "$T/rate.txt"
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_rc 0 "--rate 5"
[ "$took" -ge 750 ] || fail "5 requests at --rate 5 took $took ms, under 0.8 s"
ok "--rate 5 spaces 5 requests over $took ms"
