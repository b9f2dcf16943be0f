# The README's run command (make run -> scripts/demo.sh) against the bundled gallery, as a
# fresh machine without IMGUR_CLIENT_ID runs it.
source "$TESTLIB"
: "${BUILD_DIR:?}" "${SOURCE_DIR:?}"
RC=0
(cd "$T" && env -u IMGUR_CLIENT_ID -u IMGUR_API_URL BUILD_DIR="$BUILD_DIR" OUT_DIR="$T/images" \
  LATENCY_MS=0 timeout 120 bash "$SOURCE_DIR/scripts/demo.sh") >"$T/out" 2>"$T/err" || RC=$?
expect_rc 0 "scripts/demo.sh"
expect_err "IMGUR_CLIENT_ID is not set, so this runs against the bundled local gallery" "the demo says where it runs"
n=$(ls "$T/images" | grep -vc '_thumbnail' || true)
t=$(ls "$T/images" | grep -c '_thumbnail' || true)
[ "$n" -eq 24 ] && [ "$t" -eq 24 ] || fail "the demo downloads the 24 sample images with thumbnails: $n images, $t thumbnails"
ok "make run's demo downloads the local gallery with thumbnails"
