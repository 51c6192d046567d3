"""gen -> appliance A -> appliance B -> sink over memif: pages sealed by A,
opened by B, every byte checked by the sink. Then with an impairer on the
migration link: corrupted ESP fails B's ICV, replayed ESP is caught by B's
window; nothing bad reaches the sink."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "perf"))
import pflab as L  # noqa: E402
from ptcheck import need  # noqa: E402

N = 20000


def two_appliances(bed, impair_args=None):
    gi, ao, bo, si = (bed.path(f) for f in ("gi.sock", "ao.sock", "bo.sock", "si.sock"))
    a = bed.appliance("A", L.memif(0, "server", gi), L.memif(1, "server", ao))
    b_outer = L.memif(1, "client", ao) if impair_args is None else L.memif(1, "server", bo)
    b = bed.appliance("B", L.memif(0, "server", si), b_outer, outer4=L.OUTER_B,
                      inner4="192.0.2.254", remote=L.INNER_A, via=L.OUTER_A)
    imp = None
    if impair_args is not None:
        imp = bed.pktgen("imp", [L.memif(0, "client", ao), L.memif(1, "client", bo)],
                         ["--impair", "0,1", "--seed", 3, "--quiet", *impair_args], cpu=0)
    ks = L.keysalt()
    a.add_sa(1, "out", 0x1001, L.OUTER_A, L.OUTER_B, [L.sel()], ks)
    b.add_sa(1, "in", 0x1001, L.OUTER_B, L.OUTER_A, [L.sel()], ks)
    sink = bed.pktgen("sink", [L.memif(0, "client", si)],
                      ["--sink", 0, "--run", 90, "--idle-exit", 10, "--quiet"], cpu=1)
    # warm-up: both appliances resolve their next hops
    for i in range(10):
        w = bed.pktgen(f"genw{i}", [L.memif(0, "client", gi)],
                       ["--gen", 0, "--count", 20, "--rate-pps", 200, "--size", 1420, "--quiet"])
        w.wait(60)
        if b.stats()["opened_pkts"] >= 20:
            break
    return a, b, imp, sink, gi


def traffic(bed, a, b, gi):
    sa0, sb0 = a.stats(), b.stats()
    gen = bed.pktgen("gen", [L.memif(0, "client", gi)],
                     ["--gen", 0, "--size", 1420, "--flows", 32, "--count", N, "--rate-pps", 10000,
                      "--quiet"])
    gen.wait(90)
    return gen, sa0, sb0


with L.Bed("tapp") as bed:
    a, b, _, sink, gi = two_appliances(bed)
    gen, sa0, sb0 = traffic(bed, a, b, gi)
    sink.wait(90)
    s, sa, sb = sink.summary()["sink"], a.stats(), b.stats()
    L.log(f"sink {s}")
    # The warm-up pages were flow 0, sequence 0.. too: the sink sees them again.
    warm = sb0["opened_pkts"]
    # Nothing is lost silently: every page B opened reached the sink or was
    # counted by B on the way out (on a loaded 2-core machine the sink's MAC
    # may still be resolving, or the sink's memif ring may be full).
    d = {k: v - sb0["drops"][k] for k, v in sb["drops"].items() if v != sb0["drops"][k]}
    out = sum(d.get(k, 0) for k in ("no_neighbor", "tx_full", "no_mbuf"))
    # (a warm-up page can stand in for a main-run page with the same flow
    # and sequence, hence the slack of `warm` on the upper side only)
    need(N <= s["unique"] + out <= N + warm and s["unique"] <= N, (s, d, warm))
    need(s["dup"] <= warm, (s, warm))
    need(set(d) <= {"no_neighbor", "tx_full", "no_mbuf"}, d)
    # Losses on the way out are the exception, not half the run.
    need(out <= N // 20, f"B dropped {out} of {N} pages on the way to the sink", (s, d))
    need(s["corrupt"] == 0 and s["reordered"] == 0, s)
    need(sa["sealed_pkts"] - sa0["sealed_pkts"] == N, sa)
    need(sb["opened_pkts"] - sb0["opened_pkts"] == N, sb)
    L.log(f"ok: {N} pages of 1420 B sealed by A, opened by B, every byte checked by the sink")

with L.Bed("tappimp") as bed:
    a, b, imp, sink, gi = two_appliances(bed, ["--corrupt", 0.02, "--replay", 0.02,
                                               "--replay-gap", 50])
    gen, sa0, sb0 = traffic(bed, a, b, gi)
    sink.wait(90)
    imp.stop()
    s, sa, sb, i = sink.summary()["sink"], a.stats(), b.stats(), imp.summary()["impair"]
    d = {k: v - sb0["drops"][k] for k, v in sb["drops"].items() if v != sb0["drops"][k]}
    da = {k: v - sa0["drops"][k] for k, v in sa["drops"].items() if v != sa0["drops"][k]}
    # The test bed's own losses (memif rings, the impairer's and the sink's
    # CPU), not migsec's: what A put on the migration link that the impairer
    # never took in (it forwards what it receives plus its replayed copies),
    # what the impairer forwarded that B never received, and what B sent
    # towards the sink that the sink never received.
    def delta(st, st0, port, key):
        return st["ports"][port][key] - st0["ports"][port][key]

    a_tx = delta(sa, sa0, "outer", "tx_pkts")
    legs = (max(0, a_tx - (i["fwd"] - i["replayed"] - i["duplicated"])),
            max(0, i["fwd"] - delta(sb, sb0, "outer", "rx_pkts")),
            max(0, delta(sb, sb0, "inner", "tx_pkts") - s["rx_pkts"]))
    bed_lost = sum(legs)
    L.log(f"impair {i}\nA drops {da}, A sent {a_tx} on the migration link; the test bed lost "
          f"{legs[0]} before the impairer, {legs[1]} after it, {legs[2]} before the sink"
          f"\nB drops {d}\nsink {s}")
    need(set(da) <= {"no_neighbor", "tx_full", "no_mbuf"}, da)
    need(bed_lost <= N // 5, f"the test bed lost {bed_lost} of {a_tx} frames ({legs}): too "
         f"many to judge migsec by", (i, a_tx))
    need(i["corrupted"] > 0 and i["replayed"] > 0, i)
    need(s["corrupt"] == 0 and s["dup"] <= sb0["opened_pkts"], s)
    # Every corrupted frame is dropped by B under some reason (mostly icv_fail),
    # and every drop is an impaired frame's (a corrupted sequence number may
    # land on a seen one: replay before the ICV).
    need(d.get("icv_fail", 0) > 0 and d.get("replay", 0) > 0, d)
    out = sum(d.get(k, 0) for k in ("no_neighbor", "tx_full", "no_mbuf"))
    out_a = sum(da.get(k, 0) for k in ("no_neighbor", "tx_full", "no_mbuf"))
    need(i["corrupted"] <= sum(d.values()) - out <= i["corrupted"] + i["replayed"], (d, i))
    # Each corrupted frame costs the sink at most its page; nothing else is lost
    # but what the appliances counted on their way out and what the test bed
    # lost before the impairer.
    need(N - i["corrupted"] - out - out_a - bed_lost <= s["unique"] <= N
         and out + out_a <= N // 20, (s, d, da, i, bed_lost))
    need(d.get("replay", 0) + d.get("outside_window", 0) <= i["replayed"] + i["corrupted"], (d, i))
    L.log(f"ok: {i['corrupted']} corrupted and {i['replayed']} replayed ESP packets: B dropped "
          f"{d.get('icv_fail', 0)} on the ICV and {d.get('replay', 0)} as replays; none reached the sink")
