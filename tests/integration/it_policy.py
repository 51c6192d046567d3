#!/usr/bin/python3
"""Integration: the default policy for traffic that matches no SA.

discard: hosts cannot talk until a migration's SAs are installed; the
drops are counted as no_policy and nothing crosses the outer link.
bypass: unmatched traffic crosses in plaintext (counted as bypass), traffic
an SA covers is still sealed, and plaintext arriving for an inbound SA is
dropped as plaintext_for_sa.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import (HOST, OUTER, PY, TOP, Lab, check, log, verify_esp_capture,  # noqa: E402
                        wait_for)

from scapy.all import ICMP, IP, UDP, Ether, Raw, rdpcap, wrpcap  # noqa: E402


def discard():
    with Lab("it3d", policy="discard") as lab:
        with lab.capture("apB", count=50, seconds=8) as cap:
            ok = lab.ping("A", HOST["B"][4], count=3, check=False)
        check(not ok, "discard: without SAs host A cannot reach host B")
        st = lab.stats("apA")
        check(st["drops"]["no_policy"] >= 3, f"discard: echo requests counted as no_policy "
              f"({st['drops']['no_policy']})")
        ip_frames = [p for p in rdpcap(cap.path) if IP in p]
        cap.remove()
        check(not ip_frames, f"discard: no IP packet crossed the outer link ({len(ip_frames)})")
        lab.install_pair(inner=4, outer=4)
        check(lab.ping("A", HOST["B"][4], count=3), "discard: with SAs installed the ping works")


def bypass():
    with Lab("it3b", policy="bypass") as lab:
        with lab.capture("apB", count=50, seconds=8) as cap:
            check(lab.ping("A", HOST["B"][4], count=3), "bypass: without SAs the ping works")
        plain = [p for p in rdpcap(cap.path) if ICMP in p and p[IP].src == HOST["A"][4]]
        cap.remove()
        check(len(plain) >= 3, f"bypass: the echo requests crossed in plaintext ({len(plain)})")
        check(lab.stats("apA")["bypass_pkts"] >= 3, "bypass: counted as bypass_pkts")
        sas = lab.install_pair(inner=4, outer=4)
        marker = "MIGSEC-BYPASS-MARKER"
        with lab.capture("apB", count=400, seconds=20) as cap:
            sent, got = lab.transfer(4 << 20, family=4, marker=marker)
        check(got.get("sha256") == sent.get("sha256"), "bypass: 4 MiB over the SAs arrived intact")
        pairs = {(HOST["A"][4], HOST["B"][4]), (HOST["B"][4], HOST["A"][4])}
        res = verify_esp_capture(cap.path, sas, pairs, marker)
        cap.remove()
        check(not res["bad"] and res["marker_on_wire"] == 0,
              f"bypass: traffic an SA covers is still sealed ({res['esp']} ESP frames)")
        check(lab.ping("A", HOST["B"][6], count=3), "bypass: IPv6 (no SA) still passes in plaintext")
        # Plaintext that B's inbound SA covers, arriving from the outer link.
        b_mac = lab.port_mac("apB", "outer")
        frames = [Ether(dst=b_mac) / IP(src=HOST["A"][4], dst=HOST["B"][4]) / ICMP() /
                  Raw(b"PLAINTEXT-FOR-SA") for _ in range(5)]
        pcap = f"/tmp/it3b-{os.getpid()}.pcap"
        wrpcap(pcap, frames)
        before = lab.stats("apB")["drops"]["plaintext_for_sa"]
        lab.run("apA", [PY, os.path.join(TOP, "tests", "lib", "inject.py"), pcap, "outer"])
        os.unlink(pcap)
        wait_for(lambda: lab.stats("apB")["drops"]["plaintext_for_sa"] - before >= 5, 10)
        got = lab.stats("apB")["drops"]["plaintext_for_sa"] - before
        check(got == 5, f"bypass: plaintext for an SA's selector dropped as plaintext_for_sa ({got})")


def main():
    discard()
    bypass()
    return 0


if __name__ == "__main__":
    sys.exit(main())
