#!/usr/bin/env python3
"""A Redis impostor for the queue tests: it speaks RESP well enough for imgpipe to connect
and beat, then misbehaves in one of two ways.

  --mode shapes  answers the reads (XREADGROUP, the claim script, XPENDING, XRANGE,
                 XREVRANGE, SMEMBERS, HGETALL, TIME, EXEC) with replies of the wrong shape,
                 a different one each time: a client that indexes before it checks reads
                 out of bounds.
  --mode hangup  answers XREADGROUP with nil, then closes the socket (FIN, then RST): the
                 client's next write gets EPIPE, which kills a process that does not ignore
                 SIGPIPE.

Usage: fake_redis.py --mode MODE --port-file FILE (the port it listens on is written there).
"""
import argparse
import itertools
import os
import socket
import socketserver
import struct
import threading

# Replies of the wrong shape for each read, in turn.
BAD = {
    "XREADGROUP": [
        b"*1\r\n*1\r\n$3\r\nstr\r\n",                      # [[stream]]: no entries
        b"*1\r\n*2\r\n$3\r\nstr\r\n*1\r\n*1\r\n$3\r\n1-0\r\n",  # an entry without fields
        b"*1\r\n*2\r\n$3\r\nstr\r\n:7\r\n",                 # entries an integer
        b"*1\r\n*2\r\n$3\r\nstr\r\n*1\r\n*2\r\n:1\r\n*1\r\n:2\r\n",  # id an integer
        b":1\r\n",
        b"*0\r\n",
    ],
    "EVAL_CLAIM": [
        b"*1\r\n*1\r\n$3\r\n1-0\r\n",                       # no fields, no count
        b"*1\r\n*3\r\n$3\r\n1-0\r\n*2\r\n$3\r\nurl\r\n$1\r\nx\r\n$1\r\n2\r\n",  # count a string
        b"$2\r\nno\r\n",
    ],
    "XPENDING": [
        b"*4\r\n$1\r\n1\r\n$-1\r\n$-1\r\n*1\r\n*1\r\n$1\r\nw\r\n",
        b"*1\r\n*2\r\n$3\r\n1-0\r\n$1\r\nw\r\n",            # an extended entry cut short
        b"*2\r\n:1\r\n:2\r\n",
    ],
    "XRANGE": [b"*1\r\n*1\r\n$3\r\n1-0\r\n", b"*1\r\n:5\r\n"],
    "XREVRANGE": [b"*1\r\n*1\r\n$3\r\n1-0\r\n", b"*2\r\n:1\r\n$1\r\nx\r\n"],
    "SMEMBERS": [b"*2\r\n:5\r\n*0\r\n"],
    "HGETALL": [b"*3\r\n$4\r\nbeat\r\n:1\r\n$4\r\nhost\r\n"],
    "TIME": [b"*2\r\n:1\r\n:2\r\n", b"*1\r\n$1\r\n1\r\n"],
    "EXEC": [b"*0\r\n", b"$1\r\nx\r\n"],
}


def read_command(f):
    """One command as sent by hiredis: an array of bulk strings; None at EOF."""
    line = f.readline()
    if not line:
        return None
    if not line.startswith(b"*"):
        return [line.strip()]
    args = []
    for _ in range(int(line[1:])):
        size = int(f.readline()[1:])
        args.append(f.read(size + 2)[:-2])
    return args


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        mode, bad = self.server.mode, self.server.bad
        while True:
            args = read_command(self.rfile)
            if args is None:
                return
            name = args[0].upper().decode()
            if name == "EVAL":
                script = args[1]
                if b"XCLAIM" in script:
                    name = "EVAL_CLAIM"
                elif b"HSET" in script:
                    self.wfile.write(b":1\r\n")  # the heartbeat, and the name is ours
                    continue
            if mode == "hangup" and name == "XREADGROUP":
                self.wfile.write(b"*-1\r\n")
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                return
            if mode == "shapes" and name in bad:
                self.wfile.write(next(bad[name]))
            elif name in ("XLEN", "EXISTS", "SADD", "SREM", "DEL", "HINCRBY", "XACK", "XDEL"):
                self.wfile.write(b":0\r\n")
            elif name in ("XREADGROUP",):
                self.wfile.write(b"*-1\r\n")
            elif name == "EVAL_CLAIM":
                self.wfile.write(b"*0\r\n")
            elif name in ("XPENDING",):
                self.wfile.write(b"*4\r\n:0\r\n$-1\r\n$-1\r\n*-1\r\n")
            elif name == "TIME":
                self.wfile.write(b"*2\r\n$10\r\n1700000000\r\n$1\r\n0\r\n")
            elif name in ("SMEMBERS", "XRANGE", "XREVRANGE", "HGETALL", "EXEC"):
                self.wfile.write(b"*0\r\n")
            elif name == "PING":
                self.wfile.write(b"+PONG\r\n")
            else:  # AUTH, SELECT, XGROUP, MULTI ... : fine
                self.wfile.write(b"+OK\r\n")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["shapes", "hangup"], required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.mode = a.mode
    srv.bad = {k: itertools.cycle(v) for k, v in BAD.items()}  # shared: each reply differs
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
