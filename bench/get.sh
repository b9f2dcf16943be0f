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
# Parts h2 and h1 (latency LATENCY_MS, N=160, HTTPS): nginx started here on a free
#   loopback port with a self-signed certificate made here, LATENCY_MS per response
#   (echo_sleep), serving the corpus and the gallery API answer; h2 listens `ssl http2`,
#   h1 `ssl` only.  imgpipe get (-k; the API request is in the time) at its defaults and
#   at other -j, imgpipe get at its defaults on the peers' URL list (no API request), curl -Z, wget2, aria2c, aio.py (trusting the certificate through
#   SSL_CERT_FILE) over the same server.  Rows run interleaved, round by round; the
#   "conns" column counts the TLS connections (handshakes) nginx logged during the last
#   round of that row, "resumed" how many of them resumed a TLS session.
# Part jobs (HTTP, both latencies): imgpipe get at several -j, to choose the defaults.
# Part long (HTTP, LATENCY_MS, the BIG_N-image corpus, the same URL list for every row): a
#   run long enough for the default to climb past 64; imgpipe get at its defaults and at
#   LONG_JOBS_LIST (default "64 128 256"), curl -Z 64, wget2; RSS is the memory figure.
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
#   PARTS="main thumb big h2 h1 jobs long"  JOBS_LIST="16 32 64 128 160"  WORK=/tmp/imgpipe-bench-run  RESULTS=bench/RESULTS.md
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
JOBS_LIST=${JOBS_LIST:-16 32 64 128 160}  # the -j tried in parts h2, h1 and jobs
PY=/usr/bin/python3            # Debian python: has aiohttp and PIL from apt
IMGPIPE=${IMGPIPE:-$ROOT/build/imgpipe}  # a copy lets the tree be rebuilt during a long run
GALLERYD=${GALLERYD:-$ROOT/build/tools/galleryd/galleryd}
PEERS=$ROOT/bench/peers
TIMEOUT=600
CMDLINE="CORPUS=$CORPUS N=$N BIG_N=$BIG_N LATENCY_MS=$LATENCY_MS REPEAT=$REPEAT PARTS=\"$PARTS\" JOBS_LIST=\"$JOBS_LIST\" bench/get.sh"

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
  command -v openssl >/dev/null || missing+=(openssl)
  command -v nginx   >/dev/null || missing+=(nginx-light)
  [ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || missing+=(libnginx-mod-http-echo)
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
  timeout $TIMEOUT bash "$ROOT/bench/make_corpus.sh" "$dir" "$n" '{{base}}' >/dev/null ||
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
  # it reads the whole corpus first: 2000 images (1.6 GB) take 10-20 s on a loaded machine
  for _ in $(seq 1200); do [ -s "$WORK/port" ] && break; sleep 0.05; done
  PORT=$(cat "$WORK/port") || { echo "galleryd did not start" >&2; exit 1; }
  export IMGUR_API_URL=http://127.0.0.1:$PORT IMGUR_CLIENT_ID=x
  log "galleryd pid $GPID port $PORT dir $1 latency $2 ms"
}

stop_galleryd() { if [ -n "$GPID" ]; then kill "$GPID" 2>/dev/null; wait "$GPID" 2>/dev/null; GPID=""; fi; }

# sum of the checksums of the files (not thumbnails) of a dir, order-independent by name
dir_sum() { (cd "$1" && find . -maxdepth 1 -type f ! -name '*_thumbnail*' -printf '%f\n' | sort | xargs -r md5sum | md5sum | cut -c1-32); }
img_count() { find "$1" -maxdepth 1 -type f ! -name '*_thumbnail*' | wc -l; }

# With ONE_OUT set (the parts of 2000 images), every row's output goes before each run, not
# only its own: 1.6 GB left by each of the other rows made a run write into memory the
# machine had not touched for a while, which on a VM (pages handed back to the host) cost
# some runs 3-10x (curl -Z 1.2-10.7 s in one row); with one output at a time, 0.91-0.97 s.
clear_outs() { if [ -n "${ONE_OUT:-}" ]; then rm -rf "${WORK:?}/out"; fi; }

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
    clear_outs; rm -rf "$out"; mkdir -p "$out"
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

