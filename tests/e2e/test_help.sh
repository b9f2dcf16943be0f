# Each command's option table (`imgpipe help-options`, the table its --help is printed from)
# against everything that lists options: `imgpipe CMD --help`, the man page's subsection of
# OPTIONS and the bash completion must each show every visible option of the table (long
# and short spelling, with the same value name) and nothing else; every option of the table,
# hidden ones too, is accepted: `imgpipe CMD OPTION [VALUE] --help` exits 0 with the usage
# (getopt takes options in order, so an option it does not know fails before --help).
source "$TESTLIB"
src=${SOURCE_DIR:-$(cd "$(dirname "$TESTLIB")/../.." && pwd)}
man1="$src/docs/imgpipe.1"
comp="$src/completion/imgpipe.bash"
[ -f "$man1" ] || fail "no man page at $man1"
[ -f "$comp" ] || fail "no bash completion at $comp"

# table CMD: "OPTION VALUE" lines of CMD's visible options, long and short spellings.
table() {
  awk -F '\t' '$1 == cmd && $5 !~ /hidden/ {
      if ($2 != "-") print $2, $4
      if ($3 != "-") print $3, $4
    }' cmd="$1" "$T/table" | sort -u
}

# help_options CMD: "OPTION VALUE" lines (VALUE "-" for a flag) from the option lines of
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
      for (k = 1; k <= n; k++)
        if (opts[k] ~ /^-/) print opts[k], mv
    }' | sort -u
}

# man_options PAGE CMD: the options (--long and -x) in the tags of the page's "imgpipe CMD"
# subsection of OPTIONS, one a line.
man_options() {
  awk -v want="$2" '
    /^\.SH / { in_opts = ($0 ~ /^\.SH "?OPTIONS"?$/); cmd = ""; next }
    in_opts && /^\.SS / { cmd = $0; sub(/^\.SS +"?imgpipe +/, "", cmd); sub(/"$/, "", cmd); next }
    /^\.TP/ { tag = 1; next }
    tag {
      tag = 0
      if (!in_opts || cmd != want) next
      line = " " $0
      gsub(/\\-/, "-", line)
      while (match(line, /--[a-z0-9][a-z0-9-]*/)) {
        print substr(line, RSTART, RLENGTH)
        line = substr(line, 1, RSTART - 1) " " substr(line, RSTART + RLENGTH)
      }
      while (match(line, /[ "]-[A-Za-z]([ ",]|$)/)) {
        print substr(line, RSTART + 1, 2)
        line = substr(line, RSTART + 3)
      }
    }' "$1" | sort -u
}

# completion CMD: what the completion offers after "imgpipe CMD -".
completion() {
  bash -c 'source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _imgpipe imgpipe "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$IMGPIPE" "$1" - | sort -u
}

# value_for VALUE: a plausible value.
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
  NAME | QUEUE | ADDR | HOST:PORT | USER:PASSWORD) echo x ;;
  TEMPLATE) echo '{name}' ;;
  LAYOUT) echo flat ;;
  FIT) echo cover ;;
  FORMAT) echo webp ;;
  COLOUR) echo '#ff000080' ;;
  *) return 1 ;;
  esac
}

# diff_sets WHAT EXPECTED ACTUAL: counts and prints what one lacks or has extra.
problems=0
diff_sets() {
  local missing extra
  missing=$(comm -23 "$2" "$3" | tr '\n' ' ')
  extra=$(comm -13 "$2" "$3" | tr '\n' ' ')
  if [ -n "$missing" ]; then
    echo "FAIL: $1 lacks options of the table: $missing" >&2
    problems=$((problems + 1))
  fi
  if [ -n "$extra" ]; then
    echo "FAIL: $1 has options the table does not: $extra" >&2
    problems=$((problems + 1))
  fi
}

