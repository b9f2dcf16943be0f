# Sourced by the galleryd tests: a scratch directory, background processes stopped on exit,
# and checks that count failures instead of stopping at the first (so one run shows every
# broken route). The tests end with `checks_done NAME`.
set -euo pipefail

: "${GALLERYD:?set GALLERYD to the built galleryd}"
tmp=$(mktemp -d)
pids=()
fails=0

cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "ok   - $1"; }
bad() {
    echo "FAIL - $1"
    fails=$((fails + 1))
}

# check DESCRIPTION EXPECTED ACTUAL
check() {
    if [[ "$2" == "$3" ]]; then ok "$1"; else bad "$1: expected [$2], got [${3:0:400}]"; fi
}

# check_has DESCRIPTION NEEDLE HAYSTACK
check_has() {
    if [[ "$3" == *"$2"* ]]; then ok "$1"; else bad "$1: expected to contain [$2], got [${3:0:400}]"; fi
}

# checks_done WHAT: exit 1 when any check failed.
checks_done() {
    if [[ $fails -gt 0 ]]; then
        echo "$fails check(s) failed"
        exit 1
    fi
    echo "all $1 checks passed"
}
