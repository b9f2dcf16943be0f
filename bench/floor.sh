#!/usr/bin/env bash
# bench/floor.sh — where the floor of `imgpipe get` lies against `curl -Z` (issue #12), from
# measurements on this machine rather than from a model alone.
#
# For each protocol in PROTOS (h2: nginx ssl http2; h1: nginx ssl; plain: galleryd), with
# LATENCY_MS per response and the N-image corpus, rounds interleave four rows:
#   curl -Z --parallel-max CURL_PARALLEL (default N)   over the URL list (no API request);
#   wget2 --max-threads=64     over the URL list;
#   imgpipe get (list)         the same URL list, at imgpipe's defaults;
#   imgpipe get (API)          imgur:random: the gallery API request is in the time.
# Each row records the wall time, the client's CPU (user+sys) and the server's CPU
# (galleryd's or nginx's worker, from /proc) over the run; "busy" is both CPUs over
# (cores x wall): near 1, the machine has no core to spare and wall time follows CPU time.
# bench/verify_floor then times, with no network, what imgpipe does per body beyond what
# curl does (a copy into blocks, SHA-256, the check). The floor: every request waits LATENCY_MS
# before its first byte, with nothing for the CPU to do (twice with the API request, whose
# answer names the images); after that, each byte costs the client's CPU (at least what
# curl spends, plus the verification) and the server's, on CORES shared cores:
#   floor = latency x (1 for the URL list, 2 with the API) + (curl's CPU + verification
#           CPU + server CPU) / cores
# The issue's targets (1.2x curl's speed: curl's wall / 1.2; 1.2x and 1.5x wget2's) are
# compared with it.
#
# usage: bench/floor.sh      env: CORPUS N LATENCY_MS REPEAT PROTOS RESULTS (as bench/get.sh),
#   CURL_PARALLEL. The bandwidth-bound case of bench/get.sh's part big:
#   PROTOS=plain CORPUS=/tmp/imgpipe-bench-corpus-2000 N=2000 LATENCY_MS=0 CURL_PARALLEL=64
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/get.sh
source "$here/get.sh"
PROTOS=${PROTOS:-h2 h1}
CURL_PARALLEL=${CURL_PARALLEL:-$N}
VERIFY=$ROOT/build/verify_floor
CORES=$(nproc)
CMDLINE="CORPUS=$CORPUS N=$N LATENCY_MS=$LATENCY_MS REPEAT=$REPEAT PROTOS=\"$PROTOS\" CURL_PARALLEL=$CURL_PARALLEL bench/floor.sh"

# server_cpu: CPU seconds the server has used so far (galleryd, or nginx's workers)
server_cpu() {
  local pids p
  if [ -n "$GPID" ]; then pids=$GPID; else pids=$(pgrep -P "$(cat "$NGX_DIR/nginx.pid")"); fi
  for p in $pids; do sed 's/.*) //' "/proc/$p/stat"; done |
    awk -v hz="$(getconf CLK_TCK)" '{s += $12 + $13} END {printf "%.3f", s / hz}'
}

# measure NAME CMD...: one run; appends "wall client server" to $WORK/NAME.runs
measure() {
  local name=$1 out=$WORK/out/floor s0 s1 wall user sys; shift
  rm -rf "$out"; mkdir -p "$out"; sync
  s0=$(server_cpu)
  /usr/bin/time -f '%e %U %S' -o "$WORK/time.txt" timeout "$TIMEOUT" "${@//@OUT/$out}" \
    >>"$WORK/logs/floor.log" 2>&1 || { echo "$name failed: see $WORK/logs/floor.log" >&2; exit 1; }
  s1=$(server_cpu)
  [ "$(img_count "$out")" -eq "$EXPECT" ] || { echo "$name: $(img_count "$out") of $EXPECT images" >&2; exit 1; }
  read -r wall user sys <"$WORK/time.txt"
  echo "$wall $(echo "$user + $sys" | bc) $(echo "$s1 - $s0" | bc)" >>"$WORK/$name.runs"
}

median_col() { sort -g -k"$2" "$1" | awk -v c="$2" '{v[NR] = $c} END {print v[int((NR + 1) / 2)]}'; }

