#!/usr/bin/env bash
# bench/get.sh — how fast does `imgpipe get` download an Imgur-shaped gallery,
# per mode, against the tutorial's Python variants and against aria2c, wget2 and
# curl --parallel?  All traffic goes to a local galleryd on 127.0.0.1.
#
# Part 1 (LATENCY_MS=100, N=160 real photos): every imgpipe mode (seq, threads -j 8,
#   procs -j 4, async), the tutorial's Python scripts (bench/peers/), aria2c, wget2,
#   curl.  imgpipe and the Python scripts ask the gallery API themselves (in the
#   time); aria2c/wget2/curl get the list from `imgpipe links` made beforehand.
# Part 2 (latency 0, BIG_N=2000 images, hard links past 160): raw throughput of
#   imgpipe async/threads, aio.py, curl, aria2c, wget2.
# Part 3 (latency LATENCY_MS, N=160): get --thumb 128x128 vs plain get vs
#   `imgpipe thumbs` on the downloaded dir (is get+thumb ~ the slower half or the sum?)
#
# Reading the table: seconds = median wall time of the whole command over REPEAT runs
# (min-max beside it), img/s and MB/s = images and corpus bytes / seconds,
# RSS MB = peak RSS of the largest single process over the runs (GNU time %M; for
# multi-process tools that is one process, not the sum), ratio = seconds / seconds
# of `imgpipe async` in the same table (< 1: faster than imgpipe async).  A row is INCOMPLETE when the output dir
# misses images or, for imgpipe, the content checksum differs from the corpus.
# The machine is small and shared: compare ratios within one run, not across runs.
#
# usage: bench/get.sh            (as root on Debian; env knobs below)
#   CORPUS=/tmp/imgpipe-bench-corpus N=160 LATENCY_MS=100 BIG_N=2000 REPEAT=3
#   PARTS="main thumb big"  WORK=/tmp/imgpipe-bench-run  RESULTS=bench/RESULTS.md
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${CORPUS:-/tmp/imgpipe-bench-corpus}
N=${N:-160}
BIG_N=${BIG_N:-2000}
LATENCY_MS=${LATENCY_MS:-100}
REPEAT=${REPEAT:-3}            # runs per row (median reported); the ~16 s sequential rows run once
PARTS=${PARTS:-main thumb big}
WORK=${WORK:-/tmp/imgpipe-bench-run}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
PY=/usr/bin/python3            # Debian python: has aiohttp and PIL from apt
IMGPIPE=$ROOT/build/imgpipe
GALLERYD=$ROOT/build/tools/galleryd/galleryd
PEERS=$ROOT/bench/peers
TIMEOUT=600
CMDLINE="CORPUS=$CORPUS N=$N BIG_N=$BIG_N LATENCY_MS=$LATENCY_MS REPEAT=$REPEAT PARTS=\"$PARTS\" bench/get.sh"

GPID=""; PORT=""
ROWS=()          # "name|seconds|rssKB|images|status" of the current table

log() { echo "== $*" >&2; }

ensure_deps() {
  local missing=()
  command -v aria2c >/dev/null || missing+=(aria2)
  command -v wget2  >/dev/null || missing+=(wget2)
  command -v curl   >/dev/null || missing+=(curl)
  [ -x /usr/bin/time ]         || missing+=(time)
  $PY -c 'import aiohttp' 2>/dev/null || missing+=(python3-aiohttp)
  $PY -c 'import PIL' 2>/dev/null     || missing+=(python3-pil)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
      { echo "cannot install ${missing[*]}" >&2; exit 1; }
  fi
}

ensure_build() {
  if [ ! -x "$IMGPIPE" ] || [ ! -x "$GALLERYD" ]; then
    log "building imgpipe (Release)"
    cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
      cmake --build "$ROOT/build" -j2 >/dev/null || { echo "build failed" >&2; exit 1; }
  fi
}

# make_corpus DIR COUNT: cached; make_corpus.sh makes the photos and gallery.json
make_corpus() {
  local dir=$1 n=$2
  if [ -s "$dir/gallery.json" ] && [ "$(ls "$dir/i" | wc -l)" -eq "$n" ]; then return; fi
  log "building corpus $dir ($n images)"
  timeout $TIMEOUT bash /work/shared/bench/make_corpus.sh "$dir" "$n" '{{base}}' >/dev/null ||
    { echo "make_corpus failed" >&2; exit 1; }
}

