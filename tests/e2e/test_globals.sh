# No global state (issue #11, item 11): libimgpipe keeps a run's state in the run, so two
# runs in one process (two threads, or a library user's loop) never share a buffer. The
# only zero-initialised writable variables in libimgpipe.a are set once per process under
# pthread_once and only read after, or only in a procs worker's own process (what its
# signal handler writes): listed here with why. A new one fails this test.
source "$TESTLIB"
: "${BUILD_DIR:?set BUILD_DIR to the build directory}"
lib="$BUILD_DIR/libimgpipe.a"
[ -f "$lib" ] || fail "no $lib"
command -v nm >/dev/null || fail "nm is not installed (binutils)"
allowed=(
  "engine.c.o engine_key"    # the per-thread thumbnail engine's key, made once
  "engine.c.o engine_key_ok" # whether making it worked, set once with it
  "engine.c.o engine_once"   # the pthread_once_t that guards both
  "exec_procs.c.o worker_own_stop" # a procs worker's stop flag, for its signal handler:
  "exec_procs.c.o worker_stop"     # both set only in the forked worker process, never in a run's
  "resize.c.o lut"           # the Lanczos table, computed once, then read only
  "resize.c.o lut_once"      # the pthread_once_t that guards it
)
# AddressSanitizer adds one __odr_asan.<name> byte per global (its one-definition check):
# not state of ours.
nm -A "$lib" 2>"$T/nm.err" | awk '$(NF-1) ~ /^[bBC]$/ { split($1, p, ":"); print p[2], $NF }' \
  | sed 's/\.[0-9]*$//' | grep -v ' __odr_asan' | sort >"$T/found" || true
[ -s "$T/nm.err" ] && fail "nm: $(cat "$T/nm.err")"
printf '%s\n' "${allowed[@]}" | sed 's/ *#.*//' | sort >"$T/allowed"
extra=$(comm -23 "$T/found" "$T/allowed")
[ -z "$extra" ] || fail "writable globals in libimgpipe.a that a run would share: $extra"
[ -s "$T/found" ] || fail "nm listed no globals at all: the check would see nothing"
ok "libimgpipe.a has no writable global state but what is set once per process"

# libcurl documents a connection cache shared between threads as unsafe: the threads
# executor shares DNS and TLS sessions only, never connections (CURL_LOCK_DATA_CONNECT).
: "${SOURCE_DIR:?set SOURCE_DIR to the source tree}"
shares=$(grep -rn "CURLSHOPT_SHARE" "$SOURCE_DIR/src/lib")
[ -n "$shares" ] || fail "no curl_share_setopt(CURLSHOPT_SHARE) found: the check would see nothing"
! grep -q "CURL_LOCK_DATA_CONNECT" <<<"$shares" || fail "a libcurl connection cache is shared: $shares"
ok "no libcurl connection cache is shared between threads"
