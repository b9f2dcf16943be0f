#!/usr/bin/env python3
"""A hostile HTTP/1.1 server for imgpipe's tests: raw sockets, so it can send what a
well-behaved framework never would. Stdlib only.

usage: hostile_http.py PORTFILE LOGFILE   (binds two ports on 127.0.0.1 and writes them to
PORTFILE, "P1 P2", atomically)

Every request is logged to LOGFILE as one JSON object a line: port, method, path, headers.
Routes (query parameters after '?'):
  /img/NAME                 a 40x30 PNG
  /redir?code=C&to=URL      answers C (default 302) with Location: URL, as given
  /chain/N                  302 to /chain/N-1, /chain/0 is the image
  /status?code=C&n=K&ra=V   the first K requests of this full path get C (default 503),
                            with Retry-After: V when given; then the image
  /clmore                   Content-Length 1000 more than the body, then close
  /clless                   Content-Length 10 less than the body (the rest is extra)
  /badchunk                 chunked, with a chunk size that is not hex
  /cutchunk                 chunked, closed amid a chunk
  /gzip                     the image gzip-compressed, Content-Encoding: gzip
  /gzipbomb                 64 MiB of zeros after the image, gzip-compressed (about 64 KB)
  /endless                  the image, then zeros forever, no Content-Length
  /endlesscl                Content-Length 200 MiB, the image, then zeros forever
  /drip                     the image at 1 byte per second
  /http09                   the image with no status line nor headers (HTTP/0.9)
  /empty                    200, Content-Length: 0
  /nocontent                204
  /html                     200 text/html, an error page
  /errbody?code=C&cl=N      C (default 503) with an endless text/html body, with
                            Content-Length N when given
"""
import gzip
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
import zlib


def png(w=40, h=30):
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\0" + bytes([200, 10, 10]) * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


IMG = png()
counts = {}
lock = threading.Lock()
log = None


def head(status, extra=(), length=None, reason="X"):
    lines = ["HTTP/1.1 %d %s" % (status, reason)]
    lines += list(extra)
    if length is not None:
        lines.append("Content-Length: %d" % length)
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def image(conn, extra=()):
    conn.sendall(head(200, ["Content-Type: image/png"] + list(extra), len(IMG)) + IMG)


def handle(conn, port):
    data = b""
    while b"\r\n\r\n" not in data:
        got = conn.recv(65536)
        if not got:
            return
        data += got
    text = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    first, *hdr_lines = text.split("\r\n")
    method, target, _ = first.split(" ", 2)
    headers = {}
    for line in hdr_lines:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    with lock:
        log.write(json.dumps({"port": port, "method": method, "path": target,
                              "headers": headers}) + "\n")
        log.flush()
        counts[target] = counts.get(target, 0) + 1
        n_seen = counts[target]
    u = urllib.parse.urlsplit(target)
    q = dict(urllib.parse.parse_qsl(u.query))
    p = u.path
    if p.startswith("/img/"):
        image(conn)
    elif p == "/redir":
        conn.sendall(head(int(q.get("code", 302)), ["Location: " + q.get("to", "/")], 0))
    elif p.startswith("/chain/"):
        n = int(p.split("/")[2])
        if n == 0:
            image(conn)
        else:
            conn.sendall(head(302, ["Location: /chain/%d" % (n - 1)], 0))
    elif p == "/status":
        if n_seen <= int(q.get("n", 1)):
            extra = ["Retry-After: " + q["ra"]] if "ra" in q else []
            conn.sendall(head(int(q.get("code", 503)), extra, 0))
        else:
            image(conn)
    elif p == "/clmore":
        conn.sendall(head(200, ["Content-Type: image/png"], len(IMG) + 1000) + IMG)
    elif p == "/clless":
        conn.sendall(head(200, ["Content-Type: image/png"], len(IMG) - 10) + IMG)
    elif p == "/badchunk":
        conn.sendall(head(200, ["Transfer-Encoding: chunked"]) + b"%x\r\n" % 20 + IMG[:20]
                     + b"\r\nzz\r\n" + IMG[20:] + b"\r\n0\r\n\r\n")
    elif p == "/cutchunk":
        conn.sendall(head(200, ["Transfer-Encoding: chunked"]) + b"%x\r\n" % len(IMG) + IMG[:30])
    elif p in ("/gzip", "/gzipbomb"):
        z = gzip.compress(IMG + (b"\0" * (64 << 20) if p == "/gzipbomb" else b""), 1)
        conn.sendall(head(200, ["Content-Type: image/png", "Content-Encoding: gzip"], len(z)) + z)
    elif p in ("/endless", "/endlesscl"):
        conn.sendall(head(200, ["Content-Type: image/png"],
                          200 << 20 if p == "/endlesscl" else None) + IMG)
        zeros = b"\0" * 65536
        try:
            while True:
                conn.sendall(zeros)
        except OSError:
            pass
    elif p == "/drip":
        conn.sendall(head(200, ["Content-Type: image/png"], len(IMG)))
        for b in IMG:
            conn.sendall(bytes([b]))
            time.sleep(1)
    elif p == "/errbody":
        code = int(q.get("code", 503))
        conn.sendall(head(code, ["Content-Type: text/html"],
                          int(q["cl"]) if "cl" in q else None))
        zeros = b"<p>busy</p>" * 6000
        try:
            while True:
                conn.sendall(zeros)
        except OSError:
            pass
    elif p == "/http09":
        conn.sendall(IMG)
    elif p == "/empty":
        conn.sendall(head(200, ["Content-Type: image/png"], 0))
    elif p == "/nocontent":
        conn.sendall(head(204, []))
    elif p == "/html":
        body = b"<html><body>Not found</body></html>"
        conn.sendall(head(200, ["Content-Type: text/html"], len(body)) + body)
    else:
        conn.sendall(head(404, [], 0))


def serve(sock, port):
    while True:
        conn, _ = sock.accept()

        def run(c=conn):
            try:
                handle(c, port)
            except OSError:
                pass
            finally:
                try:
                    c.close()
                except OSError:
                    pass
        threading.Thread(target=run, daemon=True).start()


def main():
    global log
    log = open(sys.argv[2], "a")
    ports = []
    socks = []
    for _ in range(2):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(128)
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s, p in zip(socks, ports):
        threading.Thread(target=serve, args=(s, p), daemon=True).start()
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d %d\n" % tuple(ports))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
