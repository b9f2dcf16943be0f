# `cmake --install` into a scratch prefix: every file is there, a program builds against
# the installed library with pkg-config (shared, then static), the shared library exports
# only the public API, the man page renders cleanly and the bash completion loads.
source "$TESTLIB"
: "${BUILD_DIR:?set BUILD_DIR to the CMake build directory}"
CC=${CC:-cc}
P="$T/prefix"

cmake --install "$BUILD_DIR" --prefix "$P" >"$T/install.log" 2>&1 ||
  fail "cmake --install: $(cat "$T/install.log")"
for f in bin/imgpipe lib/libimgpipe.so lib/libimgpipe.so.0 lib/libimgpipe.a include/imgpipe.h \
  lib/pkgconfig/imgpipe.pc share/man/man1/imgpipe.1 share/bash-completion/completions/imgpipe; do
  [ -e "$P/$f" ] || fail "cmake --install did not install $f; it installed: $(cd "$P" && find . -type f -o -type l)"
done
[ -x "$P/bin/imgpipe" ] || fail "bin/imgpipe is not executable"
[ -L "$P/lib/libimgpipe.so" ] || fail "lib/libimgpipe.so is not the link to the versioned library"
so=$(readlink -f "$P/lib/libimgpipe.so")
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libimgpipe.so.0 ] || fail "SONAME is '$soname', expected libimgpipe.so.0"
"$P/bin/imgpipe" --version >"$T/out" || fail "installed imgpipe --version failed"
grep -q '^imgpipe [0-9]' "$T/out" || fail "installed imgpipe --version: $(cat "$T/out")"
ok "cmake --install puts every file in place (SONAME $soname)"

# The exported symbols: exactly the functions include/imgpipe.h declares, no fewer, no more
# (the linker's own _init/_fini, _edata, _end and __bss_start are allowed). The header's
# list comes from gcc -aux-info, not from the regex cmake/exports.cmake uses to write the
# version script, so a mistake in either shows.
src=${SOURCE_DIR:-$(cd "$(dirname "$TESTLIB")/../.." && pwd)}
command -v gcc >/dev/null || fail "gcc is needed to list the header's functions (-aux-info)"
gcc -std=c11 -fsyntax-only -aux-info "$T/aux" -x c "$P/include/imgpipe.h" 2>"$T/aux.err" ||
  fail "gcc -aux-info on the installed imgpipe.h: $(cat "$T/aux.err")"
# Lines "/* path/imgpipe.h:67:NC */ extern const char *imgpipe_strerror (int);": the name is
# the identifier before the first '('.
awk '/imgpipe\.h:[0-9]+:/ {
    sub(/^.*\*\/ */, ""); sub(/ *\(.*$/, ""); n = split($0, w, /[ *]+/); print w[n]
  }' "$T/aux" | sort -u >"$T/declared"
[ "$(wc -l <"$T/declared")" -gt 20 ] || fail "imgpipe.h declares only: $(tr '\n' ' ' <"$T/declared")"
# check_exports SO: prints what SO exports beyond the header and what it lacks; fails on either.
check_exports() {
  nm -D --defined-only "$1" | awk '{print $NF}' |
    grep -Ev '^(_init|_fini|_edata|_end|__bss_start)$' | sort -u >"$T/exported"
  local extra missing
  extra=$(comm -13 "$T/declared" "$T/exported" | tr '\n' ' ')
  missing=$(comm -23 "$T/declared" "$T/exported" | tr '\n' ' ')
  [ -z "$extra" ] || echo "exports symbols imgpipe.h does not declare: $extra"
  [ -z "$missing" ] || echo "does not export functions imgpipe.h declares: $missing"
  [ -z "$extra$missing" ]
}
check_exports "$so" >"$T/exports" || fail "libimgpipe.so $(cat "$T/exports")"
n=$(wc -l <"$T/declared")
ok "libimgpipe.so exports exactly the $n functions imgpipe.h declares"

# The check and the generated version script can fail: an internal imgpipe_* function of
# the library (present in libimgpipe.a, hidden from the .so) declared in a copy of the
# header is exported by a library linked with the script exports.cmake writes from that
# copy, and check_exports names it; a header without one declaration drops that export.
# (sed -n 1p, not head: head closing the pipe early kills comm with SIGPIPE, and under
# pipefail the test then stopped without a word, as it did once under ASan.)
internal=$(nm --defined-only "$P/lib/libimgpipe.a" 2>/dev/null | awk '$2 == "T" {print $3}' |
  grep '^imgpipe_' | sort -u | comm -23 - "$T/declared" | sed -n 1p)
