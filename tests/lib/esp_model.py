"""A model of what an appliance does with a frame on its outer port, for
the hostile-wire test: the checks docs/architecture.md lists ("How the data plane
works", "Counters"), in the data plane's order, each ending in the drop
reason it counts, and ESP-in-UDP sealing for an SA whose key the test
knows. Written from docs/ and RFC 4303/4106/3948, not from the C code.

Frames are bytes; addresses are packed (socket.inet_pton).
"""
import socket
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ETH_IP4, ETH_IP6, ETH_ARP = 0x0800, 0x86DD, 0x0806
ESP_MIN = 8 + 8 + 4 + 16  # SPI, sequence, IV, smallest ciphertext, ICV


def ip4(a):
    return socket.inet_pton(socket.AF_INET, a)


def ip6(a):
    return socket.inet_pton(socket.AF_INET6, a)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f">{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(dst, src, etype):
    return bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", "")) + \
        struct.pack(">H", etype)


def ipv4(src, dst, payload, proto=17, flags=0x4000, ident=0, options=b""):
    ihl = 5 + len(options) // 4
    h = struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), ident, flags, 64,
                    proto, 0, src, dst) + options
    return h[:10] + struct.pack(">H", csum(h)) + h[12:] + payload


def udp(sport, dport, payload, cksum=0):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), cksum) + payload


def seal(keysalt, spi, seq, inner, next_header):
    """ESP (RFC 4303) with AES-256-GCM-16 (RFC 4106) and 64-bit ESN: AAD =
    SPI | seq high | seq low, nonce = salt | IV, IV = the sequence number."""
    pad = (-(len(inner) + 2)) % 4
    pt = inner + bytes(range(1, pad + 1)) + bytes([pad, next_header])
    iv = struct.pack(">Q", seq)
    aad = struct.pack(">III", spi, seq >> 32, seq & 0xFFFFFFFF)
    ct = AESGCM(keysalt[:32]).encrypt(keysalt[32:36] + iv, pt, aad)
    return struct.pack(">II", spi, seq & 0xFFFFFFFF) + iv + ct


class Window:
    """The receiver's anti-replay window (RFC 4303 3.4.3, 64-bit ESN)."""

    def __init__(self, size):
        self.size, self.top, self.seen = size, 0, set()

    def esn(self, seq32):
        """The 64-bit number nearest the top (docs/architecture.md; dataplane/sa/ms_replay.h)."""
        ahead = (seq32 - self.top) & 0xFFFFFFFF
        if ahead < 1 << 31:
            return self.top + ahead
        behind = (1 << 32) - ahead
        return 0 if behind > self.top else self.top - behind

    def verdict(self, sqn):
        if sqn == 0 or sqn + self.size <= self.top:
            return "outside_window"
        if sqn <= self.top and sqn in self.seen:
            return "replay"
        return None

    def accept(self, sqn):
        self.top = max(self.top, sqn)
        self.seen.add(sqn)


class SA:
    """An inbound SA as the receiver holds it."""

    def __init__(self, spi, keysalt, local, peer, inner_next_header=4, window=1024,
                 sport=4500, dport=4500):
        self.spi, self.keysalt, self.local, self.peer = spi, keysalt, local, peer
        self.nh, self.sport, self.dport = inner_next_header, sport, dport
        self.win = Window(window)


