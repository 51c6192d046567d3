"""A model of what an appliance does with a frame on its outer port, for
the hostile-wire test, and ESP-in-UDP sealing for an SA whose key the test
knows. Written from the specification, not from the C code: the rules of
docs/architecture.md, "How an inbound packet is judged" (rule numbers
below are its), RFC 4303 (ESP, 3.4.3 the window, 2.4 padding), RFC 4106
(AES-GCM, the AAD with ESN) and RFC 3948 (UDP encapsulation).

It decides every frame, or says it cannot (Undecidable): the test must
never send such a frame. Where the rules let the grouping of frames into
RX bursts change a frame's reason, the verdict says so (sensitive): the
test then lets the appliance finish every earlier frame before sending it.

Frames are bytes; addresses are packed (socket.inet_pton).
"""
import socket
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ETH_IP4, ETH_IP6, ETH_ARP = 0x0800, 0x86DD, 0x0806


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


def seal(keysalt, spi, seq, inner, next_header, trailer=None):
    """ESP (RFC 4303) with AES-256-GCM-16 (RFC 4106) and 64-bit ESN: AAD =
    SPI | seq high | seq low, nonce = salt | IV, IV = the sequence number.
    trailer: the bytes after inner instead of a valid padding and trailer."""
    pad = (-(len(inner) + 2)) % 4
    pt = inner + (bytes(range(1, pad + 1)) + bytes([pad, next_header]) if trailer is None
                  else trailer)
    iv = struct.pack(">Q", seq)
    aad = struct.pack(">III", spi, seq >> 32, seq & 0xFFFFFFFF)
    ct = AESGCM(keysalt[:32]).encrypt(keysalt[32:36] + iv, pt, aad)
    return struct.pack(">II", spi, seq & 0xFFFFFFFF) + iv + ct


class Undecidable(Exception):
    """A frame whose fate the specification leaves open, or that depends on
    state the model does not know."""


class Window:
    """An inbound SA's anti-replay window (rule 6, rule 9): immutable, so
    that the model can keep the window as it was before every frame."""

    def __init__(self, size, top=0, seen=frozenset()):
        self.size, self.top, self.seen = size, top, seen

    def esn(self, seq32):
        """Rule 6: the 64-bit number with these low 32 bits nearest the top."""
        d = (seq32 - self.top) % (1 << 32)
        if d < 1 << 31:
            return self.top + d
        return max(self.top - ((1 << 32) - d), 0)

    def check(self, n):
        if n == 0 or n <= self.top - self.size:
            return "outside_window"
        if n <= self.top and n in self.seen:
            return "replay"
        return None

    def record(self, n):
        top = max(self.top, n)
        return Window(self.size, top, frozenset(x for x in self.seen | {n}
                                                if x > top - self.size))


def prefix_has(pfx, addr):
    net, bits = pfx
    whole, rest = divmod(bits, 8)
    if addr[:whole] != net[:whole]:
        return False
    mask = (0xFF << (8 - rest)) & 0xFF
    return rest == 0 or addr[whole] & mask == net[whole] & mask


class Selector:
    """A selector as migsec-dpctl takes it: src=, dst=, proto=, sport=, dport=."""

    PROTOS = {"tcp": 6, "udp": 17, "icmp": 1, "sctp": 132}

    def __init__(self, text):
        self.src = self.dst = None
        self.proto, self.sport, self.dport = 0, (0, 65535), (0, 65535)
        for item in text.split(","):
            k, v = item.split("=")
            if k in ("src", "dst"):
                a, bits = v.split("/")
                fam = socket.AF_INET6 if ":" in a else socket.AF_INET
                setattr(self, k, (socket.inet_pton(fam, a), int(bits)))
            elif k == "proto":
                self.proto = self.PROTOS.get(v) or int(v)
            else:
                lo, _, hi = v.partition("-")
                setattr(self, k, (int(lo), int(hi or lo)))

    def match(self, key):
        if key is None:
            return False
        src, dst, proto, sport, dport = key
        return len(src) == len(self.src[0]) and prefix_has(self.src, src) and \
            prefix_has(self.dst, dst) and self.proto in (0, proto) and \
            self.sport[0] <= sport <= self.sport[1] and self.dport[0] <= dport <= self.dport[1]


