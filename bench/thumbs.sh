#!/usr/bin/env bash
# Thumbnail benchmark: imgpipe thumbs against the decode floor and peer tools, all making
# 128x128 fit-in thumbnails of the same files (the shared corpus), each writing into its own
# scratch directory. Prints one table and appends it, with the machine, to bench/RESULTS.md.
#
# usage: bench/thumbs.sh [N]          N corpus images (default 160)
# env:   REPS (default 3 rounds: best wall time, least CPU time), SIZE (default 128x128),
#        CORPUS (default /tmp/imgpipe-bench-corpus-thumbs), RESULTS (file to append to;
#        empty: print only)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
n=${1:-160}
reps=${REPS:-3}
size=${SIZE:-128x128}
corpus=${CORPUS:-/tmp/imgpipe-bench-corpus-thumbs}
results=${RESULTS-$root/bench/RESULTS.md}
build=$root/build-bench
py=/usr/bin/python3 # a pyenv python3 without PIL may come first on PATH

need() { command -v "$1" >/dev/null || { echo "thumbs.sh: needs $1 (apt-get install $2)" >&2; exit 1; }; }
need vipsthumbnail libvips-tools
need gm graphicsmagick
[ -x /usr/bin/mogrify ] || { echo "thumbs.sh: needs imagemagick" >&2; exit 1; }
$py -c 'import PIL' 2>/dev/null || { echo "thumbs.sh: needs python3-pil" >&2; exit 1; }

# Release build of imgpipe and the decode floor.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target imgpipe decode_floor png_decode >/dev/null

