#!/usr/bin/python3
"""Send the frames of a pcap file out of an interface, in order, a few per
millisecond (run inside the sender's network namespace).

  inject.py PCAP IFACE [PPS]

PPS: frames per second at most (default 8000).

A raw AF_PACKET socket and the pcap read by hand: no scapy to import, so
that a test can inject many small batches quickly. Prints how many frames
it sent.

It runs on one CPU (the first it may use): a frame sent on a veth waits in
the sending CPU's backlog until the receiver's packet socket takes it, so
on one CPU the frames reach the receiver's ring in the order sent (a test
that waits for its last frame knows the earlier ones are out of the ring).
"""
import os
import socket
import struct
import sys
import time


def frames(path):
    with open(path, "rb") as f:
        head = f.read(24)
        magic = struct.unpack("<I", head[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            end = "<"
        elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
            end = ">"
        else:
            raise SystemExit(f"{path}: not a pcap file")
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            incl = struct.unpack(end + "IIII", rec)[2]
            yield f.read(incl)


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    pps = float(sys.argv[3]) if len(sys.argv) == 4 else 8000.0
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((sys.argv[2], 0))
    n, start = 0, time.monotonic()
    for f in frames(sys.argv[1]):
        s.send(f)
        n += 1
        ahead = n / pps - (time.monotonic() - start)
        if ahead > 0.001:
            time.sleep(ahead)  # stay below what the receiver's ring holds
    s.close()
    print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