class Receiver:
    """The outer port of an appliance (policy discard, no bypass rule).

    kernel_defrag4: the port is DPDK's af_packet PMD, whose socket fanout
    asks the kernel to reassemble IPv4 (PACKET_FANOUT_FLAG_DEFRAG): a frame
    that ip_check_defrag() takes for a fragment never reaches the data
    plane (verdict "unseen"), whatever else is wrong with it."""

    def __init__(self, sas, udp_port=4500, foreign_spis=(), kernel_defrag4=True):
        self.sas = {sa.spi: sa for sa in sas}
        self.udp_port = udp_port
        self.foreign = set(foreign_spis)  # other SAs' SPIs: the model does not know their state
        self.kernel_defrag4 = kernel_defrag4

    @staticmethod
    def kernel_fragment(ip):
        """Linux ip_check_defrag(): version 4, sane lengths, MF or an offset."""
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[0] & 15 < 5:
            return False
        tot = struct.unpack(">H", ip[2:4])[0]
        if len(ip) < tot or tot < (ip[0] & 15) * 4:
            return False
        return struct.unpack(">H", ip[6:8])[0] & 0x3FFF != 0

    def classify(self, f):
        """("delivered", inner packet), ("unseen", None) or (drop reason,
        None); records what the appliance records (the window of an SA that
        accepted)."""
        if len(f) < 14 + 28:
            return "outer_malformed", None
        etype = struct.unpack(">H", f[12:14])[0]
        if etype == ETH_IP4:
            ip = f[14:]
            if self.kernel_defrag4 and self.kernel_fragment(ip):
                return "unseen", None
            vihl, tot = ip[0], struct.unpack(">H", ip[2:4])[0]
            if vihl >> 4 != 4 or tot < 20 or tot > len(ip) or vihl & 15 < 5:
                return "outer_malformed", None
            if vihl & 15 != 5:
                return "outer_options", None
            if csum(ip[:20]) != 0:
                return "outer_malformed", None
            if struct.unpack(">H", ip[6:8])[0] & 0x3FFF:
                return "outer_fragment", None
            ip, hl, proto, src, dst = ip[:tot], 20, ip[9], ip[12:16], ip[16:20]
        elif etype == ETH_IP6:
            ip = f[14:]
            if len(ip) < 40 or ip[0] >> 4 != 6 or 40 + struct.unpack(">H", ip[4:6])[0] > len(ip):
                return "outer_malformed", None
            if ip[6] == 44:
                return "outer_fragment", None
            if ip[6] in (0, 43, 60):
                return "outer_options", None
            ip = ip[:40 + struct.unpack(">H", ip[4:6])[0]]
            hl, proto, src, dst = 40, ip[6], ip[8:24], ip[24:40]
        elif etype == ETH_ARP:
            raise ValueError("ARP goes to the slow path: not modelled")
        else:
            return "l2_unsupported", None
        l4 = ip[hl:]
        if proto != 17 or len(l4) < 8 or struct.unpack(">H", l4[2:4])[0] != self.udp_port:
            # Plaintext: the hostile frames that get here are well-formed UDP
            # between the appliances' outer addresses, which no SA covers.
            return "not_esp", None
        sport, dport, ulen = struct.unpack(">HHH", l4[:6])
        if ulen != len(l4):
            return "outer_malformed", None
        esp = l4[8:]
        spi = struct.unpack(">I", esp[:4])[0] if len(esp) >= 4 else 0
        if len(esp) < ESP_MIN or spi == 0 or (len(esp) - 32) % 4:
            return "esp_malformed", None
        if spi in self.foreign:
            raise ValueError(f"SPI {spi:#x} belongs to an SA the model does not follow")
        sa = self.sas.get(spi)
        if sa is None:
            return "unknown_spi", None
        if (src, dst, sport, dport) != (sa.peer, sa.local, sa.sport, sa.dport):
            return "peer_mismatch", None
        seq32 = struct.unpack(">I", esp[4:8])[0]
        sqn = sa.win.esn(seq32)
        v = sa.win.verdict(sqn)
        if v:
            return v, None
        aad = struct.pack(">III", spi, sqn >> 32, sqn & 0xFFFFFFFF)
        try:
            pt = AESGCM(sa.keysalt[:32]).decrypt(sa.keysalt[32:36] + esp[8:16], esp[16:], aad)
        except InvalidTag:
            return "icv_fail", None
        pad, nh = pt[-2], pt[-1]
        if nh != sa.nh or pad + 2 > len(pt) or pt[-2 - pad:-2] != bytes(range(1, pad + 1)):
            return "bad_trailer", None
        sa.win.accept(sqn)
        return "delivered", pt[:-2 - pad]

    def near_window_edge(self, spi, seq32, margin=64):
        """Would seq32 land within margin of the edge of the window? (Where a
        burst's order decides between outside_window and icv_fail.)"""
        sa = self.sas.get(spi)
        if sa is None:
            return False
        sqn = sa.win.esn(seq32)
        return abs(sqn + sa.win.size - sa.win.top) < margin


def read_pcap(path):
    """The frames of a pcap file (little or big endian, micro- or nanoseconds)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    frames, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "IIII", data[off:off + 16])[2]
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def outer_census(frames, sas, marker=b""):
    """Sort frames seen on an outer link: ARP/ND, ESP-in-UDP that one of
    sas ({spi: keysalt}) opens (ESN high half 0), ESP it does not, and
    plaintext IP. Also counts the marker in the raw frames."""
    res = {"frames": len(frames), "control": 0, "esp_opened": 0, "esp_other": 0,
           "plaintext": 0, "marker_on_wire": 0}
    for f in frames:
        if marker:
            res["marker_on_wire"] += f.count(marker)
        etype = struct.unpack(">H", f[12:14])[0] if len(f) >= 14 else 0
        if etype == ETH_ARP:
            res["control"] += 1
            continue
        if etype == ETH_IP6 and len(f) > 20 and f[20] == 58:
            res["control"] += 1  # ICMPv6 (neighbour discovery)
            continue
        if etype == ETH_IP4 and len(f) >= 42 and f[23] == 17 and \
                struct.unpack(">H", f[36:38])[0] == 4500:
            hl = (f[14] & 15) * 4
            esp = f[14 + hl + 8:14 + struct.unpack(">H", f[16:18])[0]]
            ks = sas.get(struct.unpack(">I", esp[:4])[0]) if len(esp) >= 36 else None
            try:
                if ks is None:
                    raise InvalidTag()
                AESGCM(ks[:32]).decrypt(ks[32:36] + esp[8:16], esp[16:],
                                        esp[:4] + b"\0\0\0\0" + esp[4:8])
                res["esp_opened"] += 1
            except InvalidTag:
                res["esp_other"] += 1
            continue
        res["plaintext"] += 1
    return res