# one_proto PROTO: the three rows, interleaved, and the floor for that protocol
one_proto() {
  local proto=$1 k list curlcfg tls=() wca=() ipk=() r
  if [ "$proto" = plain ]; then
    start_galleryd "$CORPUS" "$LATENCY_MS"; make_list "$WORK/list.txt"; list=$WORK/list.txt
  else
    start_nginx "$CORPUS" "$proto" "$LATENCY_MS"; list=$NGX_DIR/list.txt
    tls=(--cacert "$NGX_DIR/cert.pem"); wca=(--ca-certificate="$NGX_DIR/cert.pem"); ipk=(-k)
  fi
  curlcfg=$list.curl
  rm -f "$WORK"/*.runs
  for ((r = 0; r < REPEAT; r++)); do
    for k in 0 1 2 3; do
      case $(( (k + r) % 4 )) in
        0) measure curl curl --parallel --parallel-max "$CURL_PARALLEL" --fail --silent --show-error "${tls[@]}" \
             --remote-name-all --output-dir @OUT -K "$curlcfg" ;;
        1) measure wget2 wget2 --max-threads=64 "${wca[@]}" -i "$list" -P @OUT -q ;;
        2) measure list "$IMGPIPE" get -q "${ipk[@]}" -o @OUT "$list" ;;
        3) measure api "$IMGPIPE" get -q "${ipk[@]}" -o @OUT imgur:random ;;
      esac
    done
  done
  stop_galleryd; stop_nginx
  report "$proto"
}

# report PROTO: the table and the floor, printed and appended to RESULTS
report() {
  local row w c s cw cc lw lc aw v lat f ww
  {
    echo; echo "### $1, $EXPECT images, $LATENCY_MS ms per response (medians of $REPEAT)"; echo
    echo "| row | wall s | client CPU s | server CPU s | busy |"; echo "|---|---:|---:|---:|---:|"
    for row in curl wget2 list api; do
      w=$(median_col "$WORK/$row.runs" 1); c=$(median_col "$WORK/$row.runs" 2); s=$(median_col "$WORK/$row.runs" 3)
      printf '| %s | %.2f | %.2f | %.2f | %.2f |\n' "$(row_name "$row")" "$w" "$c" "$s" \
        "$(echo "($c + $s) / ($CORES * $w)" | bc -l)"
    done
    cw=$(median_col "$WORK/curl.runs" 1); cc=$(median_col "$WORK/curl.runs" 2)
    lw=$(median_col "$WORK/list.runs" 1); lc=$(median_col "$WORK/list.runs" 2)
    aw=$(median_col "$WORK/api.runs" 1); v=$VERIFY_CPU; lat=$(echo "$LATENCY_MS / 1000" | bc -l)
    ww=$(median_col "$WORK/wget2.runs" 1)
    echo
    printf -- '- CPU: imgpipe (list) %.2f s = verification %.2f s (bench/verify_floor) + the transfers themselves (TLS, HTTP, writing) %.2f s; curl, which verifies nothing: %.2f s.\n' \
      "$lc" "$v" "$(echo "$lc - $v" | bc -l)" "$cc"
    printf -- '- the API request cost %.2f s of wall time (API row - list row; one response waits %s ms).\n' \
      "$(echo "$aw - $lw" | bc -l)" "$LATENCY_MS"
    for row in list api; do
      w=$(median_col "$WORK/$row.runs" 1); s=$(median_col "$WORK/$row.runs" 3)
      f=$(echo "$lat * $([ "$row" = api ] && echo 2 || echo 1) + ($cc + $v + $s) / $CORES" | bc -l)
      printf -- '- floor of %s: %.2f s; measured %.2f s (%.2fx the floor). Targets: %s; %s; %s.\n' \
        "$(row_name "$row")" "$f" "$w" "$(echo "$w / $f" | bc -l)" \
        "$(target "1.2x curl" "$cw" 1.2 "$f")" "$(target "1.2x wget2" "$ww" 1.2 "$f")" \
        "$(target "1.5x wget2" "$ww" 1.5 "$f")"
    done
  } | tee -a "$RESULTS"
}

# target NAME PEER_WALL FACTOR FLOOR: "NAME = S s, below the floor" (or "within reach")
target() {
  local t; t=$(echo "$2 / $3" | bc -l)
  printf '%s = %.2f s, %s' "$1" "$t" \
    "$(if (( $(echo "$t < $4" | bc -l) )); then echo "**below the floor**"; else echo "within reach"; fi)"
}

row_name() {
  case $1 in
    curl) echo "curl -Z --parallel-max $CURL_PARALLEL (URL list)" ;;
    wget2) echo "wget2 --max-threads=64 (URL list)" ;;
    list) echo "imgpipe get, defaults (URL list)" ;;
    api) echo "imgpipe get, defaults (API request in the time)" ;;
  esac
}

floor_main() {
  trap 'stop_galleryd; stop_nginx' EXIT
  trap 'exit 130' INT TERM
  ensure_deps; ensure_build
  cmake --build "$ROOT/build" --target verify_floor >/dev/null || { echo "cannot build verify_floor" >&2; exit 1; }
  rm -rf "$WORK"; mkdir -p "$WORK/out" "$WORK/logs"
  make_corpus "$CORPUS" "$N"; set_expected "$CORPUS"
  local files=("$CORPUS"/i/*) vout
  cat "${files[@]}" >/dev/null  # in the page cache, as a body just written is
  vout=$("$VERIFY" "${files[@]}") || { echo "verify_floor failed" >&2; exit 1; }
  VERIFY_CPU=$(echo "$vout" | awk '$1 == "total" {print $2}')
  {
    echo; echo "## Floor of imgpipe get against curl -Z ($(date -u '+%Y-%m-%d %H:%M UTC'))"; echo
    echo "- machine: \`$(uname -srm)\`, nproc $CORES, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "- imgpipe: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); load $(cut -d' ' -f1-3 /proc/loadavg) at the start"
    echo "- command: \`$CMDLINE\`"
    echo "- verification with no network (bench/verify_floor, $EXPECT files, $((EXPECT_BYTES / 1000000)) MB, CPU s):" \
      "$(echo "$vout" | awk '$1 ~ /^(copy|sha256|check|total|ms_per_image)$/ {printf "%s %s; ", $1, $2}')"
  } | tee -a "$RESULTS"
  local p
  for p in $PROTOS; do one_proto "$p"; done
  echo; echo "appended to $RESULTS"
}

floor_main "$@"
