#!/usr/bin/python3
"""TCP transfer with a SHA-256 on both ends, for the lab.

  xfer.py recv --bind ADDR --port P [--timeout S] [--rcvbuf BYTES]
      accept one connection, read to EOF, print {"bytes": N, "sha256": H};
      --rcvbuf: SO_RCVBUF of the connection (set before listen, so the
      window never exceeds what the kernel makes of it: twice BYTES)
  xfer.py send --to ADDR --port P --bytes N [--marker TEXT] [--rate-mbps R]
      send N bytes (pseudo-random 1 MiB blocks, each starting with the
      marker), print {"bytes": N, "sha256": H}

Bounded: every socket operation times out; nothing runs forever.
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import time

BLOCK = 1 << 20


def recv(a):
    fam = socket.AF_INET6 if ":" in a.bind else socket.AF_INET
    srv = socket.socket(fam, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.rcvbuf:  # inherited by the accepted socket; no autotuning past it
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    srv.bind((a.bind, a.port))
    srv.listen(1)
    srv.settimeout(a.timeout)
    conn, _ = srv.accept()
    conn.settimeout(a.timeout)
    h = hashlib.sha256()
    n = 0
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    try:
        while True:
            k = conn.recv_into(view)
            if k == 0:
                break
            h.update(view[:k])
            n += k
    except (socket.timeout, ConnectionError) as e:
        print(json.dumps({"bytes": n, "sha256": h.hexdigest(), "error": str(e)}))
        return 1
    print(json.dumps({"bytes": n, "sha256": h.hexdigest()}))
    return 0


def send(a):
    fam = socket.AF_INET6 if ":" in a.to else socket.AF_INET
    base = bytearray(os.urandom(BLOCK))
    marker = a.marker.encode()
    base[: len(marker)] = marker
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    deadline = time.monotonic() + a.timeout
    while True:
        try:
            s.connect((a.to, a.port))
            break
        except (ConnectionRefusedError, socket.timeout, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            s.close()
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(a.timeout)
    h = hashlib.sha256()
    left, i = a.bytes, 0
    start = time.monotonic()
    try:
        while left > 0:
            blk = base
            blk[len(marker): len(marker) + 8] = i.to_bytes(8, "big")
            chunk = memoryview(blk)[: min(left, BLOCK)]
            s.sendall(chunk)
            h.update(chunk)
            left -= len(chunk)
            i += 1
            if a.rate_mbps:
                ahead = (a.bytes - left) * 8 / (a.rate_mbps * 1e6) - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(a.timeout)
        s.recv(1)  # wait for the receiver to close: all data consumed
    except (socket.timeout, ConnectionError, BrokenPipeError) as e:
        print(json.dumps({"bytes": a.bytes - left, "sha256": h.hexdigest(), "error": str(e)}))
        return 1
    secs = time.monotonic() - start
    print(json.dumps({"bytes": a.bytes, "sha256": h.hexdigest(), "seconds": round(secs, 3)}))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--bind", required=True)
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--timeout", type=float, default=30)
    r.add_argument("--rcvbuf", type=int, default=0)
    s = sub.add_parser("send")
    s.add_argument("--to", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--bytes", type=int, required=True)
    s.add_argument("--marker", default="MIGSEC-PLAINTEXT-MARKER")
    s.add_argument("--rate-mbps", type=float, default=0)
    s.add_argument("--timeout", type=float, default=30)
    a = p.parse_args()
    return recv(a) if a.cmd == "recv" else send(a)


if __name__ == "__main__":
    sys.exit(main())