[ "$(ls "$corpus/i" 2>/dev/null | wc -l)" -ge "$n" ] || bash "$root/bench/make_corpus.sh" "$corpus" "$n" >&2
mapfile -t files < <(ls "$corpus/i" | grep -E '^img[0-9]+\.(jpg|png)$' | sort | head -n "$n")
scratch=$(mktemp -d /tmp/imgpipe-thumbs-bench.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/in"
for f in "${files[@]}"; do cp "$corpus/i/$f" "$scratch/in/"; done
in=$scratch/in
jpgs=("$in"/*.jpg) pngs=("$in"/*.png) all=("$in"/*.jpg "$in"/*.png)
count=${#all[@]}
w=${size%x*} h=${size#*x}

# Each tool is one entry of names/cmds; run_all runs every tool once per round, REPS
# rounds, so that a burst of load from elsewhere on a shared machine hits all tools
# alike. Kept per tool: the best wall time and, separately, the least user+sys CPU time
# (children included) over the rounds.
declare -A wall cpu cmds
order=()
tool() {
    local name=$1; shift
    order+=("$name")
    cmds[$name]=$(printf '%q ' "$@")
}
run_one() {
    local name=$1
    rm -rf "$scratch/out" && mkdir "$scratch/out"
    find "$in" -name '*_thumbnail*' -delete
    eval "/usr/bin/time -f '%e %U %S' -o '$scratch/time' ${cmds[$name]}" >/dev/null 2>"$scratch/err" ||
        { echo "thumbs.sh: $name failed:" >&2; cat "$scratch/err" >&2; exit 1; }
    read -r e u s <"$scratch/time"
    local c
    c=$(awk "BEGIN{print $u + $s}")
    if [ -z "${wall[$name]:-}" ] || awk "BEGIN{exit !($e < ${wall[$name]})}"; then wall[$name]=$e; fi
    if [ -z "${cpu[$name]:-}" ] || awk "BEGIN{exit !($c < ${cpu[$name]})}"; then cpu[$name]=$c; fi
}
run_all() {
    for ((r = 1; r <= reps; r++)); do
        for t in "${order[@]}"; do run_one "$t"; done
        echo "  round $r of $reps done" >&2
    done
}

# vipsthumbnail picks the output format from -o: JPEGs and PNGs go in two calls.
cat >"$scratch/vips.sh" <<VIPS
vipsthumbnail -s $size -o '$scratch/out/%s.jpg[Q=85]' ${jpgs[*]} &&
    vipsthumbnail -s $size -o '$scratch/out/%s.png' ${pngs[*]}
VIPS

echo "thumbs.sh: $count files ($((${#jpgs[@]})) JPEG, ${#pngs[@]} PNG), $size, best of $reps" >&2
tool "imgpipe thumbs -m seq" "$build/imgpipe" thumbs -q -m seq -t "$size" "$in"
tool "imgpipe thumbs -m threads -j 2" "$build/imgpipe" thumbs -q -m threads -j 2 -t "$size" "$in"
tool "imgpipe thumbs -j 2 --fit cover" "$build/imgpipe" thumbs -q -m threads -j 2 --fit cover -t "$size" "$in"
tool "imgpipe thumbs -j 2 --format webp" "$build/imgpipe" thumbs -q -m threads -j 2 --format webp -t "$size" "$in"
tool "imgpipe thumbs -j 2 --format avif" "$build/imgpipe" thumbs -q -m threads -j 2 --format avif -t "$size" "$in"
tool "decode floor (TurboJPEG scaled + libspng)" "$build/decode_floor" "$size" "${all[@]}"
tool "Pillow thumbnail, sequential" $py "$here/peers/pil_thumbs.py" seq "$size" "$scratch/out" "${all[@]}"
tool "Pillow thumbnail, ProcessPoolExecutor(2)" $py "$here/peers/pil_thumbs.py" pool:2 "$size" "$scratch/out" "${all[@]}"
tool "vipsthumbnail, VIPS_CONCURRENCY=1" env VIPS_CONCURRENCY=1 bash "$scratch/vips.sh"
tool "vipsthumbnail, default concurrency" bash "$scratch/vips.sh"
tool "ImageMagick mogrify -thumbnail" /usr/bin/mogrify -path "$scratch/out" -quality 85 -thumbnail "$size" "${all[@]}"
# gm joins -output-directory and the name as given: hand it names relative to the input.
tool "GraphicsMagick gm mogrify -thumbnail" bash -c "cd '$in' && gm mogrify -output-directory '$scratch/out' -quality 85 -thumbnail $size *.jpg *.png"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
run_all
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# PNG decode alone, libspng + zlib against the libdeflate fast path, on the PNGs: timed
# inside bench/png_decode.c (the files read first), the second pass of PASSES=2 (the
# engine's buffers grown, as in a run past its first images). Best CPU of REPS rounds.
png_best() {
    local best="" c
    for ((r = 1; r <= reps; r++)); do
        c=$(PASSES=2 "$build/png_decode" "$1" "${pngs[@]}" | sed -n 's/.*s, \([0-9.]*\) s CPU.*/\1/p')
        if [ -z "$best" ] || awk "BEGIN{exit !($c < $best)}"; then best=$c; fi
    done
    echo "$best"
}
png_spng=$(png_best spng) png_fast=$(png_best fast)
png_line=$(awk -v s="$png_spng" -v f="$png_fast" -v n="${#pngs[@]}" \
    'BEGIN{printf "PNG decode alone, %d PNGs (bench/png_decode, CPU s, best of the rounds): libspng + zlib %.3f, fast path (libdeflate) %.3f: %.2fx", n, s, f, s / f}')
echo "$png_line"

base=${wall["imgpipe thumbs -m seq"]} cbase=${cpu["imgpipe thumbs -m seq"]}
table=$(
    echo "| tool | wall s | ms/image (wall) | images/s | CPU ms/image | wall vs imgpipe -j1 | CPU vs imgpipe -j1 |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for t in "${order[@]}"; do
        awk -v t="$t" -v s="${wall[$t]}" -v c="${cpu[$t]}" -v n="$count" -v b="$base" -v cb="$cbase" \
            'BEGIN{printf "| %s | %.2f | %.1f | %.1f | %.1f | %.2fx | %.2fx |\n", t, s, 1000*s/n, n/s, 1000*c/n, s/b, c/cb}'
    done
)
echo "$table"
if [ -n "$results" ]; then
    {
        echo
        echo "## Thumbnails, $size, $count files ($(date -u '+%Y-%m-%d %H:%M UTC'))"
        echo
        echo "$(uname -srm), nproc $(nproc), $(lscpu | sed -n 's/^Model name: *//p' | head -1)." \
            "Command: \`bench/thumbs.sh $n\` ($reps rounds, every tool once a round; best" \
            "wall and, separately, least CPU = user+sys of the rounds; load average $load0" \
            "before, $load1 after; corpus: bench/make_corpus.sh, ${#jpgs[@]} JPEG +" \
            "${#pngs[@]} PNG)."
        echo
        echo "$table"
        echo
        echo "$png_line."
    } >>"$results"
    echo "thumbs.sh: appended to $results" >&2
fi
