#!/usr/bin/python3
"""Suite demo: tests/lib/espscan.py, the demo's capture check, must reject
what it claims to reject. A capture is built here frame by frame: ESP-in-UDP
sealed as docs/wire-format.md says (AES-256-GCM, IV = 64-bit sequence
number, AAD = SPI | seq high | seq low, tunnel mode with an RFC 4303
trailer), plus ARP; then one bad frame at a time is added and must be
counted as such. No root, no lab.
"""
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from espscan import scan_pcap  # noqa: E402

MARKER = b"MIGSEC-VM-MARKER-0123456789abcde"
KS = os.urandom(36)
SPI = 0x1234
PAIRS = {("192.0.2.1", "192.0.2.2")}


def csum(b):
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    s = (s >> 16) + (s & 0xFFFF)
    return ~(s + (s >> 16)) & 0xFFFF


def ipv4(src, dst, proto, payload, frag=0x4000):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, frag, 64, proto, 0,
                    bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def ether(payload, et=0x0800):
    return b"\x02" * 6 + b"\x04" * 6 + struct.pack("!H", et) + payload


def udp(payload, dport=4500):
    return struct.pack("!HHHH", 4500, dport, 8 + len(payload), 0) + payload


def esp(inner, seq, spi=SPI, ks=KS, iv=None, trailer=None):
    pad = (-(len(inner) + 2)) % 4
    pt = inner + (trailer if trailer is not None else bytes(range(1, pad + 1)) + bytes([pad, 4]))
    iv = iv if iv is not None else struct.pack("!Q", seq)
    aad = struct.pack("!III", spi, seq >> 32, seq & 0xFFFFFFFF)
    ct = AESGCM(ks[:32]).encrypt(ks[32:] + iv, pt, aad)
    return struct.pack("!II", spi, seq & 0xFFFFFFFF) + iv + ct


def sealed(seq, inner_src="192.0.2.1", payload=MARKER * 4, **kw):
    inner = ipv4(inner_src, "192.0.2.2", 6, b"\0" * 20 + payload)
    return ether(ipv4("203.0.113.1", "203.0.113.2", 17, udp(esp(inner, seq, **kw))))


ARP = ether(b"\x00\x01\x08\x00\x06\x04\x00\x01" + b"\x00" * 20, et=0x0806)


def pcap(frames):
    fd, path = tempfile.mkstemp(suffix=".pcap")
    with os.fdopen(fd, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for fr in frames:
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)) + fr)
    return path


def scan(frames):
    path = pcap(frames)
    try:
        return scan_pcap(path, {SPI: KS}, PAIRS, MARKER)
    finally:
        os.unlink(path)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}", flush=True)


def main():
    good = [sealed(s) for s in range(1, 50)] + [sealed((1 << 32) + 7), ARP]
    r = scan(good)
    check(r["bad_count"] == 0 and r["esp"] == r["opened"] == 50 and r["control"] == 1,
          f"50 well-sealed packets (one past 2^32) open, ARP passes: {r['bad']}")
    check(r["marker_on_wire"] == 0 and r["marker_in_plaintext"] == 200,
          "the marker is counted inside, never outside")

    tampered = bytearray(sealed(60))
    tampered[-20] ^= 1
    bad = {
        "plaintext TCP": ether(ipv4("192.0.2.1", "192.0.2.2", 6, b"\0" * 20 + b"x" * 40)),
        "tampered ciphertext": bytes(tampered),
        "unknown SPI": sealed(61, spi=0x9999),
        "wrong key": sealed(62, ks=os.urandom(36)),
        "IV not the sequence number": sealed(63, iv=os.urandom(8)),
        "inner addresses outside the migration": sealed(64, inner_src="192.0.2.9"),
        "UDP to another port": ether(ipv4("203.0.113.1", "203.0.113.2", 17,
                                          udp(b"\0" * 40, dport=4501))),
        "outer fragment": ether(ipv4("203.0.113.1", "203.0.113.2", 17, udp(b"\0" * 40),
                                     frag=0x2001)),
        "another ethertype": ether(b"\0" * 46, et=0x88B5),
        "bad padding": sealed(65, trailer=b"\x01\x03\x02\x04"),
        "next header not IP": sealed(66, trailer=b"\x00\x11"),
    }
    for what, frame in bad.items():
        r = scan(good + [frame])
        check(r["bad_count"] == 1, f"rejected: {what} ({r['bad']})")
    r = scan(good + [ether(ipv4("192.0.2.1", "192.0.2.2", 17, udp(MARKER, dport=9)))])
    check(r["marker_on_wire"] == 1, "a plaintext marker on the wire is found")
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
