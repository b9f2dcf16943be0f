# Every option a command's --help lists is accepted, and the man page documents every one.
# Commands and options are read from the binary at test time, so new ones are covered as
# they land. `imgpipe CMD OPTION [VALUE] --help` must exit 0 with the usage: getopt takes
# options in order, so an option it does not know fails (exit 2) before --help is reached.
source "$TESTLIB"
src=${SOURCE_DIR:-$(cd "$(dirname "$TESTLIB")/../.." && pwd)}
man1="$src/docs/imgpipe.1"
[ -f "$man1" ] || fail "no man page at $man1"

# help_options CMD: "OPTION METAVAR" lines (METAVAR "-" for a flag) from the option lines of
# `imgpipe CMD --help`: "  -o, --output DIR   text", "      --json   text".
help_options() {
  "$IMGPIPE" "$1" --help | awk '
    match($0, /^ +-/) && RLENGTH >= 3 && RLENGTH <= 7 {
      spec = substr($0, RLENGTH)
      i = index(spec, "  ")
      if (i) spec = substr(spec, 1, i - 1)
      n = split(spec, items, /, */)
      mv = "-"
      for (k = 1; k <= n; k++) {
        split(items[k], w, /[ =]/)
        opts[k] = w[1]
        if (w[2] != "") mv = w[2]
      }
      for (k = 1; k <= n; k++) {
        o = opts[k]
        if (o ~ /^--\[no-\]/) {
          sub(/^--\[no-\]/, "", o)
          print "--" o, mv
          print "--no-" o, mv
        } else if (o ~ /^-/) {
          print o, mv
        }
      }
    }'
}

# man_options CMD: the long options in the tags of the man page's "imgpipe CMD" subsection
# of OPTIONS, one a line.
man_options() {
  awk -v want="$1" '
    /^\.SH / { in_opts = ($0 ~ /^\.SH "?OPTIONS"?$/); cmd = ""; next }
    in_opts && /^\.SS / { cmd = $0; sub(/^\.SS +"?imgpipe +/, "", cmd); sub(/"$/, "", cmd); next }
    /^\.TP/ { tag = 1; next }
    tag {
      tag = 0
      if (!in_opts || cmd != want) next
      line = $0
      gsub(/\\-/, "-", line)
      while (match(line, /--[a-z0-9][a-z0-9-]*/)) {
        print substr(line, RSTART, RLENGTH)
        line = substr(line, RSTART + RLENGTH)
      }
    }' "$man1" | sort -u
}

# value_for METAVAR: a plausible value.
mkdir -p "$T/dir"
value_for() {
  case $1 in
  N | BYTES) echo 2 ;;
  S) echo 1 ;;
  SIZE) echo 1M ;;
  WxH) echo 64x64 ;;
  DIR) echo "$T/dir" ;;
  MODE) echo seq ;;
  FILE) echo "$T/file" ;;
  URL) echo redis://127.0.0.1:1 ;;
  NAME) echo x ;;
  TEMPLATE) echo '{name}' ;;
  QUEUE) echo q ;;
  LAYOUT) echo flat ;;
  FIT) echo cover ;;
  FORMAT) echo webp ;;
  COLOUR) echo '#ff000080' ;;
  *) return 1 ;;
  esac
}

"$IMGPIPE" --help >"$T/main-help" || fail "imgpipe --help"
mapfile -t commands < <(sed -n -E 's/^  ([a-z][a-z-]*)( .*)?$/\1/p' "$T/main-help")
[ ${#commands[@]} -ge 3 ] || fail "imgpipe --help lists ${#commands[@]} commands: $(cat "$T/main-help")"

problems=0
for cmd in "${commands[@]}"; do
  help_options "$cmd" >"$T/opts.$cmd" || fail "imgpipe $cmd --help failed"
  [ -s "$T/opts.$cmd" ] || fail "imgpipe $cmd --help lists no options"
  count=0
  while read -r opt mv; do
    args=("$opt")
    if [ "$mv" != - ]; then
      if ! val=$(value_for "$mv"); then
        val=1
        echo "note: $cmd $opt: no value known for metavariable $mv, trying $val"
      fi
      args+=("$val")
    fi
    run_imgpipe "$cmd" "${args[@]}" --help
    if [ "$RC" -ne 0 ] || ! grep -q "^usage: imgpipe $cmd" "$T/out"; then
      echo "FAIL: imgpipe $cmd ${args[*]} --help: exit $RC; stderr: $(head -c 500 "$T/err")" >&2
      problems=$((problems + 1))
    fi
    count=$((count + 1))
  done <"$T/opts.$cmd"
  ok "imgpipe $cmd accepts its $count options"

  # The man page against --help, long options only.
  grep -o '^--[^ ]*' "$T/opts.$cmd" | sort -u >"$T/help-long.$cmd"
  man_options "$cmd" >"$T/man-long.$cmd"
  [ -s "$T/man-long.$cmd" ] || echo "FAIL: the man page has no OPTIONS subsection 'imgpipe $cmd'" >&2
  missing=$(comm -23 "$T/help-long.$cmd" "$T/man-long.$cmd" | tr '\n' ' ')
  extra=$(comm -13 "$T/help-long.$cmd" "$T/man-long.$cmd" | tr '\n' ' ')
  if [ -n "$missing" ]; then
    echo "FAIL: imgpipe.1 does not document these options of '$cmd --help': $missing" >&2
    problems=$((problems + 1))
  fi
  [ -z "$extra" ] ||
    echo "warning: imgpipe.1 documents options that '$cmd --help' does not list: $extra"
done

# Subsections of the page for commands the binary does not have (yet): a warning.
mapfile -t man_cmds < <(sed -n -E 's/^\.SS +"?imgpipe +([a-z-]+)"?$/\1/p' "$man1")
for c in "${man_cmds[@]}"; do
  printf '%s\n' "${commands[@]}" | grep -x -- "$c" >/dev/null ||
    echo "warning: imgpipe.1 documents a command that 'imgpipe --help' does not list: $c"
done

[ "$problems" -eq 0 ] || fail "$problems problems with options (above)"
ok "every option in --help is accepted and documented in imgpipe.1"
