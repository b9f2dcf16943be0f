"""Tutorial asyncio example: aiohttp ClientSession, one task per link, 1 KiB reads."""
import asyncio
import logging
import os
from time import time

import aiohttp

from download import setup_download_dir, get_links

logging.basicConfig(level=logging.INFO, format='%(asctime)s - %(name)s - %(levelname)s - %(message)s')
logger = logging.getLogger(__name__)


async def async_download_link(session, directory, link):
    download_path = directory / os.path.basename(link)
    async with session.get(link) as response:
        with download_path.open('wb') as f:
            while True:
                chunk = await response.content.read(1024)
                if not chunk:
                    break
                f.write(chunk)
    logger.info('Downloaded %s', link)


async def main():
    client_id = os.getenv('IMGUR_CLIENT_ID')
    if not client_id:
        raise Exception("Couldn't find IMGUR_CLIENT_ID environment variable!")
    download_dir = setup_download_dir()
    # the tutorial's conn_timeout=3, read_timeout=3, in today's aiohttp spelling
    timeout = aiohttp.ClientTimeout(sock_connect=3, sock_read=3)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        tasks = [(async_download_link(session, download_dir, l)) for l in get_links(client_id)]
        await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == '__main__':
    ts = time()
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    logger.info('Took %s seconds to complete', time() - ts)
