"""perf/bench --quick runs end to end and writes its CSV, Markdown and PNG
files. No figure is checked: only that every output exists and is whole."""
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from ptcheck import need  # noqa: E402

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
out = tempfile.mkdtemp(prefix="pf-bench-")
try:
    r = subprocess.run([sys.executable, os.path.join(TOP, "perf", "bench"), "--quick", "--out", out],
                       timeout=400)
    need(r.returncode == 0, f"perf/bench exited {r.returncode}")
    for f in ("throughput.png", "ratio.png"):
        with open(os.path.join(out, f), "rb") as fh:
            need(fh.read(8) == b"\x89PNG\r\n\x1a\n", f)
    with open(os.path.join(out, "sizes.csv")) as f:
        rows = list(csv.DictReader(f))
    need([r["size"] for r in rows] == ["1420", "8192"], rows)
    for r in rows:
        need(float(r["raw_cpp"]) > 0 and float(r["migsec_cpp"]) > 0 and int(r["sent"]) > 0, r)
    with open(os.path.join(out, "extras.csv")) as f:
        tests = [r["test"] for r in csv.DictReader(f)]
    need(tests == ["workers=1", "workers=2", "migrations=1", "migrations=64", "rekey", "latency"], tests)
    with open(os.path.join(out, "ring.csv")) as f:
        ring = list(csv.DictReader(f))
    cases = {(r["pages"], r["case"], r["size"]) for r in ring}
    for c in ("one", "spread", "runs"):
        for size in ("1420", "4096", "8192"):
            need(("4k", c, size) in cases, (c, size, sorted(cases)))
    for r in ring:
        need(float(r["cpp"]) > float(r["io_cpp"]) >= 0, r)
        need(float(r["raw_cpp"]) > 0, r)
    with open(os.path.join(out, "results.md")) as f:
        md = f.read()
    need("| 1420 |" in md and "Goals:" in md and "rekey under load" in md, md)
    need("SA installs" in md and "one more beside them" in md, md)
    need("## Low-copy test bed" in md and "ring bed (4k pages), seal+open at 8192 B" in md, md)
    # Quiet or not, results.md says which, and holds the README's table only when quiet.
    quiet = md.startswith("# migsec benchmark") and "\nQuiet: " in md
    need(quiet or "NOT REPRESENTATIVE: " in md, md[:400])
    need(("## For the README" in md) == quiet, md[-600:])
    print("ok: perf/bench --quick wrote sizes.csv, extras.csv, ring.csv, results.md, throughput.png, ratio.png")
finally:
    shutil.rmtree(out, ignore_errors=True)
