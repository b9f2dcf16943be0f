#!/usr/bin/env bash
# Enforces docs/ARCHITECTURE.md's rule: a file under src/lib/<layer>/ includes headers of its
# own layer and of the layers below it only, never one above or beside it. Also checks that
# every library file sits in a known layer and that the CLI includes nothing but the public
# header and its own. Exits 1 naming every include that breaks the rule. Argument: the
# repository to check (default: this one).
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

# rank of each layer: a layer may include layers of a lower rank, and its own.
declare -A rank=([common]=0 [net]=1 [image]=1 [store]=1 [source]=2 [run]=3 [queue]=4 [web]=5)
bad=0
complain() { echo "check-layers: $*" >&2; bad=1; }

while IFS= read -r -d '' f; do
  layer=${f#src/lib/}; layer=${layer%%/*}
  if [ -z "${rank[$layer]+x}" ]; then
    complain "$f is in no layer (put it under one of: ${!rank[*]})"
    continue
  fi
  while IFS=: read -r line inc; do
    case $inc in
      imgpipe.h) continue ;;
      */*) dep=${inc%%/*} ;;
      *) complain "$f:$line includes \"$inc\" without its layer (write \"<layer>/$inc\")"; continue ;;
    esac
    if [ -z "${rank[$dep]+x}" ]; then
      complain "$f:$line includes \"$inc\" from unknown layer '$dep'"
    elif [ "$dep" != "$layer" ] && [ "${rank[$dep]}" -ge "${rank[$layer]}" ]; then
      complain "$f:$line: layer '$layer' includes \"$inc\" from layer '$dep', which is not below it"
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
           sed 's/^\([0-9]*\):.*"\([^"]*\)".*/\1:\2/' || true)
done < <(find src/lib -name '*.[ch]' -print0 | sort -z)

# The command is a client of the public API: it never reaches into the library's layers.
while IFS=: read -r f line inc; do
  case $inc in */*) complain "$f:$line: the CLI includes library-internal \"$inc\"" ;; esac
done < <(grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' src/cli/*.[ch] |
         sed 's/^\([^:]*\):\([0-9]*\):.*"\([^"]*\)".*/\1:\2:\3/')

[ "$bad" -eq 0 ] && echo "check-layers: every include goes down the layers"
exit "$bad"
