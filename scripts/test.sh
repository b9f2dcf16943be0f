#!/usr/bin/env bash
# Builds with -Werror and runs every test, then builds again under AddressSanitizer and
# UndefinedBehaviorSanitizer and runs every test once more, then runs each libFuzzer target
# (clang) for FUZZ_SECONDS (default 15; 0 skips the stage) on its seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
run_suite() {
  local dir=$1; shift
  cmake -S . -B "$dir" -DIMGPIPE_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  ctest --test-dir "$dir" --output-on-failure -j"$jobs"
}
echo "== build and test (-Wall -Wextra -Werror)"
run_suite build
echo "== build and test under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -DIMGPIPE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
if [ "${FUZZ_SECONDS:-15}" -gt 0 ]; then
  echo "== libFuzzer targets, ${FUZZ_SECONDS:-15}s each"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-15}"
fi
