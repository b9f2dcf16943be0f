#!/usr/bin/env bash
# Installs the Debian packages imgpipe needs to build, test and benchmark.
# Idempotent; run as root on a fresh Debian machine. Set IMGPIPE_DEPS_QUIET=1 for less output.
set -euo pipefail
pkgs=(
  pkg-config curl python3 valgrind
  libcurl4-openssl-dev libssl-dev libjansson-dev
  libturbojpeg0-dev libspng-dev zlib1g-dev libdeflate-dev
  libwebp-dev liblcms2-dev libgif-dev libavif-dev libheif-dev libvips-tools
  libmicrohttpd-dev libcmocka-dev
  libhiredis-dev redis-server
  clang libclang-rt-14-dev
  groff-base
  openssl nginx-light libnginx-mod-http-echo
  wget2 aria2 python3-aiohttp python3-pil python3-rq time
  chromium prometheus
  python3-botocore nodejs
)
# Test servers from npm (s3rver for the object storage tests), into tests/tools/node,
# a project-local directory that is not committed. Needs no root; runs after the packages.
install_npm() {
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/tools/node"
  [ -x "$here/node_modules/.bin/s3rver" ] && return 0
  command -v npm >/dev/null || { echo "install-deps: npm is missing" >&2; return 1; }
  (cd "$here" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
}
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  install_npm
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or: sudo $0)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_npm
