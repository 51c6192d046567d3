#!/usr/bin/python3
"""Hostile wire (suite "hostile"): thousands of crafted frames on the outer
link while a real migration moves data, and every one ends where it must.

A migration (migsecctl, policy required) carries a TCP transfer from host A
to host B. Beside it, appliance B holds an inbound SA whose key only this
test knows ("hostile"); the test seals ESP under it, corrupts it every
way below, and injects the frames on the outer link (scapy, from appliance
A's namespace), phase after phase:

  random corruption at every offset (fresh and already-received sequence
  numbers), truncation at every length (raw, and with the IP and UDP
  lengths fixed up), wrong SPIs, replays inside the window, reordering
  within it, packets pushed out of it, undersized and oversized frames,
  wrong UDP ports, IP options, IPv6 fragments and extension headers, IPv4
  fragments; then 5000 neighbour solicitations from the outer /64 and
  ARP/ND claiming appliance A's addresses (nothing learned, every refusal
  counted, an SA towards a new peer still installs at once).

Each frame's fate comes from tests/lib/esp_model.py, a model of the
checks of docs/architecture.md written independently of the C code (including an
OpenSSL-free decryption with the known key). After every phase, appliance B's
drop counters must have grown by exactly the model's count for every
reason. Then:
  - host B received exactly the frames the model delivers (a UDP sink),
    each once, and no other;
  - the transfer's SHA-256 is intact and the migration's SAs dropped nothing;
  - B's counters add up: outer received = opened + slow path + dropped,
    inner received = sealed, inner sent = opened.
"""
import json
import os
import random
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import esp_model as em  # noqa: E402
from migsec_lab import (HOST, OUTER, PY, TOP, Lab, check, ctl, log,  # noqa: E402
                        start_migration, appliance)

INJECT = os.path.join(TOP, "tests", "lib", "inject.py")
SINK = os.path.join(TOP, "tests", "lib", "udp_sink.py")
MIB = 1 << 20
SPI = 0x5001
SINK_PORT = 9999
END = "HS|END"
SEL = f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32"
PPS = 5000          # injection rate, beside the transfer
RING = 4096         # frames in each af_packet ring (the lab's default is 512)
XFER_MIB = 256      # at 80 Mbit/s: outlasts the injection on a loaded machine


class Hostile:
    """Frames for the hostile SA, the model's verdicts, and the tally."""

    def __init__(self, lab, rx, key, a_mac, b_mac):
        self.lab, self.rx, self.key = lab, rx, key
        self.a_mac, self.b_mac = a_mac, b_mac
        self.seq = 0            # last fresh sequence number used
        self.ident = 0          # IPv4 ID: no two frames share a reassembly queue
        self.accepted = []      # frames the model delivered, in order
        self.accepted_seqs = []
        self.delivered = []     # their markers
        self.rng = random.Random(int.from_bytes(os.urandom(4), "big"))

    def inner(self, marker, size):
        body = marker.encode() + b"|" + bytes(self.rng.randrange(256) for _ in range(size))
        return em.ipv4(em.ip4(HOST["A"][4]), em.ip4(HOST["B"][4]),
                       em.udp(40000, SINK_PORT, body), proto=17, flags=0x4000)

    def frame(self, marker, size=64, seq=None, sport=4500, dport=4500, options=b""):
        """An authentic frame of the hostile SA (a fresh sequence number)."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        esp = em.seal(self.key, SPI, seq, self.inner(marker, size), 4)
        self.ident = (self.ident + 1) & 0xFFFF
        return em.eth(self.b_mac, self.a_mac, em.ETH_IP4) + em.ipv4(
            em.ip4(OUTER["A"][4]), em.ip4(OUTER["B"][4]), em.udp(sport, dport, esp),
            options=options, ident=self.ident)

    def expect(self, frames):
        """The model's verdict for each frame, in order; {reason: count}."""
        tally = {}
        for f in frames:
            why, inner = self.rx.classify(f)
            tally[why] = tally.get(why, 0) + 1
            if why == "delivered":
                self.delivered.append(marker(inner[28:]))
                self.accepted.append(f)
                self.accepted_seqs.append(struct.unpack(">I", f[ESP_OFF + 4:ESP_OFF + 8])[0])
        return tally


def marker(payload):
    """ "HS|name" from a datagram that starts "HS|name|..." """
    return "|".join(p.decode("ascii", "replace") for p in payload.split(b"|")[:2])


