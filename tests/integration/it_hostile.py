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
    inner received = sealed, inner sent = opened; every frame that reached
    B's outer veth was read by the data plane or taken by the kernel's
    defragmentation, and every frame A's outer veth sent was A's data
    plane's or the injector's.

No frame can be lost on its way to B's data plane, however long B's
polling core is preempted (tests/lib/hostile_wire.py: the injector waits
for a sentinel every BATCH frames, host B's receive buffer bounds the
transfer's frames in flight, and the sum fits B's af_packet ring and a
CPU's backlog). So every phase checks: frames sent (sentinels included) =
judged by B (dropped by reason + opened, or handed to the control thread)
+ taken by defragmentation + lost in B's ring (rx_kernel_drops), and that
nothing was lost (rx_kernel_drops and A's veth tx_dropped unchanged): a
loss means the bound is wrong, and the test fails saying so.
"""
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import esp_model as em  # noqa: E402
from migsec_lab import (HOST, OUTER, PY, TOP, Lab, check, ctl, log,  # noqa: E402
                        start_migration, appliance)
from hostile_wire import (RCVBUF, RING, account, inject, loss_bound, opened,  # noqa: E402
                         port_identities, quiet, veth)

from hostile_frames import (PLAIN_SRC, SINK_PORT, SPI2, Hostile, ipv4_fragments,  # noqa: E402
                            phase_behind, phase_corrupt_fresh, phase_corrupt_replayed, phase_inside,
                            phase_ports_options, phase_sizes, phase_spi, phase_reorder,
                            phase_truncate, phase_window, pick_spi)

SINK = os.path.join(TOP, "tests", "lib", "udp_sink.py")
MIB = 1 << 20
END = "HS|END"
SEL = f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32"
XFER_MIB = 256      # at 80 Mbit/s: outlasts the injection on a loaded machine


def drops(lab):
    return lab.stats("apB")["drops"]


def only_drops(tally):
    return {k: v for k, v in tally.items() if k not in ("delivered", "unseen") and v}


def settle(lab, before, exp_drops, opened0=None, exp_opened=0, timeout=15):
    """Wait until B's drops grew by at least the expected total (and, with
    opened0, the hostile SA opened as many as expected); the growth."""
    deadline = time.monotonic() + timeout
    while True:
        s1 = lab.stats("apB")
        after = s1["drops"]
        got = {k: after[k] - before[k] for k in after if after[k] != before[k]}
        done = opened0 is None or opened(lab) - opened0 >= exp_opened
        if done and sum(got.values()) >= sum(exp_drops.values()) or \
                time.monotonic() > deadline:
            return s1, got
        time.sleep(0.1)


def inject_waiting(lab, h, name, frames, waits, before, opened0, sentinel):
    """Inject in pieces: before each frame in waits, every earlier frame has
    been counted (the model's reason for it holds only then)."""
    cuts = [0] + waits + [len(frames)]
    for a, b in zip(cuts, cuts[1:]):
        if a == b:
            continue
        if a:
            want = only_drops(h.prefix_tally[a])
            n = h.prefix_tally[a].get("delivered", 0)
            s1, got = settle(lab, before, want, opened0, n)
            check(got == want and opened(lab) - opened0 == n,
                  f"{name}: before frame {a}, whose reason depends on the frames before it, B "
                  f"has counted every earlier one as the model says ({got}, {n} opened)")
        inject(lab, h, frames[a:b], sentinel)


def run_phase(lab, h, name, frames, expected=None, slow=False, sentinel=True):
    """Inject; B's drop counters must grow by the expected count per reason,
    and every frame sent must be accounted for (account()). slow: frames
    the control thread answers (the model does not decide them)."""
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
    s0, opened0, sent0, refused0 = lab.stats("apB"), opened(lab), h.sentinels, \
        veth(lab, "apA")["tx_dropped"]
    before = s0["drops"]
    inject_waiting(lab, h, name, frames, waits, before, opened0, sentinel)
    s1, got = settle(lab, before, exp_drops, opened0, exp.get("delivered", 0))
    h.waited += len(waits)
    h.unseen += exp.get("unseen", 0)
    log(f"{name}: {len(frames)} frames and {h.sentinels - sent0} sentinels in "
        f"{time.monotonic() - t:.1f} s ({len(waits)} waited for the frames before them); "
        f"expected {dict(sorted(exp.items()))}; counted {dict(sorted(got.items()))}")
    n = opened(lab) - opened0
    account(lab, h, name, s0, s1, len(frames) + h.sentinels - sent0, got, n,
            exp.get("unseen", 0), refused0, slow)
    check(got == exp_drops and n == exp.get("delivered", 0), f"{name}: each frame's drop "
          f"counted under the model's reason, nothing else dropped, the {n} opened delivered")
    top = lab.sas("apB")[900].get("top_seq")
    check(top == h.rx.sas[h.spi].win.top, f"{name}: the hostile SA's window top is the "
          f"model's ({top})")
    return exp


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
              expected={}, slow=True)
    frames = poison(h)
    run_phase(lab, h, "ARP and ND claiming A's addresses", frames, expected={}, slow=True)
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
    lab.add_sa("apB", 951, "out", 0x5951, OUTER["B"][4], "203.0.113.50",
               ["src=192.0.2.101/32,dst=192.0.2.102/32"], os.urandom(36), tag="after-flood")
    lab.del_sa("apB", 951)
    check(time.monotonic() - t < 10, "after the flood, B installs an SA towards a new peer "
          f"at once ({time.monotonic() - t:.1f} s)")


def host_quiet(lab):
    """No chatter from the hosts during the count: static neighbours, no IPv6."""
    for who, peer in (("A", "B"), ("B", "A")):
        lab.ping(who, HOST[peer][4], count=1)
        line = lab.run(who, ["ip", "neigh", "show", HOST[peer][4], "dev", "eth0"]).stdout.split()
        lab.run(who, ["ip", "neigh", "replace", HOST[peer][4], "lladdr",
                      line[line.index("lladdr") + 1], "dev", "eth0", "nud", "permanent"])
        lab.run(who, ["sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1"])
    # the sentinels' inner source (PLAIN_SRC) has no route on host B
    lab.run("B", ["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0",
                  "net.ipv4.conf.eth0.rp_filter=0"])


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
        a_mac = lab.port_mac("apA", "outer")
        b_mac = lab.port_mac("apB", "outer")
        live = [em.SA(x, None, em.ip4(ob), em.ip4(oa), [SEL], follow=False) for x in
                (mig.get("spi_in"), mig.get("spi_in_next")) if x]
        rx = em.Receiver([em.SA(spi, key, em.ip4(ob), em.ip4(oa), [sel]),
                          em.SA(SPI2, key2, em.ip4(ob), em.ip4(oa), [sel2])] + live)
        h = Hostile(lab, rx, key, spi, a_mac, b_mac, key2)

        sink = lab.popen("B", [PY, SINK, "--bind", HOST["B"][4], "--port", str(SINK_PORT),
                               "--end", END, "--timeout", "240"])
        sink.stderr.readline()  # "ready"
        s0, a0 = lab.stats("apB"), lab.stats("apA")
        va0, vb0 = veth(lab, "apA"), veth(lab, "apB")
        xfer = lab.start_transfer(XFER_MIB * MIB, rate_mbps=80, timeout=200, rcvbuf=RCVBUF)
        time.sleep(1)
        loss_bound(lab)

        run_phase(lab, h, "valid", [h.frame(f"HS|v{i}", 100) for i in range(40)])
        run_phase(lab, h, "corruption at every offset, fresh", phase_corrupt_fresh(h))
        run_phase(lab, h, "corruption at every offset, replayed", phase_corrupt_replayed(h))
        run_phase(lab, h, "truncation at every length", phase_truncate(h))
        run_phase(lab, h, "wrong SPI", phase_spi(h))
        run_phase(lab, h, "reordering within the window, then replays", phase_reorder(h))
        run_phase(lab, h, "outside the window", phase_window(h))
        behind = run_phase(lab, h, "forged copies right behind their originals", phase_behind(h))
        check(behind == {"delivered": 5, "replay": 5}, "each copy was a replay (the test waited "
              "for its original)")
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
        neighbours(lab, h)
        run_phase(lab, h, "end marker", [h.frame(END, 8)], sentinel=False)  # the sink stops

        res = json.loads(sink.communicate(timeout=60)[0])
        alive = xfer[0].poll() is None
        sent, got = lab.finish(xfer)
        s1, vb1, a1, va1 = quiet(lab)
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
        port_identities(h, s0, vb0, a0, va0, s1, vb1, a1, va1)
    log(f"hostile wire: {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
