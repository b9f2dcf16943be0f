#!/usr/bin/python3
"""Pillow peer for bench/thumbs.sh: Image.thumbnail((W, H)) of each file (its defaults:
BICUBIC with reducing_gap 2.0, i.e. JPEG draft-mode DCT scaling), saved in the source's
format (JPEG at quality 85) into OUTDIR. Sequential, or one ProcessPoolExecutor task per file.

usage: pil_thumbs.py seq|pool[:N] WxH OUTDIR FILE...   prints "made N thumbnails in S s"
"""
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from PIL import Image

BOX = (128, 128)
OUT = "."


def init(box, out):
    global BOX, OUT
    BOX, OUT = box, out


def one(path):
    with Image.open(path) as im:
        fmt = im.format
        im.thumbnail(BOX)
        name = os.path.join(OUT, os.path.basename(path))
        if fmt == "JPEG":
            im.save(name, "JPEG", quality=85)
        else:
            im.save(name, fmt)
    return 1


def main():
    mode, size, out, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    box = tuple(int(v) for v in size.split("x"))
    init(box, out)
    t0 = time.monotonic()
    if mode == "seq":
        n = sum(one(f) for f in files)
    else:
        workers = int(mode.split(":")[1]) if ":" in mode else os.cpu_count()
        with ProcessPoolExecutor(workers, initializer=init, initargs=(box, out)) as ex:
            n = sum(ex.map(one, files, chunksize=4))
    print(f"made {n} thumbnails in {time.monotonic() - t0:.4f} s")


if __name__ == "__main__":
    main()