def corrupt(h, f, off, esp_off):
    """f with byte off XORed by a random non-zero value, avoiding the few
    results whose fate depends on more than this frame: an ARP, VLAN or
    IPv6 EtherType (slow path, kernel tag handling), another SA's SPI, a
    sequence number at the edge of the window (burst order decides)."""
    while True:
        b = bytearray(f)
        b[off] ^= h.rng.randrange(1, 256)
        if off in (12, 13) and struct.unpack(">H", b[12:14])[0] in (0x0806, 0x8100, 0x88A8,
                                                                    0x86DD):
            continue
        if esp_off <= off < esp_off + 4 and struct.unpack(">I", b[esp_off:esp_off + 4])[0] in \
                h.rx.foreign:
            continue
        if esp_off + 4 <= off < esp_off + 8 and h.rx.near_window_edge(
                SPI, struct.unpack(">I", b[esp_off + 4:esp_off + 8])[0]):
            continue
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
            frames.append(corrupt(h, h.frame(f"HS|cf{size}-{off}", size), off, ESP_OFF))
    return frames


def phase_corrupt_replayed(h):
    """The same with sequence numbers already received: every frame dropped."""
    frames = []
    for k, size in enumerate((16, 600, 1300)):
        frames.append(h.frame(f"HS|crbase{size}", size))  # delivered first
        base = h.seq
        n = len(h.frame("probe", size, seq=base))
        for off in range(n):
            frames.append(corrupt(h, h.frame(f"HS|cr{size}-{off}", size, seq=base), off, ESP_OFF))
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
        while spi in h.rx.foreign or spi == SPI:
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
            for k, v in h.expect([f]).items():  # what the reassembled packet meets
                exp[k] = exp.get(k, 0) + v
        frames += parts
    return frames, exp


def icmp6(src, dst, body):
    """An ICMPv6 packet (hop limit 255, as ND requires) with its checksum."""
    pseudo = src + dst + struct.pack(">IxxxB", len(body), 58)
    body = body[:2] + struct.pack(">H", em.csum(pseudo + body)) + body[4:]
    return struct.pack(">IHBB16s16s", 6 << 28, len(body), 58, 255, src, dst) + body


def mac_bytes(rng):
    return bytes([0x02]) + bytes(rng.randrange(256) for _ in range(5))


def ns_flood(h, n=5000):
    """Neighbour solicitations for B's outer IPv6 address from n random
    addresses of the outer /64, each with a link-layer address of its own:
    B answers some (at most 100 a second from hosts it does not know),
    learns none, drops none."""
    tgt = em.ip6(OUTER["B"][6])
    dst = em.ip6("ff02::1:ff00:0")[:13] + tgt[13:]
    dmac = "33:33:" + ":".join(f"{b:02x}" for b in dst[12:])
    frames = []
    for _ in range(n):
        src = tgt[:8] + bytes(h.rng.randrange(256) for _ in range(8))
        mac = mac_bytes(h.rng)
        body = struct.pack(">BBHI16s", 135, 0, 0, 0, tgt) + bytes([1, 1]) + mac
        frames.append(em.eth(dmac, mac.hex(":"), em.ETH_IP6) + icmp6(src, dst, body))
    return frames


def poison(h, n=10):
    """Frames claiming appliance A's outer addresses are at another MAC:
    gratuitous ARP, ARP replies and requests to B (B resolved A's IPv4
    address: neigh_conflict, 3n), advertisements with the override flag for
    A's IPv6 address (nobody asked: neigh_refused, n). None is learned."""
    fake = bytes.fromhex("026666666666")
    a4, b4 = em.ip4(OUTER["A"][4]), em.ip4(OUTER["B"][4])
    a6, b6 = em.ip6(OUTER["A"][6]), em.ip6(OUTER["B"][6])
    frames = []
    for _ in range(n):
        for op, tip, dmac in ((2, a4, "ff:ff:ff:ff:ff:ff"), (2, b4, h.b_mac), (1, b4, h.b_mac)):
            arp = struct.pack(">HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, fake, a4,
                              bytes(6) if op == 1 else bytes.fromhex(h.b_mac.replace(":", "")),
                              tip)
            frames.append(em.eth(dmac, fake.hex(":"), em.ETH_ARP) + arp + bytes(18))
        body = struct.pack(">BBHI16s", 136, 0, 0, 0x20000000, a6) + bytes([2, 1]) + fake
        frames.append(em.eth(h.b_mac, fake.hex(":"), em.ETH_IP6) + icmp6(a6, b6, body))
    return frames