# make_big_corpus DIR COUNT: what make_corpus.sh DIR COUNT makes (image k is a hard link of
# image k%160, same gallery item under its own name, album/gif items at k%10==5/7), but
# derived from $CORPUS in seconds instead of re-reading every header (~1 s per image).
make_big_corpus() {
  local dir=$1 n=$2
  if [ -s "$dir/gallery.json" ] && [ "$(ls "$dir/i" | wc -l)" -eq "$n" ]; then return; fi
  log "deriving corpus $dir ($n images) from $CORPUS"
  rm -rf "$dir"; mkdir -p "$dir/i"
  $PY - "$CORPUS" "$dir" "$n" <<'PYEOF' || { echo "corpus derivation failed" >&2; exit 1; }
import json, os, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
items = {it['id']: it for it in json.load(open(src + '/gallery.json'))['data'] if it.get('type') in ('image/jpeg', 'image/png')}
base = len(items)
out = []
for k in range(n):
    name = 'img%04d' % k
    it = dict(items['img%04d' % (k % base)])
    ext = it['link'].rsplit('.', 1)[1]
    it.update(id=name, title=name, link='{{base}}/i/%s.%s' % (name, ext))
    os.link('%s/i/img%04d.%s' % (src, k % base, ext), '%s/i/%s.%s' % (dst, name, ext))
    out.append(it)
    if k % 10 == 5: out.append({'id': 'alb%d' % k, 'title': 'album', 'is_album': True, 'link': '{{base}}/a/alb%d' % k})
    if k % 10 == 7: out.append({'id': 'gif%d' % k, 'type': 'image/gif', 'animated': True, 'link': '{{base}}/i/gif%d.gif' % k})
open(dst + '/gallery.json', 'w').write(json.dumps({'data': out, 'success': True, 'status': 200}, separators=(',', ':')) + '\n')
PYEOF
}

start_galleryd() {  # start_galleryd DIR LATENCY
  stop_galleryd
  rm -f "$WORK/port"
  "$GALLERYD" --port 0 --port-file "$WORK/port" --dir "$1" --latency-ms "$2" >"$WORK/galleryd.log" 2>&1 &
  GPID=$!
  for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
  PORT=$(cat "$WORK/port") || { echo "galleryd did not start" >&2; exit 1; }
  export IMGUR_API_URL=http://127.0.0.1:$PORT IMGUR_CLIENT_ID=x
  log "galleryd pid $GPID port $PORT dir $1 latency $2 ms"
}

stop_galleryd() { if [ -n "$GPID" ]; then kill "$GPID" 2>/dev/null; wait "$GPID" 2>/dev/null; GPID=""; fi; }

# sum of the checksums of the files (not thumbnails) of a dir, order-independent by name
dir_sum() { (cd "$1" && find . -maxdepth 1 -type f ! -name '*_thumbnail*' -printf '%f\n' | sort | xargs -r md5sum | md5sum | cut -c1-32); }
img_count() { find "$1" -maxdepth 1 -type f ! -name '*_thumbnail*' | wc -l; }

# run_row NAME CHECK CMD...: runs CMD $REPS times (default $REPEAT), each in a fresh output
# dir (the argument @OUT, also inside a word, becomes that dir), under time and timeout,
# verifies the dir after every run, records one row: median seconds, min and max, peak RSS.
# CHECK=yes also compares the content checksum with the corpus. PRE_COPY=DIR seeds the dir.
run_row() {
  local name=$1 check=$2; shift 2
  local out=$WORK/out/$(echo "$name" | tr -c 'A-Za-z0-9\n' '_')
  local tf=$WORK/time.txt lf=$WORK/logs/$(basename "$out").log
  local reps=${REPS:-$REPEAT} r rc secs rss got status=ok all=() rssmax=0 args a
  log "$name (x$reps)"; : >"$lf"
  for ((r = 1; r <= reps; r++)); do
    rm -rf "$out"; mkdir -p "$out"
    [ -n "${PRE_COPY:-}" ] && cp -a "$PRE_COPY/." "$out/"   # untimed: start from a copy of PRE_COPY
    args=(); for a in "$@"; do args+=("${a//@OUT/$out}"); done
    sync
    ( cd "$WORK" && /usr/bin/time -f '%e %M' -o "$tf" timeout $TIMEOUT "${args[@]}" ) >>"$lf" 2>&1
    rc=$?
    read -r secs rss < <(tail -1 "$tf")
    all+=("$secs"); (( rss > rssmax )) && rssmax=$rss
    got=$(img_count "$out")
    [ "$rc" -ne 0 ] && status="exit $rc"
    if [ "$got" -ne "$EXPECT" ]; then status="INCOMPLETE $got/$EXPECT ($status)"; break
    elif [ "$check" = yes ] && [ "$(dir_sum "$out")" != "$EXPECT_SUM" ]; then status="INCOMPLETE checksum"; break
    fi
  done
  LAST_OUT=$out
  local stats; stats=$(printf '%s\n' "${all[@]}" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)] "|" v[1] "|" v[NR]}')
  IFS='|' read -r secs smin smax <<<"$stats"
  ROWS+=("$name|$secs|$rssmax|$got|$status|$*|$smin|$smax")
}