"$IMGPIPE" help-options >"$T/table" || fail "imgpipe help-options failed"
mapfile -t commands < <(cut -f1 "$T/table" | uniq)
[ ${#commands[@]} -ge 8 ] || fail "imgpipe help-options has ${#commands[@]} commands"
awk -F '\t' 'NF != 6 || $2 !~ /^--?[a-z0-9-]*$/ || $3 !~ /^(-|-[A-Za-z])$/ { bad = 1; print }
  END { exit bad }' "$T/table" >"$T/badrows" || fail "malformed help-options rows: $(cat "$T/badrows")"
run_imgpipe help-options no-such-command
expect_rc 2 "help-options of an unknown command"

"$IMGPIPE" --help >"$T/main-help" || fail "imgpipe --help"
sed -n -E 's/^  ([a-z][a-z-]*)( .*)?$/\1/p' "$T/main-help" | sort >"$T/help-cmds"
printf '%s\n' "${commands[@]}" | sort >"$T/table-cmds"
cmp -s "$T/help-cmds" "$T/table-cmds" ||
  fail "imgpipe --help lists commands $(tr '\n' ' ' <"$T/help-cmds"), the tables $(tr '\n' ' ' <"$T/table-cmds")"

for cmd in "${commands[@]}"; do
  table "$cmd" >"$T/table.$cmd"
  help_options "$cmd" >"$T/help.$cmd" || fail "imgpipe $cmd --help failed"
  diff_sets "'imgpipe $cmd --help'" "$T/table.$cmd" "$T/help.$cmd"
  cut -d' ' -f1 "$T/table.$cmd" >"$T/names.$cmd"
  man_options "$man1" "$cmd" >"$T/man.$cmd"
  diff_sets "the man page's 'imgpipe $cmd'" "$T/names.$cmd" "$T/man.$cmd"
  completion "$cmd" >"$T/comp.$cmd"
  diff_sets "the completion of 'imgpipe $cmd -'" "$T/names.$cmd" "$T/comp.$cmd"

  # Every spelling in the table, hidden ones too, is accepted.
  count=0
  while IFS=$'\t' read -r _ long short mv _ _; do
    for opt in "$long" "$short"; do
      [ "$opt" != - ] && [ "$opt" != -- ] || continue
      args=("$opt")
      if [ "$mv" != - ]; then
        val=$(value_for "$mv") || fail "$cmd $opt: no value known for $mv (add it to value_for)"
        args+=("$val")
      fi
      run_imgpipe "$cmd" "${args[@]}" --help
      if [ "$RC" -ne 0 ] || ! grep -q "^usage: imgpipe $cmd" "$T/out"; then
        echo "FAIL: imgpipe $cmd ${args[*]} --help: exit $RC; stderr: $(head -c 500 "$T/err")" >&2
        problems=$((problems + 1))
      fi
      count=$((count + 1))
    done
  done < <(awk -F '\t' '$1 == cmd' cmd="$cmd" "$T/table")
  ok "imgpipe $cmd accepts its $count spellings of options"
done
[ "$problems" -eq 0 ] || fail "$problems disagreements with the option tables (above)"
ok "--help, imgpipe.1 and the completion show every option of each table, and no other"

# The check can fail: a man page missing one option, or documenting one too many.
sed '/^\.BR \\-Q ", " \\-\\-queue/s/queue/kueue/' "$man1" >"$T/drift.1"
man_options "$T/drift.1" enqueue >"$T/man.drift"
diff_sets "a drifted man page" "$T/names.enqueue" "$T/man.drift" 2>"$T/drift.err"
grep -q -- "lacks options of the table: --queue" "$T/drift.err" &&
  grep -q -- "has options the table does not: --kueue" "$T/drift.err" ||
  fail "a man page missing --queue is not caught: $(cat "$T/drift.err")"
ok "a man page that drifts from the table is caught"

# The source forms: every imgur: spec of README's SOURCE table is in the man page's
# SOURCES and in `imgpipe --help` (the man page lacked imgur:r/ and imgur:tag/).
grep -o '^| `imgur:[a-z]*' "$src/README.md" | sed 's/^| `//' | sort -u >"$T/readme-specs"
[ "$(wc -l <"$T/readme-specs")" -ge 5 ] || fail "README's SOURCE table: $(cat "$T/readme-specs")"
sed -n '/^\.SH SOURCES/,/^\.SH /p' "$man1" | grep -o '^\.BI\? imgur:[a-z]*' |
  sed 's/^\.BI\? //' | sort -u >"$T/man-specs"
cmp -s "$T/readme-specs" "$T/man-specs" ||
  fail "README names the sources $(tr '\n' ' ' <"$T/readme-specs"), the man page's SOURCES $(tr '\n' ' ' <"$T/man-specs")"
run_imgpipe --help
while read -r spec; do
  grep -q -- "$spec" "$T/out" || fail "imgpipe --help does not name the source $spec"
done <"$T/readme-specs"
ok "README, the man page and --help name the same imgur: sources"
