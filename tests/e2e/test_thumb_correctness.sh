# Thumbnails' pixels against a reference (Pillow's Lanczos on the whole source): size,
# colour, orientation, alpha, embedded profiles, and the thin images where a DCT-scaled
# decode is most off. Images are made here with python3-pil (and libvips-tools for a CMYK
# profile); every check is bounded (each run is a second or two).
source "$TESTLIB"
PY=/usr/bin/python3
$PY -c 'import PIL.ImageCms' 2>/dev/null || fail "python3-pil with ImageCms is not installed (scripts/install-deps.sh)"
command -v vips >/dev/null || fail "vips is not installed (scripts/install-deps.sh: libvips-tools)"

# gen.py DIR: the sources. bars: colour bars over a red/blue bottom (asymmetric, so a
# mirror or a turn shows); o<N>.<ext>: bars stored so that EXIF orientation N shows them
# upright.
cat >"$T/gen.py" <<'PY'
import sys
from PIL import Image, ImageDraw
d = sys.argv[1]

def grad(w, h):
    x = Image.linear_gradient('L').rotate(90).resize((w, h), Image.BILINEAR)
    y = Image.linear_gradient('L').resize((w, h), Image.BILINEAR)
    return Image.merge('RGB', (x, y, Image.blend(x, y, 0.5)))