def flow_key(p):
    """Rule 10: (src, dst, proto, sport, dport) of a well-formed IP packet
    that is exactly len(p) long, or None. Ports only for TCP, UDP and
    SCTP, and not in a later fragment."""
    if len(p) >= 20 and p[0] >> 4 == 4:
        hl, tot = (p[0] & 15) * 4, struct.unpack(">H", p[2:4])[0]
        if hl < 20 or tot < hl or tot != len(p):
            return None
        later = struct.unpack(">H", p[6:8])[0] & 0x1FFF
        return ports(p[12:16], p[16:20], p[9], None if later else p[hl:])
    if len(p) < 40 or p[0] >> 4 != 6 or 40 + struct.unpack(">H", p[4:6])[0] != len(p):
        return None
    off, nh = 40, p[6]
    for _ in range(8):
        if nh not in (0, 43, 60, 44):
            return ports(p[8:24], p[24:40], nh, p[off:])
        if _ == 7 or off + 8 > len(p):
            return None  # more than 7 extension headers, or one past the end
        if nh == 44:
            later = struct.unpack(">H", p[off + 2:off + 4])[0] & 0xFFF8
            nh, off = p[off], off + 8
            if later:
                return ports(p[8:24], p[24:40], nh, None)
            continue
        nh, off = p[off], off + (p[off + 1] + 1) * 8
        if off > len(p):
            return None
    return None


def ports(src, dst, proto, l4):
    if proto in (6, 17, 132) and l4 is not None and len(l4) >= 4:
        return src, dst, proto, *struct.unpack(">HH", l4[:4])
    return src, dst, proto, 0, 0


class SA:
    """An inbound SA as the receiver holds it. keysalt None: the test does
    not hold its key (nothing it sends authenticates); follow False: its
    window moves with traffic the model does not see."""

    def __init__(self, spi, keysalt, local, peer, selectors=(), inner=4, window=1024,
                 sport=4500, dport=4500, follow=True):
        self.spi, self.keysalt, self.local, self.peer = spi, keysalt, local, peer
        self.sels = [Selector(x) for x in selectors]
        self.nh, self.sport, self.dport, self.follow = inner, sport, dport, follow
        self.win = Window(window)
        self.icv = {}   # (frame, n) -> plaintext or None


class Verdict:
    """reason: a drop reason, "delivered" or "unseen"; slow: handed to the
    control thread first; sensitive: the reason depends on the frames
    before it in its RX burst (the test must let them finish first)."""

    def __init__(self, reason, inner=None, slow=False, sensitive=False):
        self.reason, self.inner, self.slow, self.sensitive = reason, inner, slow, sensitive


