# bash completion for imgpipe.
#
# Commands and options are read from the installed binary's own help at completion time
# (`imgpipe --help`, `imgpipe CMD --help`), so this file never goes stale when options are
# added. Option values are completed by the help's metavariable: MODE (seq threads procs
# async), LAYOUT (flat sharded), DIR (directories), FILE (files); SOURCE and PATH arguments
# complete as files. Needs nothing but bash (the bash-completion package is optional).

# _imgpipe_bin: the imgpipe being completed (as typed, e.g. ./build/imgpipe), else PATH's.
_imgpipe_bin() {
  local bin=${COMP_WORDS[0]}
  case $bin in
  "~"/*) bin=$HOME/${bin#"~"/} ;;
  esac
  if [[ $bin == */* && -x $bin ]] || command -v -- "$bin" >/dev/null 2>&1; then
    printf '%s\n' "$bin"
  else
    printf '%s\n' imgpipe
  fi
}

# _imgpipe_commands BIN: the commands `imgpipe --help` lists ("  get    [-o DIR] ...").
_imgpipe_commands() {
  "$1" --help 2>/dev/null | sed -n -E 's/^  ([a-z][a-z-]*)( .*)?$/\1/p'
}

# _imgpipe_options BIN CMD: "OPTION METAVAR" lines (METAVAR "-" for a flag) from the
# option lines of `imgpipe CMD --help`: "  -o, --output DIR   text" or "      --json   text".
_imgpipe_options() {
  "$1" "$2" --help 2>/dev/null | awk '
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

_imgpipe() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local bin cmd opt mv words=() metavar=""
  COMPREPLY=()
  bin=$(_imgpipe_bin)

  if [[ $COMP_CWORD -eq 1 ]]; then
    if [[ $cur == -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "--help --version" -- "$cur")
    else
      mapfile -t COMPREPLY < <(compgen -W "$(_imgpipe_commands "$bin")" -- "$cur")
    fi
    return 0
  fi

  cmd=${COMP_WORDS[1]}
  while read -r opt mv; do
    words+=("$opt")
    [[ $opt == "$prev" && $mv != - ]] && metavar=$mv
  done < <(_imgpipe_options "$bin" "$cmd")

  if [[ -n $metavar ]]; then
    case $metavar in
    MODE) mapfile -t COMPREPLY < <(compgen -W "seq threads procs async" -- "$cur") ;;
    LAYOUT) mapfile -t COMPREPLY < <(compgen -W "flat sharded" -- "$cur") ;;
    FIT) mapfile -t COMPREPLY < <(compgen -W "contain cover pad" -- "$cur") ;;
    FORMAT) mapfile -t COMPREPLY < <(compgen -W "jpeg png webp avif" -- "$cur") ;;
    COLOUR) mapfile -t COMPREPLY < <(compgen -W "white black transparent" -- "$cur") ;;
    DIR)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -d -- "$cur")
      ;;
    FILE)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      ;;
    esac
    return 0
  fi

  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${words[*]}" -- "$cur")
    return 0
  fi

  case $cmd in
  links | get | enqueue | thumbs)
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    ;;
  esac
  return 0
}

complete -F _imgpipe imgpipe
