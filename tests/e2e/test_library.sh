# The library API from a program of its own (examples/get_gallery.c): every mode works
# through it, items come to the callback once each, and nothing leaks -- checked by
# valgrind, or by LeakSanitizer in the sanitizer build (valgrind cannot run ASan code).
source "$TESTLIB"
: "${EXAMPLE:?}"
start_galleryd --count 6
echo "$BASE/i/missing.jpg" >"$T/extra.txt"
for m in seq threads procs async; do
  RC=0
  if [ "${SANITIZED:-OFF}" = ON ]; then
    ASAN_OPTIONS=detect_leaks=1:exitcode=9 "$EXAMPLE" "$m" "$T/$m" imgur:random "$T/extra.txt" \
      >"$T/out" 2>"$T/err" || RC=$?
  else
    # libjpeg-turbo's SIMD decoder reads padding valgrind sees as uninitialised (a known
    # false positive, gone with its SIMD off); everything else is checked as it runs.
    JSIMD_FORCENONE=1 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
      --error-exitcode=9 --child-silent-after-fork=yes "$EXAMPLE" "$m" "$T/$m" imgur:random "$T/extra.txt" \
      >"$T/out" 2>"$T/err" || RC=$?
  fi
  [ "$RC" -eq 1 ] || fail "mode $m: expected exit 1 (one 404), got $RC (9: leaks or memory errors): $(head -c 3000 "$T/err")"
  grep -q '^summary: 6 done, 1 failed, 6 thumbnails, 7 reported$' "$T/out" ||
    fail "mode $m: the callback sees each of the 7 items once: $(cat "$T/out")"
  [ "$(grep -c '^ok ' "$T/out")" -eq 6 ] || fail "mode $m: 6 ok items"
done
ok "the library API in every mode, without leaks ($([ "${SANITIZED:-OFF}" = ON ] && echo LeakSanitizer || echo valgrind))"