def bars(w, h):
    im = Image.new('RGB', (w, h))
    dr = ImageDraw.Draw(im)
    cols = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0), (255, 0, 255),
            (255, 0, 0), (0, 0, 255), (0, 0, 0)]
    for i, c in enumerate(cols):
        dr.rectangle([i * w // 8, 0, (i + 1) * w // 8, h * 2 // 3], fill=c)
    dr.rectangle([0, h * 2 // 3, w // 2, h], fill=(255, 0, 0))
    dr.rectangle([w // 2, h * 2 // 3, w, h], fill=(0, 0, 255))
    return im

base = bars(600, 400)
base.save(f'{d}/bars.png')
for ss, name in [(0, '444'), (1, '422'), (2, '420')]:
    base.save(f'{d}/bars{name}.jpg', quality=95, subsampling=ss)
grad(640, 480).save(f'{d}/gradprog.jpg', quality=95, progressive=True)
base.convert('L').save(f'{d}/gray.jpg', quality=95)
base.convert('CMYK').save(f'{d}/cmyk.jpg', quality=95)
rgba = base.convert('RGBA')
rgba.putalpha(Image.linear_gradient('L').resize(base.size))
rgba.save(f'{d}/rgba.png')
p = base.convert('P', palette=Image.ADAPTIVE, colors=16)
p.save(f'{d}/pal.png', transparency=0)
gray = base.convert('L')
Image.merge('LA', (gray, Image.linear_gradient('L').resize(base.size))).save(f'{d}/la.png')
gray.save(f'{d}/graykey.png', transparency=0)  # black is transparent (a tRNS colour key)
turn = {2: Image.FLIP_LEFT_RIGHT, 3: Image.ROTATE_180, 4: Image.FLIP_TOP_BOTTOM,
        5: Image.TRANSPOSE, 6: Image.ROTATE_90, 7: Image.TRANSVERSE, 8: Image.ROTATE_270}
for o in range(1, 9):
    stored = base.transpose(turn[o]) if o in turn else base
    ex = Image.Exif()
    ex[0x0112] = o
    stored.save(f'{d}/o{o}.jpg', quality=95, exif=ex.tobytes())
    stored.save(f'{d}/o{o}.png', exif=ex.tobytes())
    stored.save(f'{d}/o{o}.webp', quality=95, exif=ex.tobytes())
# Thin JPEGs: 4:4:4 so that the colour is the decode's, not the chroma's.
grad(1000, 3).save(f'{d}/thin1000x3.jpg', quality=98, subsampling=0)
grad(2000, 9).save(f'{d}/thin2000x9.jpg', quality=98, subsampling=0)
grad(9, 2000).save(f'{d}/thin9x2000.jpg', quality=98, subsampling=0)
PY

# check.py DIR W H FIT BG [NAME=THUMB]...: each THUMB (in DIR) against Pillow's Lanczos
# of NAME made upright, fitted as FIT says (and flattened onto BG when THUMB has no alpha):
# the size exactly, the mean absolute error and each channel's mean shift bounded.
cat >"$T/check.py" <<'PY'
import io, sys
from PIL import Image, ImageChops, ImageCms, ImageOps, ImageStat
d, W, H, fit, bg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
bad = 0
for pair in sys.argv[6:]:
    name, thumb = pair.split('=')
    src = Image.open(f'{d}/{name}')
    icc = src.info.get('icc_profile')
    if src.mode == 'CMYK' and icc:
        prof = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        src = ImageCms.profileToProfile(src, prof, ImageCms.createProfile('sRGB'), outputMode='RGB')
    src = ImageOps.exif_transpose(src)
    alpha = 'A' in src.mode or 'transparency' in src.info
    ref = src.convert('RGBA' if alpha else 'RGB')
    th = Image.open(f'{d}/{thumb}')
    w, h = ref.size
    if fit == 'cover':
        want = (W, H)
        ref = ImageOps.fit(ref, want, Image.LANCZOS)
    else:
        s = min(W / w, H / h, 1.0)
        want = (max(1, round(w * s)), max(1, round(h * s)))
        ref = ref.resize(want, Image.LANCZOS)
    if th.size != want:
        print(f'{thumb}: {th.size[0]}x{th.size[1]}, expected {want[0]}x{want[1]}')
        bad = 1
        continue
    got = th.convert(ref.mode)
    if alpha and not ('A' in th.mode or 'transparency' in th.info):
        flat = Image.new('RGBA', ref.size, bg)
        flat.alpha_composite(ref)
        ref, got = flat.convert('RGB'), th.convert('RGB')
    elif alpha:  # colours under full transparency are anyone's: compare premultiplied
        ref, got = [Image.composite(i, Image.new('RGBA', i.size, 0), i) for i in (ref, got)]
    if ref.mode != got.mode:
        got = got.convert(ref.mode)
    if th.mode == 'L':
        ref, got = ref.convert('L'), got.convert('L')
    diff = ImageStat.Stat(ImageChops.difference(ref, got)).mean
    mae = sum(diff) / len(diff)
    shift = max(abs(a - b) for a, b in zip(ImageStat.Stat(got).mean, ImageStat.Stat(ref).mean))
    lossy = th.format in ('JPEG', 'WEBP')
    limit_mae, limit_shift = (8.0, 3.0) if lossy else (1.0, 1.0)
    if name.startswith('thin'):  # a row or three: JPEG's block padding costs a few levels
        limit_mae, limit_shift = 15.0, 15.0
    if mae > limit_mae or shift > limit_shift:
        print(f'{thumb}: mean error {mae:.2f} (max {limit_mae}), colour shift {shift:.2f} '
              f'(max {limit_shift}) against Pillow')
        bad = 1
sys.exit(bad)
PY

mkdir -p "$T/src"
$PY "$T/gen.py" "$T/src" || fail "python3-pil makes the test images"
# A CMYK JPEG with an embedded CMYK (print) profile: libvips' own.
vips icc_transform "$T/src/bars.png" "$T/src/cmykicc.jpg[Q=95]" cmyk ||
  fail "vips makes a CMYK JPEG with a CMYK profile"
$PY -c 'import sys; from PIL import Image; i = Image.open(sys.argv[1]); sys.exit(not (i.mode == "CMYK" and i.info.get("icc_profile")))' \
  "$T/src/cmykicc.jpg" || fail "the CMYK JPEG carries its profile"

# check W H FIT BG DIR NAME=THUMB...
check() {
  local w=$1 h=$2 fit=$3 bg=$4 dir=$5
  shift 5
  $PY "$T/check.py" "$dir" "$w" "$h" "$fit" "$bg" "$@" >"$T/check.out" ||
    fail "thumbnails differ from Pillow's ($fit ${w}x$h):"$'\n'"$(cat "$T/check.out")"
}

# Default: the source's format, fitted into 128x128.
cp -r "$T/src" "$T/a"
run_imgpipe thumbs -m seq "$T/a"
expect_rc 0 "thumbs of the test images"
pairs=()
for f in bars.png bars444.jpg bars422.jpg bars420.jpg gradprog.jpg gray.jpg cmyk.jpg rgba.png pal.png; do
  pairs+=("$f=${f%.*}_thumbnail.${f##*.}")
done
for o in 1 2 3 4 5 6 7 8; do
  for e in jpg png webp; do pairs+=("o$o.$e=o${o}_thumbnail.$e"); done
done
check 128 128 contain white "$T/a" "${pairs[@]}"
ok "JPEG 4:4:4/4:2:2/4:2:0, progressive, gray, CMYK, RGBA, palette+tRNS, EXIF orientation 1-8 in JPEG, PNG and WebP: as Pillow's"

# The CMYK profile is applied: against the profile's colours, not a naive inversion (which
# is ~20 levels off on these bars).
check 128 128 contain white "$T/a" "cmykicc.jpg=cmykicc_thumbnail.jpg"
ok "a CMYK JPEG's embedded CMYK profile is converted to sRGB"

# A thin JPEG is decoded DCT-scaled with a partial last block: that block weighs only
# what it stands for (it weighed a whole sample: 36 levels off for 1000x3).
check 128 128 contain white "$T/a" thin1000x3.jpg=thin1000x3_thumbnail.jpg \
  thin2000x9.jpg=thin2000x9_thumbnail.jpg thin9x2000.jpg=thin9x2000_thumbnail.jpg
$PY - "$T/a" <<'PY' || fail "a thin JPEG's thumbnail keeps its colour"
import sys
from PIL import Image, ImageStat
d = sys.argv[1]
for name, lim in [('thin2000x9', 4), ('thin9x2000', 4)]:
    src = Image.open(f'{d}/{name}.jpg').convert('RGB')
    th = Image.open(f'{d}/{name}_thumbnail.jpg').convert('RGB')
    ref = src.resize(th.size, Image.LANCZOS)
    shift = max(abs(a - b) for a, b in zip(ImageStat.Stat(th).mean, ImageStat.Stat(ref).mean))
    if shift > lim:
        sys.exit(print(f'{name}: colour shift {shift:.1f} > {lim}'))
PY
ok "thin JPEGs (1000x3, 2000x9, 9x2000): no colour shift from the DCT-scaled decode"

# Alpha flattened for JPEG onto --pad-colour (default white), and --fit cover on turned
# images, in PNG.
cp -r "$T/src" "$T/b"
run_imgpipe thumbs -m seq --format jpeg -t 100x100 "$T/b/rgba.png" "$T/b/pal.png"
expect_rc 0 "thumbs --format jpeg of images with alpha"
check 100 100 contain white "$T/b" rgba.png=rgba_thumbnail.png.jpg pal.png=pal_thumbnail.png.jpg
rm "$T"/b/*_thumbnail*
run_imgpipe thumbs -m seq --format jpeg --pad-colour black -t 100x100 "$T/b/rgba.png"
expect_rc 0 "thumbs --format jpeg --pad-colour black"
check 100 100 contain black "$T/b" rgba.png=rgba_thumbnail.png.jpg
rm "$T"/b/*_thumbnail*
run_imgpipe thumbs -m seq --fit cover --format png -t 50x80 "$T/b/o1.jpg" "$T/b/o6.webp" "$T/b/o7.png"
expect_rc 0 "thumbs --fit cover"
check 50 80 cover white "$T/b" o1.jpg=o1_thumbnail.jpg.png o6.webp=o6_thumbnail.webp.png o7.png=o7_thumbnail.png
ok "alpha onto white or --pad-colour for JPEG; --fit cover of turned images, centred"

# A gray image's alpha flattened onto a colour is in colour: red, not a gray made of its
# red channel (gray+alpha and a gray colour key, as JPEG; white keeps them gray).
rm -f "$T"/b/*_thumbnail*
run_imgpipe thumbs -m seq --format jpeg --pad-colour '#ff0000' -t 100x100 "$T/b/la.png" "$T/b/graykey.png"
expect_rc 0 "thumbs --format jpeg --pad-colour '#ff0000' of gray images with alpha"
check 100 100 contain '#ff0000' "$T/b" la.png=la_thumbnail.png.jpg graykey.png=graykey_thumbnail.png.jpg
for f in la graykey; do
  [ "$("$IMGINFO" "$T/b/${f}_thumbnail.png.jpg" | cut -d' ' -f4)" = 3 ] ||
    fail "$f.png flattened onto red is not in colour: $("$IMGINFO" "$T/b/${f}_thumbnail.png.jpg")"
done
rm -f "$T"/b/*_thumbnail*
run_imgpipe thumbs -m seq --format jpeg -t 100x100 "$T/b/la.png" "$T/b/graykey.png"
expect_rc 0 "thumbs --format jpeg of gray images with alpha"
check 100 100 contain white "$T/b" la.png=la_thumbnail.png.jpg graykey.png=graykey_thumbnail.png.jpg
[ "$("$IMGINFO" "$T/b/la_thumbnail.png.jpg" | cut -d' ' -f4)" = 1 ] || fail "gray+alpha onto white stays gray"
ok "a gray image's alpha flattened onto a colour for JPEG is in that colour"
