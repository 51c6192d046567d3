"""A fast check of a capture of the migration (outer) link, for captures of
hundreds of thousands of frames (a whole VM migration), where scapy's
verify_esp_capture would take minutes.

Every frame must be ARP, IPv6 neighbour discovery, or ESP in UDP to port
4500 (RFC 3948); every ESP packet of a known SPI is opened with AES-256-GCM
(RFC 4106, 64-bit ESN as in docs/wire-format.md) by python3-
cryptography, independently of migsec's code, and its trailer and inner
addresses are checked. The marker is counted in the raw file (must be 0)
and in the opened plaintext (must not be 0: the scan would see it).
"""
import mmap
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ETH_IP4, ETH_ARP, ETH_IP6 = 0x0800, 0x0806, 0x86DD
NATT_PORT = 4500
MAX_BAD = 20  # first offenders kept for the report


def _ip(b):
    return ".".join(str(x) for x in b)


class Scan:
    def __init__(self, sas, inner_pairs, marker):
        """sas: {spi: key (32 B) + salt (4 B)}; inner_pairs: {(src, dst)}
        allowed inside; marker: bytes."""
        self.sas = {spi: (AESGCM(ks[:32]), ks[32:36]) for spi, ks in sas.items()}
        self.pairs, self.marker = inner_pairs, marker
        self.r = {"frames": 0, "control": 0, "esp": 0, "opened": 0, "esp_bytes": 0,
                  "marker_on_wire": 0, "marker_in_plaintext": 0, "unknown_spi": 0,
                  "bad": [], "bad_count": 0, "per_spi": {}}

    def bad(self, what):
        self.r["bad_count"] += 1
        if len(self.r["bad"]) < MAX_BAD:
            self.r["bad"].append(what)

    def frame(self, f):
        self.r["frames"] += 1
        if len(f) < 14:
            return self.bad("runt frame")
        et = struct.unpack_from("!H", f, 12)[0]
        if et == ETH_ARP:
            self.r["control"] += 1
            return None
        if et == ETH_IP4:
            if len(f) < 34 or f[14] >> 4 != 4:
                return self.bad("malformed IPv4")
            ihl = (f[14] & 15) * 4
            if struct.unpack_from("!H", f, 20)[0] & 0x3FFF:
                return self.bad(f"IPv4 fragment {_ip(f[26:30])} > {_ip(f[30:34])}")
            if f[23] != 17:
                return self.bad(f"IPv4 proto {f[23]} {_ip(f[26:30])} > {_ip(f[30:34])}")
            l4 = 14 + ihl
        elif et == ETH_IP6:
            if len(f) < 54:
                return self.bad("malformed IPv6")
            nh = f[20]
            if nh == 58 and len(f) > 54 and f[54] in (133, 134, 135, 136):
                self.r["control"] += 1
                return None
            if nh != 17:
                return self.bad(f"IPv6 next header {nh}")
            l4 = 54
        else:
            return self.bad(f"ethertype {et:#06x}")
        if len(f) < l4 + 8 or struct.unpack_from("!H", f, l4 + 2)[0] != NATT_PORT:
            return self.bad("UDP not to port 4500")
        return self.esp(memoryview(f)[l4 + 8:])

    def esp(self, p):
        self.r["esp"] += 1
        if len(p) < 16 + 16 + 2:
            return self.bad("ESP too short")
        spi, seq_lo = struct.unpack_from("!II", p, 0)
        iv = bytes(p[8:16])
        sa = self.sas.get(spi)
        if sa is None:
            self.r["unknown_spi"] += 1
            return self.bad(f"unknown SPI {spi:#x}")
        seq = int.from_bytes(iv, "big")
        if seq & 0xFFFFFFFF != seq_lo:
            return self.bad(f"SPI {spi:#x}: IV is not the sequence number")
        aead, salt = sa
        aad = struct.pack("!III", spi, seq >> 32, seq_lo)
        try:
            pt = aead.decrypt(salt + iv, bytes(p[16:]), aad)
        except InvalidTag:
            return self.bad(f"SPI {spi:#x} seq {seq}: ICV does not verify")
        pad = pt[-2]
        if pt[-1] not in (4, 41) or len(pt) < pad + 2 + 20 or \
                pt[-2 - pad:-2] != bytes(range(1, pad + 1)):
            return self.bad(f"SPI {spi:#x} seq {seq}: bad trailer")
        inner = pt[:-2 - pad]
        if pt[-1] == 4:
            pair = (_ip(inner[12:16]), _ip(inner[16:20]))
            if pair not in self.pairs:
                return self.bad(f"inner {pair[0]} > {pair[1]} outside the migration")
        self.r["opened"] += 1
        self.r["esp_bytes"] += len(p)
        self.r["marker_in_plaintext"] += inner.count(self.marker)
        self.r["per_spi"][spi] = self.r["per_spi"].get(spi, 0) + 1
        return None


def scan_pcap(path, sas, inner_pairs, marker):
    """Scans a libpcap file (Ethernet); returns the counts (see Scan)."""
    s = Scan(sas, inner_pairs, marker)
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size < 24:
            s.r["bad"].append("empty capture")
            s.r["bad_count"] += 1
            return s.r
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
            s.r["marker_on_wire"] = _count(m, marker)
            magic = m[:4]
            if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
                endian = "<"
            elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
                endian = ">"
            else:
                raise ValueError(f"{path}: not a libpcap file")
            if struct.unpack_from(endian + "I", m, 20)[0] != 1:
                raise ValueError(f"{path}: not an Ethernet capture")
            rec = struct.Struct(endian + "IIII")
            off = 24
            while off + 16 <= size:
                _, _, incl, orig = rec.unpack_from(m, off)
                off += 16
                if off + incl > size:
                    break  # the capture was cut mid-record
                if incl != orig:
                    s.bad("frame truncated by the capture's snap length")
                else:
                    s.frame(m[off:off + incl])
                off += incl
    return s.r


def _count(m, needle):
    n, i = 0, m.find(needle)
    while i >= 0:
        n += 1
        i = m.find(needle, i + 1)
    return n
