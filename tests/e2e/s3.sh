# Sourced by the object storage tests after lib.sh: s3rver (npm, installed by
# scripts/install-deps.sh into tests/tools/node) on a free loopback port, behind
# tests/tools/s3verify.py, which checks every request's SigV4 signature with botocore and
# its checksums before s3rver sees it (s3rver itself accepts any signature).
S3_TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)"
S3RVER="$S3_TOOLS/node/node_modules/.bin/s3rver"
[ -x "$S3RVER" ] || fail "s3rver is not installed: run scripts/install-deps.sh (npm install in tests/tools/node)"
python3 -c 'import botocore' 2>/dev/null || fail "python3-botocore is not installed (scripts/install-deps.sh)"

declare -F free_port >/dev/null || free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The credentials imgpipe signs with; s3rver wants this key id, the proxy checks the secret.
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=imgpipe-e2e-secret AWS_REGION=us-east-1
unset AWS_ENDPOINT_URL AWS_DEFAULT_REGION AWS_SESSION_TOKEN AWS_PROFILE

# wait_line FILE PATTERN PID WHAT: waits (30 s: node under a loaded sanitizer stage) for
# a line in FILE; echoes its last field.
wait_line() {
  local i
  for i in $(seq 1 300); do
    if grep -q "$2" "$1" 2>/dev/null; then grep -m1 "$2" "$1" | awk '{print $NF}'; return 0; fi
    kill -0 "$3" 2>/dev/null || fail "$4 exited at start: $(tail -5 "$1")"
    sleep 0.1
  done
  fail "$4 did not start within 30 s: $(tail -5 "$1")"
}

# start_s3 BUCKET [s3verify options]: sets S3_UPSTREAM (s3rver), IMGPIPE_S3_ENDPOINT (the
# verifying proxy, what imgpipe talks to) and S3_LOG (the proxy's log: one line a request).
start_s3() {
  local bucket=$1
  shift
  mkdir -p "$T/s3data"
  "$S3RVER" --directory "$T/s3data" --port 0 --address 127.0.0.1 --silent \
    --configure-bucket "$bucket" >"$T/s3rver.log" 2>&1 &
  S3PID=$!
  BG_PIDS+=("$S3PID")
  local addr
  addr=$(wait_line "$T/s3rver.log" "S3rver listening on" "$S3PID" s3rver)
  S3_UPSTREAM=$addr
  start_s3verify "$@"
}

# start_s3verify [options]: (another) verifying proxy in front of S3_UPSTREAM.
start_s3verify() {
  S3_LOG="$T/s3verify.$RANDOM.log"
  python3 "$S3_TOOLS/s3verify.py" --upstream "$S3_UPSTREAM" --key S3RVER \
    --secret "$AWS_SECRET_ACCESS_KEY" "$@" >"$S3_LOG" 2>&1 &
  S3VPID=$!
  BG_PIDS+=("$S3VPID")
  local addr
  addr=$(wait_line "$S3_LOG" "s3verify listening on" "$S3VPID" s3verify)
  export IMGPIPE_S3_ENDPOINT="http://$addr"
}

# s3_cli CMD ARGS: the bucket seen directly through botocore, not through imgpipe:
#   list BUCKET [PREFIX]  -> one "key<TAB>size<TAB>sha256<TAB>meta-url" line per object
#   put BUCKET KEY FILE URL -> an object of another writer (its x-amz-meta-imgpipe-url)
s3_cli() {
  python3 - "$S3_UPSTREAM" "$@" <<'PY'
import hashlib, sys
import botocore.session
from botocore.config import Config
up, cmd, bucket = sys.argv[1], sys.argv[2], sys.argv[3]
prefix = sys.argv[4] if len(sys.argv) > 4 else ""
c = botocore.session.get_session().create_client(
    "s3", endpoint_url="http://" + up, region_name="us-east-1",
    aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER",
    config=Config(s3={"addressing_style": "path"}))
if cmd == "put":
    with open(sys.argv[5], "rb") as f:
        c.put_object(Bucket=bucket, Key=prefix, Body=f.read(), Metadata={"imgpipe-url": sys.argv[6]})
    sys.exit(0)
token = None
while True:
    kw = {"Bucket": bucket, "Prefix": prefix}
    if token:
        kw["ContinuationToken"] = token
    page = c.list_objects_v2(**kw)
    for o in page.get("Contents", []):
        obj = c.get_object(Bucket=bucket, Key=o["Key"])
        body = obj["Body"].read()
        url = obj.get("Metadata", {}).get("imgpipe-url", "")
        print("%s\t%d\t%s\t%s" % (o["Key"], len(body), hashlib.sha256(body).hexdigest(), url))
    if not page.get("IsTruncated"):
        break
    token = page["NextContinuationToken"]
PY
}

# s3_refusals: how many requests the proxy refused (a bad signature or checksum).
s3_refusals() {
  grep -c '^REFUSED' "$S3_LOG" || true
}

# s3_put_count: PUTs the proxy passed on so far.
s3_put_count() {
  grep -c '^ok PUT' "$S3_LOG" || true
}

# image_requests: requests galleryd (started with --log) answered for images.
image_requests() {
  grep -c ' /[ix]/' "$T/galleryd.log" || true
}
