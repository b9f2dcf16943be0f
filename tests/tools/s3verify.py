#!/usr/bin/env python3
"""A proxy in front of a test S3 server (s3rver) that checks what s3rver does not.

s3rver answers any signature with 200, so every request is verified here first: the
AWS Signature V4 is recomputed with botocore's own signer (the AWS SDK's) from the
request as received, and the body against its x-amz-content-sha256, Content-MD5 and
x-amz-checksum-sha256. A mismatch is refused as S3 would (403 SignatureDoesNotMatch,
403 InvalidAccessKeyId, 400 BadDigest) and never reaches s3rver. Each request logs one
line on stdout: "ok METHOD PATH", "REFUSED METHOD PATH: why" or "THROTTLED METHOD PATH".

  s3verify.py --upstream 127.0.0.1:PORT --key ID --secret SECRET [--region R]
              [--throttle N] [--fail-once-each] [--drop-every N] [--hang-puts N]

--throttle N answers 503 SlowDown to every Nth PUT; --fail-once-each answers 503 to the
first PUT of every key; --drop-every N closes the connection instead of answering every
Nth PUT (a connection reset); --hang-puts N passes the first N PUTs on (the object is
stored) and then answers nothing for 120 s, as a service that hangs before its answer.
Prints "s3verify listening on 127.0.0.1:PORT" when ready.
"""
import argparse
import base64
import hashlib
import http.client
import http.server
import re
import sys
import threading
import time

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, ?"
    r"SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$")
HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "te",
       "upgrade"}


def error_xml(code, message):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
            "<Message>%s</Message></Error>" % (code, message)).encode()


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.puts = 0
        self.hung = 0
        self.seen = set()


def expected_signature(args, method, path, headers, signed, amz_date):
    """botocore's signature for the request as received, signing exactly `signed`."""
    creds = Credentials(args.key, args.secret)
    signer = S3SigV4Auth(creds, "s3", args.region)
    wanted = {k.lower(): v for k, v in headers.items() if k.lower() in signed}
    req = AWSRequest(method=method, url="http://%s%s" % (headers.get("Host"), path),
                     headers=wanted)
    req.context["timestamp"] = amz_date
    canonical = signer.canonical_request(req)
    to_sign = signer.string_to_sign(req, canonical)
    return signer.signature(to_sign, req), signer.signed_headers(signer.headers_to_sign(req))


def check(args, method, path, headers, body):
    """None when the request is genuine, else (status, code, why)."""
    m = AUTH_RE.match(headers.get("Authorization", ""))
    if not m:
        return 403, "AccessDenied", "no SigV4 Authorization header"
    key, date, region, signed, sig = m.groups()
    if key != args.key:
        return 403, "InvalidAccessKeyId", "unknown access key"
    amz_date = headers.get("X-Amz-Date", "")
    if region != args.region or not amz_date.startswith(date):
        return 403, "SignatureDoesNotMatch", "credential scope %s/%s" % (date, region)
    names = signed.split(";")
    for must in ("host", "x-amz-date", "x-amz-content-sha256"):
        if must not in names:
            return 403, "AccessDenied", "%s is not signed" % must
    want, listed = expected_signature(args, method, path, headers, set(names), amz_date)
    if listed != signed:
        return 403, "SignatureDoesNotMatch", "signed headers %s, recomputed %s" % (signed, listed)
    if want != sig:
        return 403, "SignatureDoesNotMatch", "signature differs from botocore's"
    sha = hashlib.sha256(body).hexdigest()
    if headers.get("x-amz-content-sha256") != sha:
        return 400, "XAmzContentSHA256Mismatch", "x-amz-content-sha256 is not the body's"
    if method == "PUT":
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        sha_b64 = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if headers.get("Content-MD5") != md5:
            return 400, "BadDigest", "Content-MD5 missing or not the body's"
        if headers.get("x-amz-checksum-sha256") != sha_b64:
            return 400, "BadDigest", "x-amz-checksum-sha256 missing or not the body's"
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, fmt, *a):
        pass

    def note(self, text):
        with self.state.lock:
            print(text, flush=True)

    def answer(self, status, headers, body):
        self.send_response(status)
        length = str(len(body))
        for k, v in headers:
            if k.lower() == "content-length" and self.command == "HEAD":
                length = v  # the object's size, as upstream said
            elif k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def fault(self, path):
        """A fault the options ask for on this PUT: 'throttle', 'drop' or None."""
        a, st = self.state.args, self.state
        with st.lock:
            st.puts += 1
            if a.fail_once_each and path not in st.seen:
                st.seen.add(path)
                return "throttle"
            if a.throttle and st.puts % a.throttle == 0:
                return "throttle"
            if a.drop_every and st.puts % a.drop_every == 0:
                return "drop"
        return None

    def hang(self):
        """True for the first --hang-puts PUTs."""
        st = self.state
        with st.lock:
            st.hung += 1
            return st.hung <= st.args.hang_puts

    def forward(self, body):
        host, port = self.state.args.upstream.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        conn.request(self.command, self.path, body=body if body else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, resp.getheaders(), data

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        what = "%s %s" % (self.command, self.path)
        bad = check(self.state.args, self.command, self.path, self.headers, body)
        if bad:
            self.note("REFUSED %s: %s" % (what, bad[2]))
            return self.answer(bad[0], [("Content-Type", "application/xml")],
                               error_xml(bad[1], bad[2]))
        fault = self.fault(self.path) if self.command == "PUT" else None
        if fault == "drop":
            self.note("DROPPED %s" % what)
            self.close_connection = True
            return
        if fault == "throttle":
            self.note("THROTTLED %s" % what)
            return self.answer(503, [("Content-Type", "application/xml")],
                               error_xml("SlowDown", "Please reduce your request rate."))
        status, headers, data = self.forward(body)
        if self.command == "PUT" and self.hang():
            self.note("HUNG %s %d" % (what, status))
            time.sleep(120)
            self.close_connection = True
            return
        self.note("ok %s %d" % (what, status))
        self.answer(status, headers, data)

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = handle_any


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--throttle", type=int, default=0)
    p.add_argument("--fail-once-each", action="store_true")
    p.add_argument("--drop-every", type=int, default=0)
    p.add_argument("--hang-puts", type=int, default=0)
    args = p.parse_args()
    Handler.state = State(args)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    print("s3verify listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
