"""Shared helpers of the tutorial's download.py (get_links, download_link,
setup_download_dir), kept as in the tutorial: urllib, Client-ID header, keep only
image/jpeg and image/png items.  Two bench-only changes: the API base comes from
$IMGUR_API_URL (default https://api.imgur.com) and the download directory from
argv[1] (default 'images'); album items are expanded from their images[] if present."""
import json
import logging
import os
import sys
from pathlib import Path
from urllib.request import urlopen, Request

logger = logging.getLogger(__name__)
types = {'image/jpeg', 'image/png'}


def get_links(client_id):
    headers = {'Authorization': 'Client-ID {}'.format(client_id)}
    base = os.getenv('IMGUR_API_URL', 'https://api.imgur.com').rstrip('/')
    req = Request(base + '/3/gallery/random/random/', headers=headers, method='GET')
    with urlopen(req) as resp:
        data = json.loads(resp.read().decode('utf-8'))
    links = []
    for item in data['data']:
        for it in item.get('images') or [item]:
            if 'type' in it and it['type'] in types:
                links.append(it['link'])
    return links


def download_link(directory, link):
    download_path = directory / os.path.basename(link)
    with urlopen(link) as image, download_path.open('wb') as f:
        f.write(image.read())
    logger.info('Downloaded %s', link)


def setup_download_dir():
    download_dir = Path(sys.argv[1] if len(sys.argv) > 1 else 'images')
    if not download_dir.exists():
        download_dir.mkdir()
    return download_dir