# print_table TITLE [REFROW]: prints the current rows, appends them to RESULTS, clears ROWS.
# ratio = seconds / seconds of REFROW (default "imgpipe async"); rows with nginx counts
# get a "conns/resumed/requests" column.
print_table() {
  local ref table refname=${2:-imgpipe async}
  ref=$(printf '%s\n' "${ROWS[@]}" | awk -F'|' -v n="$refname" '$1==n{print $2; exit}')
  table=$(printf '%s\n' "${ROWS[@]}" | awk -F'|' -v ref="${ref:-0}" -v bytes="$EXPECT_BYTES" '
    NR == 1 { cc = ($9 != "") }
    NR == 1 { printf "| %-30s | %7s | %13s | %7s | %7s | %7s | %6s |%s %s\n", "tool / mode", "seconds", "min-max", "img/s", "MB/s", "RSS MB", "ratio", (cc ? " TLS conns/resumed/requests |" : ""), "status |"
            printf "|%s|%s|%s|%s|%s|%s|%s|%s%s\n", "--------------------------------", "--------:", "--------------:", "--------:", "--------:", "--------:", "-------:", (cc ? "----------:|" : ""), "--------|" }
    { s=$2+0; printf "| %-30s | %7.2f | %13s | %7.1f | %7.1f | %7.1f | %6s |%s %s |\n", $1, s, sprintf("%.2f-%.2f", $7, $8),
        (s>0 ? $4/s : 0), (s>0 ? bytes/1e6/s : 0), $3/1024, (ref>0 ? sprintf("%.2f", s/ref) : "-"), (cc ? " " $9 " |" : ""), $5 }')
  local cmds; cmds=$(printf '%s\n' "${ROWS[@]}" | awk -F'|' '{printf "- %s: `%s`\n", $1, $6}' | sed "s#$WORK/out/[A-Za-z0-9_]*#OUT#g; s#$WORK/#WORK/#g; s#$ROOT/##g")
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
  local big=${CORPUS}-$BIG_N ONE_OUT=1
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

# ---- HTTPS: nginx with TLS (parts h2, h1), interleaved rows, connection counts ----------

NGX_DIR=""; NGX_PORT=""; NGX_LOG=""

free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_nginx CORPUSDIR h2|h1 LATENCY_MS: serves DIR/i/ and the gallery answer (its {{base}}
# made https://127.0.0.1:PORT) at /3/gallery/random/random/, each response LATENCY_MS late.
start_nginx() {
  local corpus=$1 proto=$2 delay; delay=$(awk -v ms="$3" 'BEGIN { printf "%.3f", ms / 1000 }')
  stop_nginx
  NGX_DIR=$WORK/nginx; NGX_LOG=$NGX_DIR/access.log
  mkdir -p "$NGX_DIR/tmp" "$NGX_DIR/api"; chmod 755 "$NGX_DIR" "$NGX_DIR/api"
  if [ ! -s "$NGX_DIR/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
      -addext subjectAltName=IP:127.0.0.1 -keyout "$NGX_DIR/key.pem" -out "$NGX_DIR/cert.pem" \
      2>/dev/null || { echo "openssl failed" >&2; exit 1; }
  fi
  NGX_PORT=$(free_port)
  sed "s#{{base}}#https://127.0.0.1:$NGX_PORT#g" "$corpus/gallery.json" >"$NGX_DIR/api/gallery.json"
  local listen="ssl http2"; [ "$proto" = h1 ] && listen=ssl
  cat >"$NGX_DIR/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
worker_processes 1;
pid $NGX_DIR/nginx.pid;
error_log $NGX_DIR/error.log;
events { worker_connections 4096; }
http {
  log_format conn '\$connection \$connection_requests \$ssl_session_reused \$server_protocol \$status \$body_bytes_sent \$uri';
  access_log $NGX_LOG conn;
  # as real hosts do: TLS 1.3, and a session cache so a new connection can resume
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:SSL:10m;
  client_body_temp_path $NGX_DIR/tmp;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NGX_PORT $listen;
    ssl_certificate $NGX_DIR/cert.pem;
    ssl_certificate_key $NGX_DIR/key.pem;
    location /i/ { echo_sleep $delay; echo_exec @file; }
    location @file { root $corpus; }
    location = /3/gallery/random/random/ { echo_sleep $delay; echo_exec @api; }
    location @api { root $NGX_DIR/api; default_type application/json; try_files /gallery.json =404; }
  }
}
EOF
  nginx -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" -e "$NGX_DIR/error.log" ||
    { echo "nginx did not start; see $NGX_DIR/error.log" >&2; exit 1; }
  export IMGUR_API_URL=https://127.0.0.1:$NGX_PORT IMGUR_CLIENT_ID=x
  $PY -c 'import json, sys
for it in json.load(open(sys.argv[1]))["data"]:
    if it.get("type") in ("image/jpeg", "image/png"): print(it["link"])' "$NGX_DIR/api/gallery.json" >"$NGX_DIR/list.txt"
  sed 's/.*/url = "&"/' "$NGX_DIR/list.txt" >"$NGX_DIR/list.txt.curl"
  for _ in $(seq 50); do
    curl -s -o /dev/null --cacert "$NGX_DIR/cert.pem" "$IMGUR_API_URL/3/gallery/random/random/" && break; sleep 0.1
  done
  log "nginx ($proto) port $NGX_PORT dir $corpus latency $3 ms"
}

stop_nginx() {
  if [ -n "$NGX_DIR" ] && [ -s "$NGX_DIR/nginx.pid" ]; then
    local pid; pid=$(cat "$NGX_DIR/nginx.pid"); kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  NGX_LOG=""
}

# conn_counts: "connections/resumed/requests" nginx logged since the log was last emptied
conn_counts() {
  awk '{ c[$1] = 1; if ($3 == "r") r[$1] = 1; n++ } END { printf "%d/%d/%d", length(c), length(r), n }' "$NGX_LOG"
}

# add_row NAME CHECK CMD...: queues a row for run_interleaved (same arguments as run_row)
IROWS=()
add_row() { local name=$1 check=$2; shift 2; IROWS+=("$name|$check|$(printf '%q ' "$@")"); }

# run_interleaved: REPEAT rounds; each round runs every queued row once, starting one row
# later than the round before, so load that comes and goes is spread over all rows. Then
# one ROWS entry per row, as run_row makes them, with nginx's counts of its last round.
run_interleaved() {
  local n=${#IROWS[@]} r i k name check cmd out lf rc secs rss got tf=$WORK/time.txt
  local -a times status rssmax gotl conns
  for ((i = 0; i < n; i++)); do times[i]=""; status[i]=ok; rssmax[i]=0; gotl[i]=0; conns[i]=""; done
  for ((r = 0; r < REPEAT; r++)); do
    for ((k = 0; k < n; k++)); do
      i=$(( (k + r) % n ))
      IFS='|' read -r name check cmd <<<"${IROWS[i]}"
      [ "${status[i]}" = ok ] || continue
      out=$WORK/out/$(echo "$name" | tr -c 'A-Za-z0-9\n' '_'); lf=$WORK/logs/$(basename "$out").log
      log "round $((r + 1))/$REPEAT: $name"
      clear_outs; rm -rf "$out"; mkdir -p "$out"; sync
      [ -n "$NGX_LOG" ] && : >"$NGX_LOG"
      ( cd "$WORK" && eval "/usr/bin/time -f '%e %M' -o $tf timeout $TIMEOUT ${cmd//@OUT/$out}" ) >>"$lf" 2>&1
      rc=$?
      read -r secs rss < <(tail -1 "$tf")
      times[i]+="$secs "; (( rss > rssmax[i] )) && rssmax[i]=$rss
      [ -n "$NGX_LOG" ] && conns[i]=$(conn_counts)
      got=$(img_count "$out"); gotl[i]=$got
      [ "$rc" -ne 0 ] && status[i]="exit $rc"
      if [ "$got" -ne "$EXPECT" ]; then status[i]="INCOMPLETE $got/$EXPECT (${status[i]})"
      elif [ "$check" = yes ] && [ "$(dir_sum "$out")" != "$EXPECT_SUM" ]; then status[i]="INCOMPLETE checksum"
      fi
    done
  done
  local stats smin smax
  for ((i = 0; i < n; i++)); do
    IFS='|' read -r name check cmd <<<"${IROWS[i]}"
    stats=$(printf '%s\n' ${times[i]} | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)] "|" v[1] "|" v[NR]}')
    IFS='|' read -r secs smin smax <<<"$stats"
    ROWS+=("$name|$secs|${rssmax[i]}|${gotl[i]}|${status[i]}|$cmd|$smin|$smax|${conns[i]}")
  done
  IROWS=()
}

# https_rows: the rows of parts h2 and h1, over the nginx started last
https_rows() {
  local ca=$NGX_DIR/cert.pem list=$NGX_DIR/list.txt j
  add_row "imgpipe get (defaults)" yes "$IMGPIPE" get -q -k -o @OUT imgur:random
  for j in $JOBS_LIST; do add_row "imgpipe get -j $j" yes "$IMGPIPE" get -q -k -j "$j" -o @OUT imgur:random; done
  # the peers' work: the same URL list, no API request, the certificate verified
  add_row "imgpipe get (URL list)" yes "$IMGPIPE" get -q --cacert "$ca" -o @OUT "$list"
  add_row "curl -Z --parallel-max $N" no curl --parallel --parallel-max "$N" --fail --silent --show-error \
    --cacert "$ca" --remote-name-all --output-dir @OUT -K "$list.curl"
  add_row "wget2 --max-threads=64" no wget2 --max-threads=64 --ca-certificate="$ca" -i "$list" -P @OUT -q
  add_row "aria2c -j 64 -x1" no aria2c -i "$list" -j 64 -x1 --ca-certificate="$ca" \
    --console-log-level=error --summary-interval=0 -d @OUT
  add_row "python aio.py" no env SSL_CERT_FILE="$ca" $PY "$PEERS/aio.py" @OUT
  run_interleaved
}

part_h2() {
  set_expected "$CORPUS"; start_nginx "$CORPUS" h2 "$LATENCY_MS"; https_rows; stop_nginx
  print_table "Part h2: $EXPECT images, HTTPS + HTTP/2 (nginx ssl http2), ${LATENCY_MS} ms per response" "imgpipe get (defaults)"
}

part_h1() {
  set_expected "$CORPUS"; start_nginx "$CORPUS" h1 "$LATENCY_MS"; https_rows; stop_nginx
  print_table "Part h1: $EXPECT images, HTTPS, HTTP/1.1 only (nginx ssl), ${LATENCY_MS} ms per response" "imgpipe get (defaults)"
}

# part_jobs: plain HTTP through galleryd (API request in the time), imgpipe get at several
# -j, both at LATENCY_MS and at no added latency, to choose the defaults.
part_jobs() {
  local lat j m
  set_expected "$CORPUS"
  for lat in "$LATENCY_MS" 0; do
    start_galleryd "$CORPUS" "$lat"; make_list "$WORK/list.txt"
    add_row "imgpipe get (defaults)" yes "$IMGPIPE" get -q -o @OUT imgur:random
    for j in $JOBS_LIST; do add_row "imgpipe get -j $j" yes "$IMGPIPE" get -q -j "$j" -o @OUT imgur:random; done
    for m in 8 16 32; do add_row "imgpipe threads -j $m" yes "$IMGPIPE" get -q -m threads -j "$m" -o @OUT imgur:random; done
    add_row "wget2 --max-threads=64" no wget2 --max-threads=64 -i "$WORK/list.txt" -P @OUT -q
    add_row "curl --parallel-max 64" no curl --parallel --parallel-max 64 --fail --silent --show-error \
      --remote-name-all --output-dir @OUT -K "$WORK/list.txt.curl"
    add_row "python aio.py" no $PY "$PEERS/aio.py" @OUT
    run_interleaved
    print_table "Part jobs: $EXPECT images, plain HTTP (galleryd), ${lat} ms per response" "imgpipe get (defaults)"
  done
}

part_long() {
  local big=${CORPUS}-$BIG_N j ONE_OUT=1
  make_big_corpus "$big" "$BIG_N"
  start_galleryd "$big" "$LATENCY_MS"; set_expected "$big"; make_list "$WORK/list-big.txt"
  add_row "imgpipe get (defaults)" yes "$IMGPIPE" get -q -o @OUT "$WORK/list-big.txt"
  for j in ${LONG_JOBS_LIST:-64 128 256}; do
    add_row "imgpipe get -j $j" yes "$IMGPIPE" get -q -j "$j" -o @OUT "$WORK/list-big.txt"
  done
  add_row "curl --parallel-max 64" no curl --parallel --parallel-max 64 --fail --silent --show-error \
    --remote-name-all --output-dir @OUT -K "$WORK/list-big.txt.curl"
  add_row "wget2 --max-threads=64" no wget2 --max-threads=64 -i "$WORK/list-big.txt" -P @OUT -q
  run_interleaved
  print_table "Part long: $EXPECT images, plain HTTP (galleryd), ${LATENCY_MS} ms per response, one URL list" "imgpipe get (defaults)"
}

header() {
  {
    echo; echo "## $(date -u '+%Y-%m-%d %H:%M UTC')"; echo
    echo "- machine: \`$(uname -srm)\`, nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "- imgpipe: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') (${IMGPIPE#"$ROOT"/}; build type: $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$ROOT/build/CMakeCache.txt" 2>/dev/null))"
    echo "- load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the start"
    echo "- command: \`$CMDLINE\`"
    echo "- shared, noisy 2-core machine: compare the ratios within one table, not absolute seconds across runs."
    echo "- RSS = peak of the largest single process (GNU time %M), not the sum over workers."
  } >>"$RESULTS"
}

main() {
  trap 'stop_galleryd; stop_nginx' EXIT
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

# bench/floor.sh sources this file for its servers and helpers, without running a part.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
