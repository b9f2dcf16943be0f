#!/usr/bin/env bash
# bench/make_corpus.sh OUTDIR [N] [BASE] — the benchmarks' Imgur-like corpus of real photos.
#
# Writes OUTDIR/i/img0000.jpg ... (N images, default 160; every fourth a PNG, the others
# JPEGs of quality 80..92; long side 640..3000 px) and OUTDIR/gallery.json, an Imgur gallery
# API answer listing them as BASE/i/NAME.EXT (default BASE: {{base}}, which `galleryd --dir
# OUTDIR` replaces with its own address), with an album and an animated GIF item among
# every ten, as real answers have, for the client to skip. This is the layout galleryd
# --dir serves and bench/get.sh, thumbs.sh and queue.sh read.
#
# The photos are Debian's desktop wallpapers (mate-backgrounds, gnome-backgrounds,
# ukui-wallpapers), resized with libvips; missing packages are installed with apt-get.
# Past 160 images the first 160 are reused as hard links under new names. Images already
# in OUTDIR/i are kept, so a rerun only adds what is missing. Nothing here is committed:
# the corpus lives wherever OUTDIR is (the benches use /tmp).
set -euo pipefail
out=${1:?usage: bench/make_corpus.sh OUTDIR [N] [BASE]}
n=${2:-160}
base=${3:-'{{base}}'}
distinct=160
[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || { echo "make_corpus.sh: N must be a positive number" >&2; exit 2; }

packages=(mate-backgrounds gnome-backgrounds ukui-wallpapers libvips-tools)
wallpapers=/usr/share/backgrounds
if ! command -v vips >/dev/null || ! command -v vipsheader >/dev/null || [ ! -d "$wallpapers/mate" ]; then
  echo "make_corpus.sh: installing ${packages[*]}" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null; } ||
    { echo "make_corpus.sh: cannot install ${packages[*]}" >&2; exit 1; }
fi

# Photos only: the large files (small ones are logos and patterns), in a fixed order so the
# corpus is the same on every machine with the same packages.
mapfile -t sources < <(find "$wallpapers" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.webp' \) \
  -size +100k | LC_ALL=C sort)
[ "${#sources[@]}" -ge 10 ] || { echo "make_corpus.sh: found ${#sources[@]} wallpapers in $wallpapers" >&2; exit 1; }
sides=(640 800 1024 1200 1280 1600 1920 2048 2560 3000)

mkdir -p "$out/i"
json="$out/gallery.json.tmp"
sep=""
printf '{"data":[' >"$json"
item() { printf '%s%s' "$sep" "$1" >>"$json"; sep=,; }
for ((k = 0; k < n; k++)); do
  name=$(printf 'img%04d' "$k")
  if ((k % 4 == 3)); then ext=png type=image/png; else ext=jpg type=image/jpeg; fi
  file="$out/i/$name.$ext"
  if [ ! -s "$file" ]; then
    if ((k >= distinct)); then
      ln -f "$out/i/$(printf 'img%04d' $((k % distinct))).$ext" "$file"
    else
      src=${sources[$(((k * 11 + k / 7) % ${#sources[@]}))]}
      side=${sides[$(((k * 3) % ${#sides[@]}))]}
      target="$file.tmp.$ext"
      [ "$ext" = jpg ] && target="$target[Q=$((80 + k % 13)),strip]"
      # --size down: a wallpaper smaller than the side keeps its own size.
      vips thumbnail "$src" "$target" "$side" --height "$side" --size down
      mv "$file.tmp.$ext" "$file"
    fi
  fi
  width=$(vipsheader -f width "$file")
  height=$(vipsheader -f height "$file")
  bytes=$(stat -c %s "$file")
  item "{\"id\":\"$name\",\"title\":\"$name\",\"type\":\"$type\",\"animated\":false,\"width\":$width,\"height\":$height,\"size\":$bytes,\"link\":\"$base/i/$name.$ext\"}"
  if ((k % 10 == 5)); then
    item "{\"id\":\"alb$k\",\"title\":\"album\",\"is_album\":true,\"link\":\"$base/a/alb$k\"}"
  elif ((k % 10 == 7)); then
    item "{\"id\":\"gif$k\",\"title\":\"gif\",\"type\":\"image/gif\",\"animated\":true,\"link\":\"$base/i/gif$k.gif\"}"
  fi
done
printf '],"success":true,"status":200}\n' >>"$json"
mv "$json" "$out/gallery.json"
echo "make_corpus.sh: $n images in $out/i ($(du -sh "$out/i" | cut -f1)), gallery.json"
