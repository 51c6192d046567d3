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
  fragments.

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
SPI2 = 0x6001       # a second hostile SA, for plaintext its selectors cover
PLAIN_SRC = "198.51.100.77"
SINK_PORT = 9999
END = "HS|END"
SEL = f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32"
PPS = 5000          # injection rate, beside the transfer
RING = 4096         # frames in each af_packet ring (the lab's default is 512)
XFER_MIB = 256      # at 80 Mbit/s: outlasts the injection on a loaded machine


class Hostile:
    """Frames for the hostile SA, the model's verdicts, and the tally."""

    def __init__(self, lab, rx, key, spi, a_mac, b_mac):
        self.lab, self.rx, self.key, self.spi = lab, rx, key, spi
        self.a_mac, self.b_mac = a_mac, b_mac
        self.seq = 0            # last fresh sequence number used
        self.ident = 0          # IPv4 ID: no two frames share a reassembly queue
        self.accepted = []      # frames the model delivered, in order
        self.delivered = []     # their markers
        self.slow_drops = 0     # frames the control thread was handed and dropped
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


def only_drops(tally):
    return {k: v for k, v in tally.items() if k not in ("delivered", "unseen") and v}


def settle(lab, before, exp_drops, timeout=15):
    """Wait until B's drops grew by at least the expected total; the growth."""
    deadline = time.monotonic() + timeout
    while True:
        s1 = lab.stats("apB")
        after = s1["drops"]
        got = {k: after[k] - before[k] for k in after if after[k] != before[k]}
        if sum(got.values()) >= sum(exp_drops.values()) or time.monotonic() > deadline:
            return s1, got
        time.sleep(0.1)


def inject_waiting(lab, h, name, frames, waits, before):
    """Inject in pieces: before each frame in waits, every earlier frame has
    been counted (the model's reason for it holds only then)."""
    cuts = [0] + waits + [len(frames)]
    for a, b in zip(cuts, cuts[1:]):
        if a == b:
            continue
        if a:
            want = only_drops(h.prefix_tally[a])
            s1, got = settle(lab, before, want)
            check(got == want, f"{name}: before frame {a}, whose reason depends on the "
                  f"frames before it, B has counted every earlier one as the model says "
                  f"({got} vs {want})")
        inject(lab, frames[a:b])


def run_phase(lab, h, name, frames, expected=None):
    """Inject; B's drop counters must grow by the expected count per reason."""
    t = time.monotonic()
    if expected is None:
        exp, waits, h.prefix_tally = {}, [], [{}]
        for f in frames:  # the tally before each frame, for the waits
            e, w = h.expect([f])
            waits += [len(h.prefix_tally) - 1] if w else []
            for k, v in e.items():
                exp[k] = exp.get(k, 0) + v
            h.prefix_tally.append(dict(exp))
    else:
        exp, waits = expected, []
    exp_drops = only_drops(exp)
    s0 = lab.stats("apB")
    before = s0["drops"]
    inject_waiting(lab, h, name, frames, waits, before)
    s1, got = settle(lab, before, exp_drops)
    lost = s1["ports"]["outer"].get("rx_missed", 0) - s0["ports"]["outer"].get("rx_missed", 0)
    if lost:
        log(f"{name}: appliance B's port lost {lost} frames before the data plane saw them "
            f"(af_packet ring full: the polling core was preempted too long)")
    log(f"{name}: {len(frames)} frames in {time.monotonic() - t:.1f} s ({len(waits)} "
        f"waited for the frames before them); expected {dict(sorted(exp.items()))}; "
        f"counted {dict(sorted(got.items()))}")
    check(got == exp_drops, f"{name}: each frame's drop counted under the model's reason, "
          f"nothing else dropped")
    top = lab.sas("apB")[900].get("top_seq")
    check(top == h.rx.sas[h.spi].win.top, f"{name}: the hostile SA's window top is the "
          f"model's ({top})")
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
    secret, key, key2 = os.urandom(40), os.urandom(36), os.urandom(36)
    t0 = time.monotonic()
    with Lab("it2", env={"AFP_FRAMES": str(RING)}) as lab:
        r = start_migration(lab, "live", [SEL], secret=secret)
        check(r.returncode == 0, "a required migration from A to B started (migsecctl)")
        st = json.loads(ctl(lab, "--json", "status", "--id", "live", appliance("apB")).stdout)
        mig = st["apB"]["migrations"][0]
        live_spis = {s for s in (mig.get("spi_in"), mig.get("spi_in_next"), mig.get("spi_out"))
                     if s}
        oa, ob = OUTER["A"][4], OUTER["B"][4]
        spi = pick_spi(live_spis)
        sel = f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32,proto=udp,dport={SINK_PORT}"
        sel2 = f"src={PLAIN_SRC}/32,dst={HOST['B'][4]}/32"
        lab.add_sa("apB", 900, "in", spi, ob, oa, [sel], key, tag="hostile")
        lab.add_sa("apB", 901, "in", SPI2, ob, oa, [sel2], key2, tag="hostile2")
        host_quiet(lab)
        a_mac = lab.run("apA", ["cat", "/sys/class/net/outer/address"]).stdout.strip()
        b_mac = lab.run("apB", ["cat", "/sys/class/net/outer/address"]).stdout.strip()
        live = [em.SA(x, None, em.ip4(ob), em.ip4(oa), [SEL], follow=False) for x in
                (mig.get("spi_in"), mig.get("spi_in_next")) if x]
        rx = em.Receiver([em.SA(spi, key, em.ip4(ob), em.ip4(oa), [sel]),
                          em.SA(SPI2, key2, em.ip4(ob), em.ip4(oa), [sel2])] + live)
        h = Hostile(lab, rx, key, spi, a_mac, b_mac)

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
            exp, waits = h.expect(bad)
            check(not waits, "oversized: no frame's reason depends on the ones before it")
            exp["outer_malformed"] = exp.get("outer_malformed", 0) + len(cut)
            run_phase(lab, h, "oversized (whole: icv_fail; cut by the port: outer_malformed)",
                      bad + cut, expected=exp)
        finally:
            for app in ("apA", "apB"):
                lab.run(app, ["ip", "link", "set", "outer", "mtu", "1500"])
        frags, exp = ipv4_fragments(h)
        run_phase(lab, h, "IPv4 fragments (reassembled by the kernel for af_packet)", frags,
                  expected=exp)
        run_phase(lab, h, "authentic but wrong inside; plaintext an SA covers", phase_inside(h))
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
        check(rx_out == opened + slow + dropped - h.slow_drops,
              f"B's outer port: received = opened + slow path + dropped (less the "
              f"{h.slow_drops} frames the slow path was handed and dropped, counted in both)")
        check(i["rx_pkts"] - i0["rx_pkts"] == sealed, "B's inner port: received = sealed")
        check(i["tx_pkts"] - i0["tx_pkts"] == opened, "B's inner port: sent = opened")
    log(f"hostile wire: {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
