"""Tutorial Pillow thumbnails, sequential: NAME_thumbnail.EXT of each file of the dir
(argv[1], default 'images'), fitting 128x128."""
import logging
import sys
from pathlib import Path

# the tutorial's folder held only images; imgpipe's also holds its ledger (.imgpipe/)
IMAGE_SUFFIXES = {'.jpg', '.jpeg', '.png'}
from time import time

from PIL import Image

logging.basicConfig(level=logging.INFO, format='%(asctime)s - %(name)s - %(levelname)s - %(message)s')
logger = logging.getLogger(__name__)


def create_thumbnail(size, path):
    image = Image.open(path)
    image.thumbnail(size)
    path = Path(path)
    name = path.stem + '_thumbnail' + path.suffix
    thumbnail_path = path.with_name(name)
    image.save(thumbnail_path)


def main():
    ts = time()
    for image_path in [p for p in Path(sys.argv[1] if len(sys.argv) > 1 else 'images').iterdir()
         if p.suffix.lower() in IMAGE_SUFFIXES]:
        create_thumbnail((128, 128), image_path)
    logging.info('Took %s', time() - ts)


if __name__ == '__main__':
    main()
