#!/usr/bin/python3
"""Integration: jumbo frames end to end (MTU 9000 on every link of the lab).

The lab's ports are net_af_packet, whose driver reports a 1518-byte max
frame yet carries 9000-byte frames: the appliances must start, and carry
them. A transfer at MTU 9000 arrives intact, its outer frames are jumbo and
every one is ESP-in-UDP that scapy decrypts. A packet that fits the hosts'
MTU but not the outer MTU once sealed gets ICMP "fragmentation needed" back
with the largest inner size that fits (docs/wire-format.md's overhead), and
one of that size crosses. tests/lab.sh refuses an --mtu outside 1280..9000.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import BUILD, HOST, TOP, Lab, check, log, verify_esp_capture  # noqa: E402

from scapy.all import rdpcap  # noqa: E402

MIB = 1 << 20
MTU = 9000
# IPv4 outer: 20 (IP) + 8 (UDP) + 8 (ESP) + 8 (IV) + 16 (ICV); the ciphertext
# (inner + 2-byte trailer) is padded to 4 bytes.
MAX_INNER = ((MTU - 20 - 40) & ~3) - 2


def lab_sh_refuses(mtu):
    env = dict(os.environ, LAB=os.environ.get("MIGSEC_LAB_PREFIX", "") + "itjx", BUILD=BUILD)
    r = subprocess.run([os.path.join(TOP, "tests", "lab.sh"), "up", "--mtu", str(mtu)],
                       capture_output=True, text=True, env=env, timeout=60)
    check(r.returncode != 0 and "--mtu must be 1280..9000" in r.stderr,
          f"lab.sh up --mtu {mtu} is refused with its message ({r.stderr.strip()[-120:]})")


def transfer(lab):
    marker = f"MIGSEC-MARKER-{os.urandom(6).hex()}"
    sas = lab.install_pair(inner=4, outer=4)
    lab.ping("A", HOST["B"][4])
    with lab.capture("apB", count=2000, seconds=60) as cap:
        sent, got = lab.transfer(64 * MIB, family=4, marker=marker, timeout=150)
    check(got.get("bytes") == 64 * MIB and got.get("sha256") == sent.get("sha256"),
          "MTU 9000: 64 MiB arrived with the same SHA-256")
    biggest = max((len(p) for p in rdpcap(cap.path)), default=0)
    res = verify_esp_capture(cap.path, sas, {(HOST["A"][4], HOST["B"][4]),
                                             (HOST["B"][4], HOST["A"][4])}, marker)
    cap.remove()
    log(f"capture: {res['frames']} frames, {res['decrypted']} decrypted, largest {biggest} B")
    check(not res["bad"], f"every captured frame is ESP-in-UDP scapy decrypts ({res['bad'][:3]})")
    check(res["decrypted"] >= 500 and res["marker_on_wire"] == 0 and res["marker_in_plaintext"] > 0,
          "sealed traffic on the wire, the marker only inside it")
    check(8000 < biggest <= MTU + 14, f"the outer frames are jumbo frames ({biggest} bytes)")


def too_big(lab):
    before = lab.stats("apA")
    r = lab.run("A", ["ping", "-c", "2", "-W", "2", "-M", "do", "-s", str(MTU - 28),
                      HOST["B"][4]], check=False)
    out = r.stdout + r.stderr
    m = re.search(r"mtu\s*=\s*(\d+)", out)
    log(f"ping of {MTU} bytes with DF: {out.strip()[-200:]}")
    check(m is not None and int(m.group(1)) == MAX_INNER,
          f"a {MTU}-byte packet gets ICMP fragmentation-needed with MTU {MAX_INNER} "
          f"({m.group(1) if m else 'none'})")
    after = lab.stats("apA")
    check(after["drops"]["too_big"] > before["drops"]["too_big"] and
          after["icmp_sent"] > before["icmp_sent"], "counted as too_big, and an ICMP error sent")
    check(lab.ping("A", HOST["B"][4], count=2) and
          lab.run("A", ["ping", "-c", "2", "-W", "2", "-M", "do", "-s", str(MAX_INNER - 28),
                        HOST["B"][4]], check=False).returncode == 0,
          f"a {MAX_INNER}-byte packet with DF crosses")


def main():
    for bad in (1279, 9001):
        lab_sh_refuses(bad)
    with Lab("itj", mtu=MTU) as lab:
        transfer(lab)
        too_big(lab)
    return 0


if __name__ == "__main__":
    sys.exit(main())