[ -n "$internal" ] || fail "libimgpipe.a has no internal imgpipe_* function to plant"
dropped=$(head -n 1 "$T/declared")
{
  grep -v "[ *]$dropped *(" "$P/include/imgpipe.h" | grep -v '^#endif'
  printf 'void %s(void);\n#endif\n' "$internal"
} >"$T/planted.h"
cmake -DHEADER="$T/planted.h" -DOUT="$T/planted.map" -P "$src/cmake/exports.cmake" >"$T/map.log" 2>&1 ||
  fail "cmake/exports.cmake on a planted header: $(cat "$T/map.log")"
grep -q "^    $internal;\$" "$T/planted.map" || fail "exports.cmake missed a declaration: $(cat "$T/planted.map")"
"$CC" -shared -o "$T/planted.so" -Wl,--whole-archive "$P/lib/libimgpipe.a" -Wl,--no-whole-archive \
  -Wl,--version-script="$T/planted.map" 2>"$T/cc.log" || fail "linking a planted library: $(cat "$T/cc.log")"
if check_exports "$T/planted.so" >"$T/exports"; then
  fail "check_exports passed a library exporting $internal and missing $dropped"
fi
grep -q "does not declare: $internal \$" "$T/exports" && grep -q "declares: $dropped \$" "$T/exports" ||
  fail "check_exports on the planted library said: $(cat "$T/exports")"
ok "an export beyond imgpipe.h ($internal) or one missing ($dropped) is caught"

export PKG_CONFIG_PATH="$P/lib/pkgconfig"
[ "$(pkg-config --modversion imgpipe)" = "$(sed -n 's/^imgpipe //p' "$T/out")" ] ||
  fail "imgpipe.pc version $(pkg-config --modversion imgpipe) is not the binary's $(cat "$T/out")"
for m in libcurl jansson libturbojpeg spng libcrypto; do
  pkg-config --print-requires-private imgpipe | grep -w "$m" >/dev/null || fail "imgpipe.pc does not require $m"
done

# A library built with sanitizers needs its runtime in the program too. (No `| grep -q`
# here: under pipefail, nm killed by SIGPIPE when grep stops early fails the test.)
sanflags=()
if nm -D "$so" | grep '__asan_\|__ubsan_' >/dev/null; then
  sanflags=('-fsanitize=address,undefined')
  echo "libimgpipe.so is built with sanitizers: the test program is built with ${sanflags[*]}"
fi

cat >"$T/hello.c" <<'EOF'
#include <imgpipe.h>
#include <stdio.h>

int main(void)
{
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    imgpipe_thumb_size size = {0, 0};
    if (imgpipe_global_init() != IMGPIPE_OK)
        return 1;
    printf("strerror: %s\n", imgpipe_strerror(IMGPIPE_ENOMEM));
    int rc = imgpipe_parse_size("640x480", &size);
    printf("parse_size: %d %dx%d\n", rc, size.width, size.height);
    printf("parse_size 12: %s\n", imgpipe_parse_size("12", &size) == IMGPIPE_OK ? "ok" : "rejected");
    printf("parse_size 12x0: %s\n", imgpipe_parse_size("12x0", &size) == IMGPIPE_OK ? "ok" : "rejected");
    const char *format = imgpipe_sniff_format(png, sizeof(png));
    printf("sniff: %s\n", format ? format : "(none)");
    imgpipe_global_cleanup();
    return 0;
}
EOF
cat >"$T/expected" <<'EOF'
strerror: out of memory
parse_size: 0 640x480
parse_size 12: ok
parse_size 12x0: rejected
sniff: png
EOF


# shellcheck disable=SC2046 # pkg-config's flags are words
"$CC" -std=c11 -Wall -Wextra -Werror "${sanflags[@]}" -o "$T/hello" "$T/hello.c" \
  $(pkg-config --cflags --libs imgpipe) 2>"$T/cc.log" ||
  fail "building against the shared library: $(cat "$T/cc.log")"
readelf -d "$T/hello" | grep 'NEEDED.*libimgpipe.so.0' >/dev/null ||
  fail "the program is not linked to libimgpipe.so.0: $(readelf -d "$T/hello" | grep NEEDED)"
LD_LIBRARY_PATH="$P/lib" "$T/hello" >"$T/out" 2>"$T/err" || fail "the program failed: $(cat "$T/err")"
diff -u "$T/expected" "$T/out" >"$T/diff" || fail "the program's output differs: $(cat "$T/diff")"
ok "a program builds with pkg-config --cflags --libs imgpipe and runs on libimgpipe.so"