# print_table TITLE: prints the current rows, appends them to RESULTS, clears ROWS
print_table() {
  local ref table
  ref=$(printf '%s\n' "${ROWS[@]}" | awk -F'|' '$1=="imgpipe async"{print $2; exit}')
  table=$(printf '%s\n' "${ROWS[@]}" | awk -F'|' -v ref="${ref:-0}" -v bytes="$EXPECT_BYTES" '
    BEGIN { printf "| %-30s | %7s | %13s | %7s | %7s | %7s | %6s | %s\n", "tool / mode", "seconds", "min-max", "img/s", "MB/s", "RSS MB", "ratio", "status |"
            printf "|%s|%s|%s|%s|%s|%s|%s|%s\n", "--------------------------------", "--------:", "--------------:", "--------:", "--------:", "--------:", "-------:", "--------|" }
    { s=$2+0; printf "| %-30s | %7.2f | %13s | %7.1f | %7.1f | %7.1f | %6s | %s |\n", $1, s, sprintf("%.2f-%.2f", $7, $8),
        (s>0 ? $4/s : 0), (s>0 ? bytes/1e6/s : 0), $3/1024, (ref>0 ? sprintf("%.2f", s/ref) : "-"), $5 }')
  local cmds; cmds=$(printf '%s\n' "${ROWS[@]}" | awk -F'|' '{printf "- %s: `%s`\n", $1, $6}' | sed "s#$WORK/out/[A-Za-z0-9_]*#OUT#g; s#$ROOT/##g")
  echo; echo "### $1"; echo "$table"
  { echo; echo "### $1"; echo; echo "$table"; echo; echo "<details><summary>commands</summary>"; echo
    echo "$cmds"; echo; echo "</details>"; } >>"$RESULTS"
  ROWS=()
}

set_expected() {  # set_expected CORPUSDIR
  EXPECT=$(ls "$1/i" | wc -l); EXPECT_SUM=$(dir_sum "$1/i")
  EXPECT_BYTES=$(find "$1/i" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
}

make_list() {  # make_list FILE: the URL list from imgpipe links (not timed), and a curl config
  timeout $TIMEOUT "$IMGPIPE" links imgur:random >"$1" || { echo "imgpipe links failed" >&2; exit 1; }
  sed 's/.*/url = "&"/' "$1" >"$1.curl"
}

cli_rows() {  # cli_rows LIST: aria2c, wget2, curl over the URL list
  run_row "aria2c -j 64 -x1" no aria2c -i "$1" -j 64 -x1 --console-log-level=error --summary-interval=0 -d @OUT
  run_row "wget2 --max-threads=64" no wget2 --max-threads=64 -i "$1" -P @OUT -q
  run_row "curl --parallel-max 64" no curl --parallel --parallel-max 64 --fail --silent --show-error \
    --remote-name-all --output-dir @OUT -K "$1.curl"
}

imgpipe_rows() {  # imgpipe_rows MODE...: e.g. "seq" "threads -j 8"
  local m
  # shellcheck disable=SC2086
  for m in "$@"; do run_row "imgpipe $m" yes "$IMGPIPE" get -q -m $m -o @OUT imgur:random; done
}

part_main() {
  start_galleryd "$CORPUS" "$LATENCY_MS"; set_expected "$CORPUS"; make_list "$WORK/list.txt"
  REPS=1 imgpipe_rows "seq"
  imgpipe_rows "threads -j 8" "procs -j 4" "async"
  REPS=1 run_row "python single.py" no $PY "$PEERS/single.py" @OUT
  local p
  for p in threads procs futures aio; do run_row "python $p.py" no $PY "$PEERS/$p.py" @OUT; done
  cli_rows "$WORK/list.txt"
  print_table "Part 1: $EXPECT images, galleryd latency ${LATENCY_MS} ms"
}

part_big() {
  local big=${CORPUS}-$BIG_N
  make_big_corpus "$big" "$BIG_N"
  start_galleryd "$big" 0; set_expected "$big"; make_list "$WORK/list-big.txt"
  imgpipe_rows "async" "threads -j 8"
  run_row "python aio.py" no $PY "$PEERS/aio.py" @OUT
  cli_rows "$WORK/list-big.txt"
  print_table "Part 2: $EXPECT images, galleryd latency 0 ms (raw throughput)"
}

check_thumbs() {  # marks the last row INCOMPLETE unless $LAST_OUT has a thumbnail per image
  local n; n=$(find "$LAST_OUT" -name '*_thumbnail*' | wc -l)
  [ "$n" -eq "$EXPECT" ] || ROWS[-1]=$(echo "${ROWS[-1]}" | awk -F'|' -v n="$n" -v e="$EXPECT" 'BEGIN{OFS="|"}{$5="INCOMPLETE thumbs " n "/" e; print}')
}

part_thumb() {
  start_galleryd "$CORPUS" "$LATENCY_MS"; set_expected "$CORPUS"
  imgpipe_rows "async"
  local plain=$LAST_OUT
  run_row "imgpipe async --thumb 128x128" yes "$IMGPIPE" get -q -m async --thumb 128x128 -o @OUT imgur:random
  check_thumbs
  # thumbs alone, on an (untimed) copy of the plain download
  PRE_COPY=$plain run_row "imgpipe thumbs (dir)" yes "$IMGPIPE" thumbs -q @OUT; check_thumbs
  PRE_COPY=$plain run_row "python thumbs_single.py" yes $PY "$PEERS/thumbs_single.py" @OUT; check_thumbs
  PRE_COPY=$plain run_row "python thumbs_pool.py" yes $PY "$PEERS/thumbs_pool.py" @OUT; check_thumbs
  local dl th both
  dl=$(echo "${ROWS[0]}" | cut -d'|' -f2); both=$(echo "${ROWS[1]}" | cut -d'|' -f2); th=$(echo "${ROWS[2]}" | cut -d'|' -f2)
  print_table "Part 3: $EXPECT images, latency ${LATENCY_MS} ms: download + 128x128 thumbnails"
  awk -v d="$dl" -v t="$th" -v b="$both" 'BEGIN { printf "\nget --thumb took %.2f s; download %.2f s + thumbs %.2f s: sum %.2f s, slower half %.2f s, get --thumb / sum = %.2f\n", b, d, t, d+t, (d>t?d:t), b/(d+t) }' | tee -a "$RESULTS"
}

header() {
  {
    echo; echo "## $(date -u '+%Y-%m-%d %H:%M UTC')"; echo
    echo "- machine: \`$(uname -srm)\`, nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "- imgpipe: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), Release build"
    echo "- command: \`$CMDLINE\`"
    echo "- shared, noisy 2-core machine: compare the ratios within one table, not absolute seconds across runs."
    echo "- RSS = peak of the largest single process (GNU time %M), not the sum over workers."
  } >>"$RESULTS"
}

main() {
  trap stop_galleryd EXIT
  trap 'exit 130' INT TERM
  ensure_deps; ensure_build
  rm -rf "$WORK"; mkdir -p "$WORK/out" "$WORK/logs"
  make_corpus "$CORPUS" "$N"
  [ -f "$RESULTS" ] || printf '# imgpipe get benchmarks (bench/get.sh)\n' >"$RESULTS"
  header            # each table is appended to RESULTS as soon as its part is done
  local part
  for part in $PARTS; do "part_$part"; done
  stop_galleryd
  echo; echo "appended to $RESULTS; logs in $WORK/logs"
}

main "$@"
