#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/fuzz_*.c) with clang in build-fuzz and runs each for
# SECONDS (default 20) on a copy of its seed corpus, fuzz/corpus/<target>/. Fails when a
# target crashes; the crashing input is left in build-fuzz/crashes/<target>/.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
jobs=$(nproc 2>/dev/null || echo 2)
CC=${FUZZ_CC:-clang} cmake -S . -B build-fuzz -DIMGPIPE_FUZZ=ON -DIMGPIPE_WERROR=ON \
  -DIMGPIPE_SANITIZE=OFF -DIMGPIPE_TSAN=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
for bin in build-fuzz/fuzz/fuzz_*; do
  [ -x "$bin" ] && [ -f "$bin" ] || continue
  name=$(basename "$bin")
  corpus=build-fuzz/corpus/$name crashes=build-fuzz/crashes/$name
  rm -rf "$corpus" && mkdir -p "$corpus" "$crashes"
  cp fuzz/corpus/"$name"/* "$corpus"/
  echo "== $name: ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=1024 -timeout=25 \
      -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" \
      >"build-fuzz/$name.log" 2>&1; then
    tail -n 60 "build-fuzz/$name.log" >&2
    echo "fuzz: $name crashed; input in $crashes/, log in build-fuzz/$name.log" >&2
    failed+=("$name")
  else
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "build-fuzz/$name.log" || true
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
