"""perf/idle-bench --quick runs end to end: busy and adaptive appliances
measured idle, under load and on the first packet after idle. No figure is
asserted; only what must hold whatever the machine's load: the adaptive
worker slept and the busy one never did, every single page sent after an
idle period came back, and both modes carried traffic under load."""
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from ptcheck import need  # noqa: E402

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
out = tempfile.mkdtemp(prefix="pf-idle-")
try:
    r = subprocess.run([sys.executable, os.path.join(TOP, "perf", "idle-bench"), "--quick",
                        "--out", out], timeout=400)
    need(r.returncode == 0, f"perf/idle-bench exited {r.returncode}")
    with open(os.path.join(out, "idle.csv")) as f:
        rows = {r["mode"]: r for r in csv.DictReader(f)}
    need(set(rows) == {"busy", "adaptive"}, rows)
    b, d = rows["busy"], rows["adaptive"]
    need(int(b["sleeps"]) == 0 and b["power"] == "off", b)
    need(int(d["sleeps"]) > 0 and d["power"] in ("pause", "monitor"), d)
    for r in (b, d):
        need(int(r["first_pkts"]) == 10, r)          # --quick sends 10 single pages
        need(float(r["load_gbps"]) > 0 and float(r["idle_core_share"]) >= 0, r)
    with open(os.path.join(out, "idle.md")) as f:
        md = f.read()
    need("| adaptive |" in md and "first packet after idle" in md, md)
    print("ok: perf/idle-bench --quick wrote idle.csv and idle.md; adaptive slept, busy did not")
finally:
    shutil.rmtree(out, ignore_errors=True)
