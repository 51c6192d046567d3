#!/usr/bin/python3
"""Steady UDP flows for the lab (run inside a host's namespace).

  udp_flows.py send --to ADDR --base-port P --flows N --pps R --seconds S
      datagrams of 64 bytes to ports P .. P+N-1 in turn, R a second; prints
      {"sent": total, "per_flow": {port: count}, "refused": n} when S have
      passed or on SIGTERM (refused: sendto failed, nothing left the host)
  udp_flows.py recv --bind ADDR --base-port P --flows N --seconds S
      listen on those ports (so that the host answers no ICMP), count,
      and print {"received": {port: count}} when S have passed or on SIGTERM
"""
import argparse
import json
import select
import signal
import socket
import sys
import time


def send(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = b"migsec-soak".ljust(64, b".")
    per_flow = {a.base_port + k: 0 for k in range(a.flows)}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    start, n, refused = time.monotonic(), 0, 0
    while not stop and time.monotonic() - start < a.seconds:
        port = a.base_port + n % a.flows
        try:
            s.sendto(payload, (a.to, port))
            per_flow[port] += 1
        except OSError:
            refused += 1  # no route or buffer full for a moment: the next one
        n += 1
        ahead = n / a.pps - (time.monotonic() - start)
        if ahead > 0 and not stop:
            time.sleep(ahead)
    print(json.dumps({"sent": sum(per_flow.values()), "per_flow": per_flow,
                      "refused": refused}), flush=True)
    return 0


def recv(a):
    socks = {}
    for k in range(a.flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.bind, a.base_port + k))
        socks[s.fileno()] = (s, a.base_port + k)
    counts = {port: 0 for _, port in socks.values()}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    deadline = time.monotonic() + a.seconds
    while not stop and time.monotonic() < deadline:
        try:
            ready, _, _ = select.select(list(socks), [], [], 0.5)
        except InterruptedError:
            continue
        for fd in ready:
            s, port = socks[fd]
            s.recv(2048)
            counts[port] += 1
    print(json.dumps({"received": counts}), flush=True)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--to", required=True)
    s.add_argument("--pps", type=float, required=True)
    r = sub.add_parser("recv")
    r.add_argument("--bind", required=True)
    for x in (s, r):
        x.add_argument("--base-port", type=int, required=True)
        x.add_argument("--flows", type=int, required=True)
        x.add_argument("--seconds", type=float, required=True)
    a = p.parse_args()
    return send(a) if a.cmd == "send" else recv(a)


if __name__ == "__main__":
    sys.exit(main())
