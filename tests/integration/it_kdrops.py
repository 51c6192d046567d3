#!/usr/bin/python3
"""Integration: losses inside the kernel are counted (rx_kernel_drops).

A net_af_packet port reads a ring that the kernel fills; what does not fit
while the worker is not polling is dropped by the kernel, where no ethdev
counter sees it. Appliance A is paused (its workers stop polling), host A
sends N numbered UDP datagrams to host B (bypass policy: plaintext through
both appliances), A resumes. Then every datagram is accounted for: host B's
socket received it, or a port's rx_kernel_drops (or another of the ports'
own loss counters) counts it. Without the counter the sum falls short.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import HOST, Lab, check, log  # noqa: E402

N = 4000          # datagrams; the rings here hold 512 frames per queue (AFP_FRAMES)
PORT = 5301

SENDER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
sent = 0
for i in range(int(sys.argv[2])):
    try:
        s.sendto(b"KD%08d" % i + b"." * 54, (sys.argv[1], int(sys.argv[3])))
        sent += 1
    except OSError:
        pass
print(sent)
"""

SINK = r"""
import json, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", file=sys.stderr, flush=True)
seen, deadline = set(), time.monotonic() + float(sys.argv[3])
s.settimeout(0.5)
while time.monotonic() < deadline:
    try:
        d = s.recv(2048)
    except socket.timeout:
        continue
    if d.startswith(b"KDEND"):
        break
    if d.startswith(b"KD"):
        seen.add(int(d[2:10]))
print(json.dumps({"received": len(seen)}))
"""

LOSS = ("rx_kernel_drops", "rx_missed", "rx_errors", "rx_nombuf", "tx_errors")


def port_losses(lab):
    """{(app, port): {counter: value}} of both appliances' ports."""
    out = {}
    for app in ("apA", "apB"):
        for name, p in lab.stats(app)["ports"].items():
            out[(app, name)] = {k: p.get(k) for k in LOSS}
    return out


def main():
    with Lab("itkd", policy="bypass", env={"AFP_FRAMES": "512"}) as lab:
        check(lab.ping("A", HOST["B"][4], count=3), "bypass: host A reaches host B (ARP resolved)")
        before = port_losses(lab)
        check(all(v["rx_kernel_drops"] is not None for v in before.values()),
              "every port reports rx_kernel_drops")
        sink = lab.popen("B", [sys.executable, "-c", SINK, HOST["B"][4], str(PORT), "25"])
        check("ready" in sink.stderr.readline(), "host B's sink listens")
        lab.dpctl("apA", "pause")
        sent = int(lab.run("A", [sys.executable, "-c", SENDER, HOST["B"][4], str(N),
                                 str(PORT)]).stdout)
        time.sleep(0.5)
        lab.dpctl("apA", "resume")
        time.sleep(1)   # the ring drains through both appliances first
        end = "import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(" \
              "b'KDEND', (sys.argv[1], int(sys.argv[2])))"
        for _ in range(20):
            if sink.poll() is not None:
                break
            lab.run("A", [sys.executable, "-c", end, HOST["B"][4], str(PORT)])
            time.sleep(0.25)
        out, _ = sink.communicate(timeout=60)
        got = json.loads(out.strip().splitlines()[-1])["received"]
        after = port_losses(lab)
        lost = {k: {c: after[k][c] - before[k][c] for c in LOSS} for k in after}
        kdrops = sum(v["rx_kernel_drops"] for v in lost.values())
        other = sum(v[c] for v in lost.values() for c in LOSS if c != "rx_kernel_drops")
        drops = lab.stats("apA")["dropped"] + lab.stats("apB")["dropped"]
        log(f"sent {sent}, host B received {got}, kernel drops {kdrops} "
            f"({ {f'{a}/{p}': v['rx_kernel_drops'] for (a, p), v in lost.items()} }), "
            f"other port losses {other}, appliance drops {drops}")
        check(sent == N, f"host A sent all {N} datagrams ({sent})")
        check(got < sent, f"the paused appliance's ring overflowed ({got} of {sent} arrived)")
        check(lost[("apA", "inner")]["rx_kernel_drops"] > 0,
              "apA's inner port counted the kernel's drops while it was paused")
        # A few frames of the hosts' own chatter (ARP, IPv6 ND) may be among
        # the kernel's drops; none may be missing from them.
        unaccounted = sent - got - kdrops - other
        check(unaccounted <= 0, f"every datagram that did not arrive is counted: sent {sent} = "
              f"received {got} + kernel drops {kdrops} + other port losses {other} "
              f"({unaccounted} unaccounted)")
        check(-unaccounted <= 16, f"the kernel drops are the datagrams, give or take the hosts' "
              f"chatter ({-unaccounted} more counted than lost)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
