# The layering rule of docs/ARCHITECTURE.md holds for this repository, and the check that
# enforces it does fail on an include that goes up, one that goes sideways, an include
# without its layer, a file outside every layer, and a CLI file reaching into the library.
source "$TESTLIB"
src=${SOURCE_DIR:-$(cd "$(dirname "$TESTLIB")/../.." && pwd)}
check="$src/scripts/check-layers.sh"

bash "$check" "$src" >"$T/out" 2>"$T/err" || fail "the repository breaks the layering rule: $(cat "$T/err")"
ok "every include in src/lib goes down the layers"

# plant CASE FILE LINE EXPECT: a copy of the tree with LINE appended to FILE must fail with
# EXPECT in the message.
plant() {
  rm -rf "$T/tree"; mkdir -p "$T/tree"
  cp -r "$src/src" "$T/tree/"
  mkdir -p "$(dirname "$T/tree/$2")"
  printf '%s\n' "$3" >>"$T/tree/$2"
  RC=0; bash "$check" "$T/tree" >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 1 "$1"
  expect_err "$4" "$1"
  ok "the check refuses $1"
}
plant "an upward include" src/lib/common/util.c '#include "run/run.h"' "layer 'common' includes \"run/run.h\""
plant "a sideways include" src/lib/image/resize.c '#include "store/store.h"' "layer 'image' includes \"store/store.h\""
plant "an include without its layer" src/lib/run/get.c '#include "util.h"' 'without its layer'
plant "a file in no layer" src/lib/stray.c '/* nothing */' 'is in no layer'
plant "the CLI reaching into the library" src/cli/main.c '#include "run/run.h"' 'library-internal'
