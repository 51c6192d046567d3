#!/usr/bin/python3
"""Send the frames of a pcap file out of an interface, in order, a few per
millisecond (run inside the sender's network namespace).

  inject.py PCAP IFACE
"""
import sys
import time

from scapy.all import conf, rdpcap


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    frames = rdpcap(sys.argv[1])
    s = conf.L2socket(iface=sys.argv[2])
    for i, f in enumerate(frames):
        s.send(f)
        if i % 8 == 7:
            time.sleep(0.001)  # stay below the receiver's ring size
    s.close()
    print(len(frames))
    return 0


if __name__ == "__main__":
    sys.exit(main())