def neighbours(lab, h):
    """The migration network's neighbour abuse (issue 15): a solicitation
    flood, then poisoning; B counts each refusal, drops nothing, and still
    installs an SA towards a peer it never resolved, at once."""
    s0 = lab.stats("apB")
    run_phase(lab, h, "5000 neighbour solicitations from the outer /64", ns_flood(h),
              expected={})
    frames = poison(h)
    run_phase(lab, h, "ARP and ND claiming A's addresses", frames, expected={})
    time.sleep(0.5)
    s1 = lab.stats("apB")
    d = {k: s1[k] - s0[k] for k in ("neigh_refused", "neigh_conflict", "arp_nd_limited",
                                     "neigh_full")}
    log(f"B's neighbour refusals: {d}")
    check(d["arp_nd_limited"] > 0 and d["neigh_full"] == 0,
          "B answered the flood at a bounded rate and never ran out of neighbour entries")
    # 30 ARP against B's entry for A; the 10 advertisements are conflicts too if B
    # had resolved A's IPv6 address, else refused like the flood's answered NS.
    check(30 <= d["neigh_conflict"] <= 40 and d["neigh_refused"] >= 10,
          "no unsolicited ARP or advertisement replaced A's MAC on B (conflicts refused)")
    t = time.monotonic()
    lab.add_sa("apB", 901, "out", 0x5901, OUTER["B"][4], "203.0.113.50",
               ["src=198.18.0.1/32,dst=198.18.0.2/32"], os.urandom(36), tag="after-flood")
    lab.del_sa("apB", 901)
    check(time.monotonic() - t < 10, "after the flood, B installs an SA towards a new peer "
          f"at once ({time.monotonic() - t:.1f} s)")


def drops(lab):
    return lab.stats("apB")["drops"]


def inject(lab, frames):
    """Out of appliance A's outer veth, in order (tests/lib/inject.py)."""
    fd, pcap = tempfile.mkstemp(suffix=".pcap")
    with os.fdopen(fd, "wb") as out:  # pcap: the frames as they are
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for f in frames:
            out.write(struct.pack("<IIII", 0, 0, len(f), len(f)) + f)
    try:
        lab.run("apA", [PY, INJECT, pcap, "outer", str(PPS)], timeout=120)
    finally:
        os.unlink(pcap)


