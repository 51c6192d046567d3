"""Each impairment mode of migsec-pktgen shows up in the sink's counters:
gen -> impair -> sink over memif, one mode at a time, from a seed."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "perf"))
import pflab as L  # noqa: E402
from ptcheck import need  # noqa: E402

N = 4000


def run(mode, args):
    with L.Bed(f"timp{mode}") as bed:
        a, b, c = bed.path("a.sock"), bed.path("b.sock"), bed.path("c.sock")
        # Servers before their clients: sink, then the impairer, then the generator.
        sink = bed.pktgen("sink", [L.memif(0, "server", b)], ["--sink", 0, "--idle-exit", 1,
                                                              "--run", 50, "--quiet"], cpu=1)
        L.wait_socket(b)
        imp = bed.pktgen("imp", [L.memif(0, "server", a), L.memif(1, "client", b)],
                         ["--impair", "0,1", "--seed", 7, *args], cpu=1)
        L.wait_socket(a)
        gen = bed.pktgen("gen", [L.memif(0, "client", a)],
                         ["--gen", 0, "--size", 1420, "--flows", 8, "--count", N,
                          "--rate-pps", 10000, "--dmac", "02:00:00:00:00:01", "--quiet"])
        gen.wait(60)
        sink.wait(60)
        imp.stop()
        i, s = imp.summary()["impair"], sink.summary()["sink"]
        L.log(f"{mode}: impair {i}\n{mode}: sink {s}")
        return i, s


i, s = run("drop", ["--drop", 0.05])
need(i["dropped"] > 0 and s["unique"] == N - i["dropped"], (i, s))
# A flow's last pages, if dropped, leave no gap the sink can see (8 flows).
need(i["dropped"] - 8 * 3 <= s["lost"] <= i["dropped"], (i, s))
need(s["corrupt"] == 0 and s["dup"] == 0, s)
L.log(f"ok: drop: {i['dropped']} dropped, the sink counts {s['lost']} lost")

i, s = run("corrupt", ["--corrupt", 0.05])
# A flipped byte in the UDP ports or length is not part of what the sink checks.
need(i["corrupted"] > 0 and 0.9 * i["corrupted"] <= s["corrupt"] <= i["corrupted"], (i, s))
need(s["unique"] + s["corrupt"] <= N and s["dup"] == 0, s)
L.log(f"ok: corrupt: {i['corrupted']} corrupted, the sink counts {s['corrupt']} corrupt")

i, s = run("duplicate", ["--duplicate", 0.05])
need(i["duplicated"] > 0 and s["dup"] == i["duplicated"] and s["lost"] == 0, (i, s))
L.log(f"ok: duplicate: {i['duplicated']} duplicated, the sink counts {s['dup']} duplicates")

i, s = run("reorder", ["--reorder", 0.05, "--reorder-gap", 20])
# Held back 20 frames (8 flows): later pages of its own flow overtake it.
# One held near the very end may be released by time, in order.
need(i["reordered"] > 0 and i["reordered"] - 20 <= s["reordered"] <= i["reordered"], (i, s))
need(s["lost"] == 0 and s["dup"] == 0 and s["unique"] == N, s)
L.log(f"ok: reorder: {i['reordered']} held back, the sink counts {s['reordered']} reordered")

i, s = run("replay", ["--replay", 0.05, "--replay-gap", 100])
need(i["replayed"] > 0 and s["dup"] == i["replayed"] and s["lost"] == 0, (i, s))
L.log(f"ok: replay: {i['replayed']} replayed, the sink counts {s['dup']} duplicates")

i, s = run("delay", ["--delay-us", 3000])
# The delay line holds every frame for 3 ms of TSC: a lower bound, not a speed.
need(i["delayed"] == N and s["unique"] == N and s["p50_us"] >= 3000, (i, s))
L.log(f"ok: delay: {i['delayed']} delayed 3 ms, the sink's p50 is {s['p50_us']:.0f} us")