# Static: the README's own line, libimgpipe.a (-l:libimgpipe.a, as the .so sits beside it)
# with imgpipe.pc's Libs.private and the shared libraries of the packages it requires
# privately. The line is read from the README, so the test runs what users copy.
line=$(grep -A1 -- '-l:libimgpipe.a' "$SOURCE_DIR/README.md" | tr -d '\\\n' | sed 's/#.*//')
[ -n "$line" ] || fail "the README has no static build line"
own=$(sed -n 's/^Libs.private: *//p' "$P/lib/pkgconfig/imgpipe.pc")
grep -qF -- "-l:libimgpipe.a $own " <<<"$line" ||
  fail "the README's static line does not carry imgpipe.pc's Libs.private ($own): $line"
line=${line/cc app.c/\"\$CC\" -std=c11 -Wall -Wextra -Werror \$sanflags_text -o \"\$T/hello-static\" \"\$T/hello.c\"}
sanflags_text="${sanflags[*]}"
eval "$line" 2>"$T/cc.log" || fail "the README's static line: $line: $(cat "$T/cc.log")"
if readelf -d "$T/hello-static" | grep 'NEEDED.*libimgpipe' >/dev/null; then
  fail "the static program still needs libimgpipe.so"
fi
"$T/hello-static" >"$T/out" 2>"$T/err" || fail "the static program failed: $(cat "$T/err")"
diff -u "$T/expected" "$T/out" >"$T/diff" || fail "the static program's output differs: $(cat "$T/diff")"
ok "a program builds with the README's static line against libimgpipe.a and runs"

# The man page: renders with no warning from groff (man -l uses it) and has its sections.
man1="$P/share/man/man1/imgpipe.1"
if command -v groff >/dev/null; then
  groff -man -Tutf8 -ww -z "$man1" 2>"$T/man.err" || fail "groff failed on imgpipe.1: $(cat "$T/man.err")"
  [ ! -s "$T/man.err" ] || fail "groff warns on imgpipe.1: $(cat "$T/man.err")"
  groff -man -Tutf8 -P-cbu "$man1" >"$T/man.txt" 2>/dev/null
elif command -v mandoc >/dev/null; then
  mandoc -Tlint -Wwarning "$man1" >"$T/man.err" 2>&1 || fail "mandoc warns on imgpipe.1: $(cat "$T/man.err")"
  mandoc -Tutf8 "$man1" | sed 's/.\x08//g' >"$T/man.txt"
else
  fail "neither groff nor mandoc is installed (scripts/install-deps.sh installs groff-base)"
fi
for s in NAME SYNOPSIS DESCRIPTION SOURCES OPTIONS "THE LEDGER" "EXIT STATUS" ENVIRONMENT FILES \
  EXAMPLES "SEE ALSO"; do
  grep -q "^$s\$" "$T/man.txt" || fail "the man page has no $s section"
done
ok "imgpipe.1 renders without warnings and has every section"

# The completion loads in a plain bash, registers for imgpipe, and completes from --help.
comp="$P/share/bash-completion/completions/imgpipe"
bash -c 'source "$1" && complete -p imgpipe' _ "$comp" >"$T/out" 2>"$T/err" ||
  fail "the completion does not load: $(cat "$T/err")"
grep -q 'complete .* imgpipe$' "$T/out" || fail "the completion registers no function: $(cat "$T/out")"
# complete_words WORD...: what the completion offers for the last WORD.
complete_words() {
  bash -c 'source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    f=$(complete -p imgpipe | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
    "$f" imgpipe "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$@"
}
complete_words "$P/bin/imgpipe" "" >"$T/out" 2>"$T/err"
for c in links get thumbs; do
  grep -qx "$c" "$T/out" || fail "completing a command does not offer $c: $(tr '\n' ' ' <"$T/out")"
done
complete_words "$P/bin/imgpipe" get --mo >"$T/out" 2>"$T/err"
grep -qx -- '--mode' "$T/out" || fail "'get --mo' does not complete to --mode: $(tr '\n' ' ' <"$T/out")"
complete_words "$P/bin/imgpipe" get --mode "" >"$T/out" 2>"$T/err"
[ "$(sort "$T/out" | tr '\n' ' ')" = "async procs seq threads " ] ||
  fail "'get --mode' completes to: $(tr '\n' ' ' <"$T/out")"
complete_words "$P/bin/imgpipe" thumbs -- >"$T/out" 2>"$T/err"
grep -qx -- '--size' "$T/out" || fail "'thumbs --' does not offer --size: $(tr '\n' ' ' <"$T/out")"
ok "the bash completion loads and completes commands, options and modes"