class Receiver:
    """The outer port of an appliance with policy.default discard and no
    bypass rule, on the lab's net_af_packet ports (kernel_defrag4: the PMD's
    socket fanout has the kernel reassemble IPv4 fragments; a frame the
    kernel takes for one never reaches the data plane: "unseen")."""

    def __init__(self, sas, udp_port=4500, burst=32, kernel_defrag4=True):
        self.sas = {sa.spi: sa for sa in sas}
        self.udp_port, self.burst, self.kernel_defrag4 = udp_port, burst, kernel_defrag4
        self.history = []  # the followed SAs' windows before each frame since the barrier

    def barrier(self):
        """Everything sent so far has been processed."""
        self.history = []

    def classify(self, f):
        """The frame's Verdict; records what the appliance records."""
        self.history.append({s: sa.win for s, sa in self.sas.items() if sa.follow})
        self.history = self.history[-self.burst:]
        v = self.frame(f)
        return v if isinstance(v, Verdict) else Verdict(v)

    def frame(self, f):  # rule 1
        if len(f) < 42:
            return "outer_malformed"
        etype = struct.unpack(">H", f[12:14])[0]
        if etype == ETH_ARP:
            hw, pr, hl, pl = struct.unpack(">HHBB", f[14:20])
            if (hw, pr, hl, pl) != (1, ETH_IP4, 6, 4):
                return Verdict("outer_malformed", slow=True)
            raise Undecidable("a well-formed ARP: the control thread's answer is not modelled")
        if etype in (0x8100, 0x88A8):
            # untagged ports; the kernel under af_packet may take the tag off first
            if struct.unpack(">H", f[16:18])[0] in (ETH_IP4, ETH_IP6, ETH_ARP) or len(f) < 46:
                raise Undecidable("a VLAN tag the port may strip")
            return "l2_unsupported"
        if etype == ETH_IP4:
            return self.ipv4(f[14:])
        if etype == ETH_IP6:
            return self.ipv6(f[14:])
        return "l2_unsupported"

    def ipv4(self, ip):  # rule 2
        tot = struct.unpack(">H", ip[2:4])[0]
        if self.kernel_defrag4 and ip[0] >> 4 == 4 and ip[0] & 15 >= 5 and \
                (ip[0] & 15) * 4 <= tot <= len(ip) and \
                struct.unpack(">H", ip[6:8])[0] & 0x3FFF:
            return "unseen"   # Linux ip_check_defrag() takes it
        if ip[0] >> 4 != 4 or ip[0] & 15 < 5 or tot < 20 or tot > len(ip):
            return "outer_malformed"
        if ip[0] & 15 != 5:
            return "outer_options"
        if csum(ip[:20]):
            return "outer_malformed"
        if struct.unpack(">H", ip[6:8])[0] & 0x3FFF:
            return "outer_fragment"
        return self.transport(ip[:tot], 20, ip[9], ip[12:16], ip[16:20])

    def ipv6(self, ip):
        if len(ip) < 40 or ip[0] >> 4 != 6 or 40 + struct.unpack(">H", ip[4:6])[0] > len(ip):
            return "outer_malformed"
        if ip[6] == 44:
            return "outer_fragment"
        if ip[6] in (0, 43, 60):
            return "outer_options"
        ip = ip[:40 + struct.unpack(">H", ip[4:6])[0]]
        if ip[6] == 58 and len(ip) > 40 and 133 <= ip[40] <= 137:
            raise Undecidable("neighbour discovery: the control thread's answer is not modelled")
        return self.transport(ip, 40, ip[6], ip[8:24], ip[24:40])

    def transport(self, ip, hl, proto, src, dst):  # rules 3 and 4
        l4 = ip[hl:]
        if proto != 17 or len(l4) < 8 or struct.unpack(">H", l4[2:4])[0] != self.udp_port:
            key = flow_key(ip)
            if any(sel.match(key) for sa in self.sas.values() for sel in sa.sels):
                return "plaintext_for_sa"
            return "not_esp"
        sport, dport, ulen = struct.unpack(">HHH", l4[:6])
        if ulen != len(l4):
            return "outer_malformed"
        esp = l4[8:]
        if len(esp) < 36 or esp[:4] == b"\0\0\0\0" or (len(esp) - 32) % 4:
            return "esp_malformed"
        sa = self.sas.get(struct.unpack(">I", esp[:4])[0])
        if sa is None:  # rule 5
            return "unknown_spi"
        if (src, dst, sport, dport) != (sa.peer, sa.local, sa.sport, sa.dport):
            return "peer_mismatch"
        if not sa.follow:
            raise Undecidable(f"SPI {sa.spi:#x}: an SA whose window the model does not follow")
        return self.esp(sa, esp)

    def esp(self, sa, esp):
        """Rules 6 to 11, for every window the burst may have started from."""
        reason, win, inner = self.esp_from(sa, esp, sa.win)
        other = {self.esp_from(sa, esp, h[sa.spi])[0:2] for h in self.history[:-1]}
        if any(w is not win and (w is None) != (win is None) for _, w in other):
            raise Undecidable("whether the frame is recorded depends on the burst")
        sensitive = any(r != reason for r, _ in other)
        if sensitive:
            self.history = self.history[-1:]  # the test sends it after a barrier
        if win is not None:
            sa.win = win
        return Verdict(reason, inner, sensitive=sensitive)

    def esp_from(self, sa, esp, start):
        """(reason, window after, inner) with rule 6 against start and rule 9
        against the SA's window as the earlier frames left it."""
        n = start.esn(struct.unpack(">I", esp[4:8])[0])
        why = start.check(n)
        if why:
            return why, None, None
        pt = self.open(sa, esp, n)  # rule 7
        if pt is None:
            return "icv_fail", None, None
        pad, nh = pt[-2], pt[-1]  # rule 8
        if nh != sa.nh or pad + 2 > len(pt) or pt[-2 - pad:-2] != bytes(range(1, pad + 1)):
            return "bad_trailer", None, None
        why = sa.win.check(n)  # rule 9
        if why:
            return why, None, None
        win, inner = sa.win.record(n), pt[:-2 - pad]
        key = flow_key(inner)  # rule 10
        if key is None or (inner[0] >> 4) != (4 if sa.nh == 4 else 6):
            return "decap_malformed", win, None
        if not any(sel.match(key) for sel in sa.sels):  # rule 11
            return "selector_mismatch", win, None
        return "delivered", win, inner

    @staticmethod
    def open(sa, esp, n):
        """RFC 4106 with ESN: AAD SPI | n high | n low, nonce salt | IV."""
        if sa.keysalt is None:
            return None
        k = (esp, n)
        if k not in sa.icv:
            aad = esp[:4] + struct.pack(">II", n >> 32, n & 0xFFFFFFFF)
            try:
                sa.icv[k] = AESGCM(sa.keysalt[:32]).decrypt(sa.keysalt[32:36] + esp[8:16],
                                                            esp[16:], aad)
            except InvalidTag:
                sa.icv[k] = None
        return sa.icv[k]


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
