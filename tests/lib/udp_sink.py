#!/usr/bin/python3
"""Count what arrives on a UDP port, for the lab (run inside a host's namespace).

  udp_sink.py --bind ADDR --port P --end MARKER [--timeout S] [--prefix N]

Prints one JSON object once a datagram starting with MARKER arrives (or at
the timeout): {"received": [first N bytes of each datagram, as text], "end": bool}.
"""
import argparse
import json
import socket
import sys
import time


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--end", required=True)
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--prefix", type=int, default=48)
    a = p.parse_args()
    s = socket.socket(socket.AF_INET6 if ":" in a.bind else socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((a.bind, a.port))
    got, end, deadline = [], False, time.monotonic() + a.timeout
    print("ready", file=sys.stderr, flush=True)
    while not end and time.monotonic() < deadline:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        text = data[:a.prefix].decode("ascii", "replace")
        got.append(text)
        end = data.startswith(a.end.encode())
    print(json.dumps({"received": got, "end": end}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
