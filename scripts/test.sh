#!/usr/bin/env bash
# Builds (Release, -Werror) and runs every test, then builds again under AddressSanitizer and
# UndefinedBehaviorSanitizer and runs every test once more, then the threaded, async, worker
# and thumbnail tests under ThreadSanitizer, then runs each libFuzzer target
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
# build-test, not make run's build/: each stage has its own directory and states every
# cache option, so no stage inherits another's. The first builds what users get (Release).
echo "== build (Release) and test (-Wall -Wextra -Werror)"
run_suite build-test -DCMAKE_BUILD_TYPE=Release -DIMGPIPE_SANITIZE=OFF -DIMGPIPE_TSAN=OFF -DIMGPIPE_FUZZ=OFF
echo "== build and test under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -DIMGPIPE_SANITIZE=ON -DIMGPIPE_TSAN=OFF -DCMAKE_BUILD_TYPE=Debug -DIMGPIPE_FUZZ=OFF
echo "== threaded, async, worker and thumbnail tests under ThreadSanitizer"
cmake -S . -B build-tsan -DIMGPIPE_WERROR=ON -DIMGPIPE_TSAN=ON -DIMGPIPE_SANITIZE=OFF -DIMGPIPE_FUZZ=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-tsan -j"$jobs"
# Reports go to files, so that one from a background galleryd is not lost, and fail the
# stage. Kernels with more mmap randomisation than TSan supports need setarch -R.
tsan_logs="$PWD/build-tsan/tsan-reports"
rm -rf "$tsan_logs" && mkdir -p "$tsan_logs"
tsan=()
if setarch "$(uname -m)" -R true 2>/dev/null; then tsan=(setarch "$(uname -m)" -R); fi
# TSan slows imgpipe several times over, so a test's time limit may be missed on a busy
# machine: a failing test gets a second run. A race is caught either way: its report stays.
rc=0
TSAN_OPTIONS="log_path=$tsan_logs/report:second_deadlock_stack=1" "${tsan[@]}" \
  ctest --test-dir build-tsan --output-on-failure -j"$jobs" --repeat until-pass:2 \
  -R 'unit/test_(thumb|stream)$|e2e/test_(modes|get|thumbs|redis|races|stream|names|hostile_servers)$' || rc=$?
if [ -n "$(ls -A "$tsan_logs")" ]; then
  cat "$tsan_logs"/* >&2
  echo "ThreadSanitizer reported the races above" >&2
  exit 1
fi
[ "$rc" -eq 0 ] || exit "$rc"
if [ "${FUZZ_SECONDS:-15}" -gt 0 ]; then
  echo "== libFuzzer targets, ${FUZZ_SECONDS:-15}s each"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-15}"
fi
