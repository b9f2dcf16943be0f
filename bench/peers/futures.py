"""Tutorial concurrent.futures example: ThreadPoolExecutor() (default workers) map."""
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from download import setup_download_dir, get_links, download_link

logging.basicConfig(level=logging.INFO, format='%(asctime)s - %(name)s - %(levelname)s - %(message)s')
logger = logging.getLogger(__name__)


def main():
    client_id = os.getenv('IMGUR_CLIENT_ID')
    if not client_id:
        raise Exception("Couldn't find IMGUR_CLIENT_ID environment variable!")
    download_dir = setup_download_dir()
    links = get_links(client_id)
    with ThreadPoolExecutor() as executor:
        fn = partial(download_link, download_dir)
        # as in the tutorial the results are not consumed, so errors are silent;
        # the bench counts the files instead.
        executor.map(fn, links, timeout=30)


if __name__ == '__main__':
    main()
