"""gen -> sink over one memif link: every page checked, nothing lost,
duplicated, reordered or corrupt; the live lines and CSV are written."""
import csv
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "perf"))
import pflab as L  # noqa: E402
from ptcheck import need  # noqa: E402

N = 40000

with L.Bed("tdirect") as bed:
    sock = bed.path("a.sock")
    out = bed.path("sink.csv")
    sink = bed.pktgen("sink", [L.memif(0, "server", sock)],
                      ["--sink", 0, "--idle-exit", 1, "--run", 60, "--csv", out], cpu=1)
    L.wait_socket(sock)
    gen = bed.pktgen("gen", [L.memif(0, "client", sock)],
                     ["--gen", 0, "--size", 4156, "--flows", 64, "--count", N, "--rate-pps", 20000,
                      "--dmac", "02:00:00:00:00:01"])
    gen.wait(60)
    sink.wait(60)
    g, s = gen.summary()["gen"], sink.summary()["sink"]
    L.log(f"gen {g}\nsink {s}")
    need(g["tx_pkts"] == N and g["done"] == 1, g)
    need(s["unique"] == N and s["rx_pkts"] == N, s)
    need(s["lost"] == 0 and s["dup"] == 0 and s["reordered"] == 0 and s["corrupt"] == 0, s)
    need(s["lat_samples"] == N and s["p50_us"] > 0, s)
    need("[" in sink.text() and "sink" in sink.text(), "live lines")
    with open(out) as f:
        rows = list(csv.DictReader(f))
    need(rows and rows[-1]["t_s"] == "final" and int(rows[-1]["unique"]) == N, rows[-1:])
    L.log("ok: gen -> sink, 40000 pages of 4 KiB in 64 flows, every byte checked")
