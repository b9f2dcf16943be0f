# The README's commands pass in any order, repeated: `make run` must not inherit what another
# command left in its build cache (-Werror, a sanitizer, a Debug build), and `make test`
# must not build in make run's directory. Runs the Makefile's own configure line (make -n)
# on a scratch build directory that another configuration left behind, then reads the cache.
source "$TESTLIB"
src=${SOURCE_DIR:-$(cd "$(dirname "$TESTLIB")/../.." && pwd)}
b="$T/b"
cmake -S "$src" -B "$b" -DCMAKE_BUILD_TYPE=Debug -DIMGPIPE_WERROR=ON -DIMGPIPE_SANITIZE=ON \
  >"$T/log" 2>&1 || fail "configuring the scratch build: $(tail -5 "$T/log")"

# The configure line as make would run it, pointed at the scratch directory (-B DIR
# replaced), so that the checkout's own build/ is never touched.
env -u BUILD_DIR make -s -C "$src" -n build >"$T/make-n" || fail "make -n build failed"
grep '^cmake -S ' "$T/make-n" | grep -v -- '--build' | sed "s| -B [^ ]*| -B '$b'|" >"$T/configure"
[ "$(wc -l <"$T/configure")" -eq 1 ] || fail "make build has no one 'cmake -S' configure line: $(cat "$T/make-n")"
(cd "$src" && bash -e "$T/configure") >"$T/log" 2>&1 || fail "make build's configure: $(tail -5 "$T/log")"
cache() { sed -n "s/^$1:[A-Z]*=//p" "$b/CMakeCache.txt"; }
[ "$(cache CMAKE_BUILD_TYPE)" = Release ] || fail "make build after a Debug configure: CMAKE_BUILD_TYPE=$(cache CMAKE_BUILD_TYPE)"
[ "$(cache IMGPIPE_WERROR)" = OFF ] || fail "make build keeps IMGPIPE_WERROR=$(cache IMGPIPE_WERROR) from the cache"
[ "$(cache IMGPIPE_SANITIZE)" = OFF ] || fail "make build keeps IMGPIPE_SANITIZE=$(cache IMGPIPE_SANITIZE) from the cache"
ok "make build sets every cache option itself (Release, no -Werror, no sanitizer)"

# scripts/test.sh: every stage in a directory of its own, none of them make run's, each
# stating its build type, and the first one the Release build users get.
default_dir=$(sed -n 's/^cmake -S \. -B \([^ ]*\) .*/\1/p' "$T/make-n" | head -n 1)
[ -n "$default_dir" ] || fail "cannot read make build's directory from: $(cat "$T/make-n")"
grep -E '^ *(.* )?run_suite [a-z]' "$src/scripts/test.sh" >"$T/stages"
[ "$(wc -l <"$T/stages")" -ge 2 ] || fail "scripts/test.sh has $(wc -l <"$T/stages") run_suite stages"
awk '{for (i = 1; i < NF; i++) if ($i == "run_suite") print $(i + 1)}' "$T/stages" >"$T/dirs"
! grep -qx -- "$default_dir" "$T/dirs" || fail "scripts/test.sh builds in make run's $default_dir/"
[ "$(sort "$T/dirs" | uniq -d)" = "" ] || fail "scripts/test.sh stages share a directory: $(cat "$T/dirs")"
while read -r line; do
  [[ $line == *-DCMAKE_BUILD_TYPE=* ]] || fail "a test stage does not state its build type: $line"
done <"$T/stages"
head -n 1 "$T/stages" | grep -q -- '-DCMAKE_BUILD_TYPE=Release' ||
  fail "the first test stage is not the Release build: $(head -n 1 "$T/stages")"
ok "scripts/test.sh builds Release with -Werror in its own directories, not in $default_dir/"
