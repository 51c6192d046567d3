"""perf/vm-bench --quick runs end to end: a 64 MiB VM, one migration per
mode, and every output (runs.csv, modes.csv, results.md, results.json,
vm-bench.png) exists and is whole. No figure is asserted; only what must
hold whatever the machine's load:

- every mode ran, the VM running after each, or (f) only, when QEMU cannot
  do zero-copy-send here, is reported as not possible in QEMU's words;
- (a)-(c) went over the hosts' direct link: the appliances carried
  nothing of them; (b) and (c) used QEMU's TLS, (c) multifd;
- (d)-(f) went through migsec: the source's appliance sealed at least
  the whole stream; (e) and (f) with 2 multifd channels, (f) with
  zero-copy-send on;
- QEMU's refusal of zero-copy-send with TLS is quoted;
- the load average is printed before the start and a loaded run is
  marked not representative (in the CSVs and the Markdown);
- the appliances polled by default as tests/lib/lab_poll.py says:
  interrupt, waiting as soon as a poll finds nothing.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
ALL = ["plain", "tls", "tls-multifd", "migsec", "migsec-multifd", "migsec-zc"]
out = tempfile.mkdtemp(prefix="pf-vmbench-")
try:
    r = subprocess.run(["/usr/bin/python3", os.path.join(TOP, "perf", "vm-bench"), "--quick",
                        "--out", out], timeout=400, capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    assert r.returncode == 0, f"perf/vm-bench exited {r.returncode}"
    first = r.stdout.splitlines()[0]
    assert first.startswith("[vm-bench") and "load average" in first, first
    with open(os.path.join(out, "vm-bench.png"), "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n", "vm-bench.png"
    with open(os.path.join(out, "results.json")) as f:
        res = json.load(f)
    # tests/lib/lab_poll.py's default
    assert (res["poll"], res["sleep_after_us"]) == ("interrupt", 0), (res["poll"],
                                                                      res["sleep_after_us"])
    rep = res["representative"]
    assert ("NOT REPRESENTATIVE" in first) == (not rep), (first, rep)

    refused = res["refused"]
    assert set(refused) <= {"migsec-zc"}, f"only (f) may be refused: {refused}"
    # QEMU's TLS/compression refusal would be the bench's own doing: (f) has neither
    assert all(v.strip() and "non-TLS" not in v for v in refused.values()), refused
    assert "Zero copy" in (res["tls_zero_copy"] or ""), res["tls_zero_copy"]
    runs = res["runs"]
    assert sorted(runs) == sorted(m for m in ALL if m not in refused), sorted(runs)
    for mode, rs in runs.items():
        assert len(rs) == 1, (mode, len(rs))   # --quick: one round
        t = rs[0]
        app = t["appliances"]
        assert t["runs"] and t["ram_transferred"] >= (32 << 20), (mode, t["ram_transferred"])
        direct = mode in ("plain", "tls", "tls-multifd")
        assert t["direct"] == direct and t["tls"] == mode.startswith("tls"), mode
        assert t["multifd"] == (2 if mode.endswith("multifd") or mode == "migsec-zc" else 0), mode
        if direct:
            seen = sum(app[x][k] for x in app for k in ("sealed_bytes", "bypass_bytes",
                                                         "opened_bytes"))
            assert seen < t["ram_transferred"] // 100, (mode, seen)
        else:
            src = {"A": "apA", "B": "apB"}[t["from"]]
            assert app[src]["sealed_bytes"] >= t["ram_transferred"], (mode, app[src])
        assert t["zero_copy"] == (mode == "migsec-zc"), (mode, t["zero_copy"])

    with open(os.path.join(out, "modes.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [x["mode"] for x in rows] == [m for m in ALL if m in runs], rows
    for x in rows:
        assert x["representative"] == ("yes" if rep else "no"), x
        assert float(x["seconds"]) > 0 and float(x["gbps"]) > 0, x
        assert (x["app_busy"] == "") == (x["mode"] in ("plain", "tls", "tls-multifd")), x
    with open(os.path.join(out, "runs.csv")) as f:
        assert len(list(csv.DictReader(f))) == len(runs)
    with open(os.path.join(out, "results.md")) as f:
        md = f.read()
    assert "| (a) plaintext, direct link |" in md and "source host" in md, md
    assert ("NOT REPRESENTATIVE" in md) == (not rep), md
    print(f"ok: perf/vm-bench --quick: {len(runs)} modes measured"
          + (f", (f) not possible here: {refused['migsec-zc']}" if refused else "")
          + f"; outputs whole; load {res['load_before']:.2f}, "
          + ("representative" if rep else "marked not representative"))
finally:
    shutil.rmtree(out, ignore_errors=True)
