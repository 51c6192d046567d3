"""The hostile-wire test's frames (tests/integration/it_hostile.py): the
hostile SA's authentic frames, the phases that corrupt them, and the
model's verdicts for them (tests/lib/esp_model.py)."""
import os
import random
import struct

import esp_model as em
from migsec_lab import HOST, OUTER

SINK_PORT = 9999
SPI2 = 0x6001       # a second hostile SA, for plaintext its selectors cover
PLAIN_SRC = "198.51.100.77"


class Hostile:
    """Frames for the hostile SA, the model's verdicts, and the tally."""

    def __init__(self, lab, rx, key, spi, a_mac, b_mac, key2):
        self.lab, self.rx, self.key, self.spi, self.key2 = lab, rx, key, spi, key2
        self.a_mac, self.b_mac = a_mac, b_mac
        self.seq = 0            # last fresh sequence number used
        self.ident = 0          # IPv4 ID: no two frames share a reassembly queue
        self.accepted = []      # frames the model delivered, in order
        self.delivered = []     # their markers
        self.slow_drops = 0     # frames the control thread was handed and dropped
        self.waited = 0         # frames sent only after B counted the earlier ones
        self.sentinels = 0      # sentinels sent (SPI2's sequence number)
        self.unseen = 0         # frames the kernel took before B's ring (defragmentation)
        self.injected = 0       # frames the injector sent, sentinels included
        self.opened901 = 0      # sentinels B opened, as accounted so far
        self.rng = random.Random(int.from_bytes(os.urandom(4), "big"))

    def inner(self, marker, size):
        body = marker.encode() + b"|" + bytes(self.rng.randrange(256) for _ in range(size))
        return em.ipv4(em.ip4(HOST["A"][4]), em.ip4(HOST["B"][4]),
                       em.udp(40000, SINK_PORT, body), proto=17, flags=0x4000)

    def frame(self, marker, size=64, seq=None, sport=4500, dport=4500, options=b"",
              inner=None, nh=4):
        """An authentic frame of the hostile SA (a fresh sequence number)."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        esp = em.seal(self.key, self.spi, seq, inner or self.inner(marker, size), nh)
        return self.outer(esp, sport, dport, options)

    def sentinel(self):
        """An authentic frame of the second hostile SA (SPI2) for host B's
        sink: once B has opened it, every frame sent before it from the same
        CPU has left B's ring. Only sentinels authenticate under SPI2 (the
        phases never reach it: pick_spi, phase_spi), so the model, which
        never classifies them, follows no window they move."""
        self.sentinels += 1
        name = f"HS|sent{self.sentinels}"
        inner = em.ipv4(em.ip4(PLAIN_SRC), em.ip4(HOST["B"][4]),
                        em.udp(40000, SINK_PORT, name.encode() + b"|"), proto=17, flags=0x4000)
        self.delivered.append(name)
        return self.outer(em.seal(self.key2, SPI2, self.sentinels, inner, 4))

    def outer(self, payload, sport=4500, dport=4500, options=b"", src=None, dst=None):
        self.ident = (self.ident + 1) & 0xFFFF
        return em.eth(self.b_mac, self.a_mac, em.ETH_IP4) + em.ipv4(
            src or em.ip4(OUTER["A"][4]), dst or em.ip4(OUTER["B"][4]),
            em.udp(sport, dport, payload), options=options, ident=self.ident)

    def expect(self, frames):
        """The model's verdict for each frame, in order: {reason: count},
        and the indices of the frames that must wait for the earlier ones."""
        tally, waits = {}, []
        for i, f in enumerate(frames):
            v = self.rx.classify(f)
            if v.sensitive:
                waits.append(i)
            tally[v.reason] = tally.get(v.reason, 0) + 1
            if v.slow:
                self.slow_drops += v.reason != "delivered"
            if v.reason == "delivered":
                self.delivered.append(marker(v.inner[28:]))
                self.accepted.append(f)
        return tally, waits


def marker(payload):
    """ "HS|name" from a datagram that starts "HS|name|..." """
    return "|".join(p.decode("ascii", "replace") for p in payload.split(b"|")[:2])


def corrupt(h, f, off):
    """f with byte off XORed by a random non-zero value: whatever it
    becomes, the model decides it (the hostile SPI is chosen so that no
    one-byte change reaches an SA whose window the model cannot follow)."""
    b = bytearray(f)
    b[off] ^= h.rng.randrange(1, 256)
    return bytes(b)


ESP_OFF = 14 + 20 + 8


def phase_corrupt_fresh(h):
    """Every offset of three sizes of frame, each a fresh sequence number:
    header damage is dropped by the header checks, ESP damage by the ICV;
    the bytes nothing authenticates (MAC addresses, UDP checksum) leave an
    authentic packet, delivered once."""
    frames = []
    for size in (16, 600, 1300):
        n = len(h.frame("probe", size))
        h.seq -= 1
        for off in range(n):
            frames.append(corrupt(h, h.frame(f"HS|cf{size}-{off}", size), off))
    return frames


def phase_corrupt_replayed(h):
    """The same with sequence numbers already received: every frame dropped."""
    frames = []
    for k, size in enumerate((16, 600, 1300)):
        frames.append(h.frame(f"HS|crbase{size}", size))  # delivered first
        base = h.seq
        n = len(h.frame("probe", size, seq=base))
        for off in range(n):
            frames.append(corrupt(h, h.frame(f"HS|cr{size}-{off}", size, seq=base), off))
    return frames


def phase_truncate(h):
    """Every length of one frame, cut raw (lengths then lie) and with the IP
    and UDP lengths fixed up to the cut (short ESP, or a cut ICV)."""
    frames = []
    f = h.frame("HS|tr", 300)
    frames += [f[:n] for n in range(14, len(f))]
    esp = f[ESP_OFF:]
    for n in range(len(esp)):
        frames.append(em.eth(h.b_mac, h.a_mac, em.ETH_IP4) + em.ipv4(
            em.ip4(OUTER["A"][4]), em.ip4(OUTER["B"][4]), em.udp(4500, 4500, esp[:n])))
    return frames


def phase_spi(h):
    frames = []
    for i in range(300):
        f = bytearray(h.frame(f"HS|spi{i}", 40))
        spi = 0 if i % 30 == 0 else h.rng.randrange(256, 1 << 32)
        while spi in h.rx.sas:  # the phase is about SPIs no SA has
            spi = h.rng.randrange(256, 1 << 32)
        f[ESP_OFF:ESP_OFF + 4] = struct.pack(">I", spi)
        frames.append(bytes(f))
    return frames


def phase_reorder(h):
    """300 fresh sequence numbers out of order within the window (all
    delivered, once), then the same frames again, reordered: replays
    inside the window."""
    frames = [h.frame(f"HS|ro{i}", 80) for i in range(300)]
    h.rng.shuffle(frames)
    again = list(frames)
    h.rng.shuffle(again)
    return frames + again


def phase_window(h):
    """A jump of 3000 moves the window: older frames, seen or not, are outside."""
    old = h.accepted[:200]
    h.seq += 3000
    jump = h.frame("HS|jump", 40)
    never = [h.frame(f"HS|old{i}", 40, seq=h.seq - 2000 - i) for i in range(100)]
    return [jump] + old + never


def phase_sizes(h):
    """Undersized frames, and frames the link allows but that carry nothing valid."""
    frames = []
    for n in range(14, 60, 3):
        f = h.frame("HS|us", 16)
        frames.append(f[:n])
    tiny = em.eth(h.b_mac, h.a_mac, em.ETH_IP4) + em.ipv4(
        em.ip4(OUTER["A"][4]), em.ip4(OUTER["B"][4]), em.udp(4500, 4500, b""))
    frames.append(tiny + bytes(60 - len(tiny)))  # padded to the Ethernet minimum
    return frames


def phase_ports_options(h):
    frames = []
    for i, port in enumerate((4501, 4499, 500, 1, 65535) * 20):
        frames.append(h.frame(f"HS|port{i}", 40, dport=port))
    for i in range(50):
        frames.append(h.frame(f"HS|opt{i}", 40, options=bytes([1, 1, 1, 0]) * (1 + i % 4)))
    for i in range(50):  # IPv6 outer: fragments and extension headers before UDP
        hdr = 44 if i % 2 else h.rng.choice((0, 43, 60))
        ext = bytes([17, 0]) + bytes(6)
        pl = ext + em.udp(4500, 4500, bytes(48))
        frames.append(em.eth(h.b_mac, h.a_mac, em.ETH_IP6) + struct.pack(
            ">IHBB16s16s", 6 << 28, len(pl), hdr, 64, em.ip6(OUTER["A"][6]),
            em.ip6(OUTER["B"][6])) + pl)
    return frames


def ipv4_fragments(h):
    """IPv4 fragments: complete sets of authentic frames, of tampered frames,
    and first fragments alone. The af_packet PMD's socket fanout hands IPv4
    fragments to the kernel's reassembly (PACKET_FANOUT_FLAG_DEFRAG): the
    data plane sees one whole packet per complete set and checks it like any
    other (the authentic ones are delivered, the tampered ones fail the ICV);
    a lone fragment never reaches it. With a NIC the data plane gets the
    fragments themselves and drops them as outer_fragment (unit tests, the
    inbound fuzz harness, and the IPv6 fragments above). Returns the frames
    and the model's verdicts."""
    frames, exp = [], {}
    for i in range(30):
        f = h.frame(f"HS|frag{i}", 600)
        if i % 3 == 2:
            f = f[:-1] + bytes([f[-1] ^ 1])
        ip, parts = f[14:], []
        body = ip[20:]
        for off in range(0, len(body), 208):
            flags = (0x2000 if off + 208 < len(body) else 0) | (off // 8)
            parts.append(f[:14] + em.ipv4(ip[12:16], ip[16:20], body[off:off + 208], proto=17,
                                          flags=flags, ident=ip[4] << 8 | ip[5]))
        if i % 3 == 1:
            parts = parts[:1]
            exp["unseen"] = exp.get("unseen", 0) + 1
        else:
            exp["unseen"] = exp.get("unseen", 0) + len(parts) - 1
            e, waits = h.expect([f])  # what the reassembled packet meets
            if waits:
                raise AssertionError("fragments: a reason that depends on the frames before")
            for k, v in e.items():
                exp[k] = exp.get(k, 0) + v
        frames += parts
    return frames, exp


def phase_inside(h):
    """Authentic frames that are wrong inside, and plaintext an inbound SA
    covers: each dropped by its rule (bad_trailer, decap_malformed,
    selector_mismatch, plaintext_for_sa), the recorded ones replayed."""
    good = h.inner("HS|in", 40)
    bad_len = bytearray(good)
    bad_len[3] ^= 8
    v6 = struct.pack(">IHBB16s16s", 6 << 28, 8, 17, 64, em.ip6(HOST["A"][6]),
                     em.ip6(HOST["B"][6])) + em.udp(40000, SINK_PORT, b"")
    other_port = em.ipv4(em.ip4(HOST["A"][4]), em.ip4(HOST["B"][4]),
                         em.udp(40000, SINK_PORT - 1, b"HS|sel|x"))
    frames = [h.frame("", nh=41, inner=good), h.frame("", inner=bytes(bad_len)),
              h.frame("", inner=v6), h.frame("", inner=other_port),
              h.frame("", inner=good + b"\0\0\0\0")]  # bytes past the total length
    pad = (-(len(good) + 2)) % 4 + 4
    for trailer in (bytes(range(pad, 0, -1)) + bytes([pad, 4]),  # padding 4, 3, 2, 1
                    bytes(range(1, pad - 3)) + bytes([255, 4])):  # pad length past the start
        h.seq += 1
        frames.append(h.outer(em.seal(h.key, h.spi, h.seq, good, 4, trailer=trailer)))
    frames += [frames[1], frames[3]]    # recorded although dropped: now replays
    plain = em.ipv4(em.ip4(PLAIN_SRC), em.ip4(HOST["B"][4]), em.udp(1, 2, b"HS|plain"))
    frames.append(em.eth(h.b_mac, h.a_mac, em.ETH_IP4) + plain)
    return frames


def pick_spi(live):
    """An SPI that no one-byte change turns into a live SA's (whose window
    moves with the migration's traffic, which the model does not see)."""
    spi = 0x5001
    while any(sum(a != b for a, b in zip(spi.to_bytes(4, "big"), x.to_bytes(4, "big"))) < 2
              for x in live | {SPI2}):
        spi += 0x010101
    return spi


def phase_behind(h):
    """Forged copies right behind their originals: checked against the window
    the original left, a copy is a replay; in the original's RX burst it
    would fail the ICV. The model flags each, and the test waits for the
    original to be counted first."""
    frames = []
    for i in range(5):
        f = h.frame(f"HS|bh{i}", 30)
        frames += [f, f[:-1] + bytes([f[-1] ^ 1])]
    return frames