def run_phase(lab, h, name, frames, expected=None):
    """Inject; B's drop counters must grow by the expected count per reason."""
    t = time.monotonic()
    exp = h.expect(frames) if expected is None else expected
    exp_drops = {k: v for k, v in exp.items() if k not in ("delivered", "unseen")}
    s0 = lab.stats("apB")
    before = s0["drops"]
    inject(lab, frames)
    deadline = time.monotonic() + 15
    while True:
        s1 = lab.stats("apB")
        after = s1["drops"]
        got = {k: after[k] - before[k] for k in after if after[k] != before[k]}
        if sum(got.values()) >= sum(exp_drops.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    lost = s1["ports"]["outer"].get("rx_missed", 0) - s0["ports"]["outer"].get("rx_missed", 0)
    if lost:
        log(f"{name}: appliance B's port lost {lost} frames before the data plane saw them "
            f"(af_packet ring full: the polling core was preempted too long)")
    log(f"{name}: {len(frames)} frames in {time.monotonic() - t:.1f} s; expected "
        f"{dict(sorted(exp.items()))}; counted {dict(sorted(got.items()))}")
    check(got == exp_drops, f"{name}: each frame's drop counted under the model's reason, "
          f"nothing else dropped")
    return exp


def host_quiet(lab):
    """No chatter from the hosts during the count: static neighbours, no IPv6."""
    for who, peer in (("A", "B"), ("B", "A")):
        lab.ping(who, HOST[peer][4], count=1)
        line = lab.run(who, ["ip", "neigh", "show", HOST[peer][4], "dev", "eth0"]).stdout.split()
        lab.run(who, ["ip", "neigh", "replace", HOST[peer][4], "lladdr",
                      line[line.index("lladdr") + 1], "dev", "eth0", "nud", "permanent"])
        lab.run(who, ["sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1"])


def main():
    secret, key = os.urandom(40), os.urandom(36)
    t0 = time.monotonic()
    with Lab("it2", env={"AFP_FRAMES": str(RING)}) as lab:
        r = start_migration(lab, "live", [SEL], secret=secret)
        check(r.returncode == 0, "a required migration from A to B started (migsecctl)")
        st = json.loads(ctl(lab, "--json", "status", "--id", "live", appliance("apB")).stdout)
        mig = st["apB"]["migrations"][0]
        live_spis = {s for s in (mig.get("spi_in"), mig.get("spi_in_next"), mig.get("spi_out"))
                     if s}
        oa, ob = OUTER["A"][4], OUTER["B"][4]
        lab.add_sa("apB", 900, "in", SPI, ob, oa,
                   [f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32,proto=udp,dport={SINK_PORT}"],
                   key, tag="hostile")
        host_quiet(lab)
        a_mac = lab.run("apA", ["cat", "/sys/class/net/outer/address"]).stdout.strip()
        b_mac = lab.run("apB", ["cat", "/sys/class/net/outer/address"]).stdout.strip()
        rx = em.Receiver([em.SA(SPI, key, em.ip4(ob), em.ip4(oa))], foreign_spis=live_spis)
        h = Hostile(lab, rx, key, a_mac, b_mac)

        sink = lab.popen("B", [PY, SINK, "--bind", HOST["B"][4], "--port", str(SINK_PORT),
                               "--end", END, "--timeout", "240"])
        sink.stderr.readline()  # "ready"
        s0 = lab.stats("apB")
        xfer = lab.start_transfer(XFER_MIB * MIB, rate_mbps=80, timeout=200)
        time.sleep(1)

        run_phase(lab, h, "valid", [h.frame(f"HS|v{i}", 100) for i in range(40)])
        run_phase(lab, h, "corruption at every offset, fresh", phase_corrupt_fresh(h))
        run_phase(lab, h, "corruption at every offset, replayed", phase_corrupt_replayed(h))
        run_phase(lab, h, "truncation at every length", phase_truncate(h))
        run_phase(lab, h, "wrong SPI", phase_spi(h))
        run_phase(lab, h, "reordering within the window, then replays", phase_reorder(h))
        run_phase(lab, h, "outside the window", phase_window(h))
        run_phase(lab, h, "undersized", phase_sizes(h))
        run_phase(lab, h, "wrong UDP port, IP options, IPv6 fragments", phase_ports_options(h))
        # Oversized: the outer link takes 9000-byte frames for a moment; the
        # port's af_packet ring holds 2048 bytes a frame and cuts the rest.
        for app in ("apA", "apB"):
            lab.run(app, ["ip", "link", "set", "outer", "mtu", "9000"])
        try:
            big = [h.frame(f"HS|big{i}", n) for i, n in enumerate((1500, 1700, 1800) * 10)]
            bad = [f[:-1] + bytes([f[-1] ^ 1]) for f in big]  # tampered, still whole
            cut = [h.frame(f"HS|cut{i}", n) for i, n in enumerate((2100, 4000, 8900) * 10)]
            exp = h.expect(bad)
            exp["outer_malformed"] = exp.get("outer_malformed", 0) + len(cut)
            run_phase(lab, h, "oversized (whole: icv_fail; cut by the port: outer_malformed)",
                      bad + cut, expected=exp)
        finally:
            for app in ("apA", "apB"):
                lab.run(app, ["ip", "link", "set", "outer", "mtu", "1500"])
        frags, exp = ipv4_fragments(h)
        run_phase(lab, h, "IPv4 fragments (reassembled by the kernel for af_packet)", frags,
                  expected=exp)
        neighbours(lab, h)
        run_phase(lab, h, "end marker", [h.frame(END, 8)])

        res = json.loads(sink.communicate(timeout=60)[0])
        alive = xfer[0].poll() is None
        sent, got = lab.finish(xfer)
        s1 = lab.stats("apB")
        log(f"sink: {len(res['received'])} datagrams, end seen {res['end']}; transfer still "
            f"running at the end of the injection: {alive}")
        want = sorted(h.delivered)
        have = sorted("|".join(x.split("|")[:2]) for x in res["received"])
        check(have == want, f"host B received exactly the {len(want)} frames the model "
              f"delivers, each once ({len(have)} arrived; "
              f"missing {sorted(set(want) - set(have))[:5]}, extra {sorted(set(have) - set(want))[:5]})")
        log(f"transfer: sent {sent}; received {got}")
        check("error" not in got and got.get("sha256") == sent.get("sha256")
              and got.get("bytes") == XFER_MIB * MIB,
              f"the transfer's {XFER_MIB} MiB arrived intact (SHA-256)")
        sas = lab.sas("apB")
        live = {i: s for i, s in sas.items() if s["spi"] in live_spis}
        check(live and all(not s["drops"] for s in live.values()),
              f"the migration's SAs dropped nothing ({[s['drops'] for s in live.values()]})")

        d = {k: s1["drops"][k] - s0["drops"][k] for k in s1["drops"]}
        o, i = s1["ports"]["outer"], s1["ports"]["inner"]
        o0, i0 = s0["ports"]["outer"], s0["ports"]["inner"]
        rx_out = o["rx_pkts"] - o0["rx_pkts"]
        opened = s1["opened_pkts"] - s0["opened_pkts"]
        slow = s1["slowpath_pkts"] - s0["slowpath_pkts"]
        sealed = s1["sealed_pkts"] - s0["sealed_pkts"]
        dropped = sum(d.values())
        log(f"B: outer received {rx_out}, opened {opened}, slow path {slow}, dropped {dropped}; "
            f"inner received {i['rx_pkts'] - i0['rx_pkts']}, sealed {sealed}, "
            f"inner sent {i['tx_pkts'] - i0['tx_pkts']}")
        check(rx_out == opened + slow + dropped,
              "B's outer port: received = opened + slow path + dropped")
        check(i["rx_pkts"] - i0["rx_pkts"] == sealed, "B's inner port: received = sealed")
        check(i["tx_pkts"] - i0["tx_pkts"] == opened, "B's inner port: sent = opened")
    log(f"hostile wire: {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
