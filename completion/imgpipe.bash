# bash completion for imgpipe.
#
# Commands and options are read from the installed binary at completion time: `imgpipe
# help-options [CMD]` prints each command's option table (the one its --help is printed from),
# a line per option: command, --long, -x, VALUE, flags, help, tab-separated, "-" for none.
# Hidden and deprecated spellings are not offered. Option values are completed by VALUE:
# MODE (seq threads procs async), LAYOUT (flat sharded), DIR (directories), FILE (files);
# SOURCE and PATH arguments complete as files. Needs nothing but bash (the bash-completion
# package is optional).

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

# _imgpipe_commands BIN: the commands, from the first column of `imgpipe help-options`.
_imgpipe_commands() {
  "$1" help-options 2>/dev/null | cut -f1 | uniq
}

# _imgpipe_options BIN CMD: "OPTION VALUE" lines (VALUE "-" for a flag) of CMD's table.
_imgpipe_options() {
  "$1" help-options "$2" 2>/dev/null | awk -F '\t' '
    $5 !~ /hidden|deprecated/ {
      if ($2 != "-") print $2, $4
      if ($3 != "-") print $3, $4
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
