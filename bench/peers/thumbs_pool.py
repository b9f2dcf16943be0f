"""Tutorial Pillow thumbnails with ProcessPoolExecutor() (one process per CPU) map."""
import logging
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

# the tutorial's folder held only images; imgpipe's also holds its ledger (.imgpipe/)
IMAGE_SUFFIXES = {'.jpg', '.jpeg', '.png'}
from time import time

from PIL import Image

logging.basicConfig(level=logging.INFO, format='%(asctime)s - %(name)s - %(levelname)s - %(message)s')
logger = logging.getLogger(__name__)


def create_thumbnail(size, path):
    path = Path(path)
    name = path.stem + '_thumbnail' + path.suffix
    thumbnail_path = path.with_name(name)
    image = Image.open(path)
    image.thumbnail(size)
    image.save(thumbnail_path)


def main():
    ts = time()
    thumbnail_128 = partial(create_thumbnail, (128, 128))
    with ProcessPoolExecutor() as executor:
        # list(): the directory is listed once, before thumbnails appear in it;
        # consuming the results makes failures visible (the tutorial drops them)
        list(executor.map(thumbnail_128, [p for p in Path(sys.argv[1] if len(sys.argv) > 1 else 'images').iterdir()
         if p.suffix.lower() in IMAGE_SUFFIXES]))
    logging.info('Took %s', time() - ts)


if __name__ == '__main__':
    main()
