#!/usr/bin/python3
"""Integration, for the ThreadSanitizer build: two workers per appliance
with everything else going on at once.

One migration over two lanes per direction (both workers seal and open);
four TCP connections at once; while they run, a rekey (both appliances
install and retire SAs: new snapshots published under RCU while both
workers read them) and the counters read again and again through the
control socket and through DPDK's telemetry (another thread, another RCU
reader). Every connection arrives intact, nothing is dropped as replay,
the SAs of generation 0 are retired; then both data planes stop on SIGTERM
(workers stopped, every key wiped).

In a sanitizer build (SANITIZE, from tests/meson.build) every process of
the lab writes its reports to a file of its own (log_path=...); any such
file fails the test and is printed whole, with the process it came from.
setup.sh runs this from build-tsan/ only (suite race); it passes in any
build.
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import HOST, Lab, appliance, check, ctl, log, start_migration  # noqa: E402

MIB = 1 << 20
APPS = ("apA", "apB")
SANITIZE = os.environ.get("SANITIZE", "none")
# Paced so that the rekey and the counter reads happen while all four run
# (about 6 s each; checked).
CONNS, SIZE, RATE_MBPS = 4, 12 * MIB, 16


def sanitizer_env(logdir):
    """Reports to logdir/tsan.PID (ThreadSanitizer) or logdir/san.PID (ASan, UBSan)."""
    if "thread" in SANITIZE:
        base = os.environ.get("TSAN_OPTIONS", "halt_on_error=1:exitcode=66")
        return {"TSAN_OPTIONS": f"{base}:log_path={logdir}/tsan"}
    if SANITIZE not in ("", "none"):
        return {"ASAN_OPTIONS": f"detect_leaks=0:log_path={logdir}/san",
                "UBSAN_OPTIONS": f"print_stacktrace=1:log_path={logdir}/san"}
    return {}


def generation(lab):
    st = json.loads(ctl(lab, "--json", "status", *[appliance(a) for a in APPS]).stdout)
    return [st[a]["migrations"][0]["generation"] for a in APPS]


def read_counters(lab):
    """The counters, once through each reader: control socket and telemetry."""
    for app in APPS:
        dp = lab.stats(app)
        check(dp["sealed_pkts"] >= 0 and dp["opened_pkts"] >= 0, f"{app}: stats answered")
        r = subprocess.run(["dpdk-telemetry.py", "-f", f"{lab.name}-{app}"],
                           input="/migsec/stats\n/migsec/sa/list\n/migsec/workers\n",
                           capture_output=True, text=True, timeout=30)
        replies = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
        check(len(replies) == 3, f"{app}: telemetry answered 3 of 3 ({r.stderr.strip()[:200]})")


def stop_data_planes(lab):
    """SIGTERM, as systemd would; bounded wait for each to exit."""
    for app in APPS:
        pid = lab.pid(app)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.2)
        check(not os.path.exists(f"/proc/{pid}"), f"{app} stopped on SIGTERM")


def reports(logdir, names):
    found = sorted(glob.glob(os.path.join(logdir, "*san.*")))
    for path in found:
        pid = path.rsplit(".", 1)[-1]
        log(f"==== {path}: {names.get(pid, 'a lab process')} (pid {pid})")
        with open(path, errors="replace") as f:
            log(f.read())
    return found


def main():
    t0 = time.monotonic()
    logdir = tempfile.mkdtemp(prefix="migsec-race-")
    os.chmod(logdir, 0o1777)  # migsec-control writes its reports as its own user
    names = {}
    try:
        with Lab("itR", workers=2, env={**sanitizer_env(logdir), "REPLAY_WINDOW": "4096"}) as lab:
            for app in APPS:
                names[str(lab.pid(app))] = f"migsec-dataplane {app}"
            r = start_migration(lab, "race1", [f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32"])
            check(r.returncode == 0, f"migration started over both workers "
                                     f"({r.stdout.decode().strip()} {r.stderr.decode().strip()})")
            handles = [lab.start_transfer(SIZE, family=4, port=5400 + i, timeout=120,
                                          rate_mbps=RATE_MBPS) for i in range(CONNS)]
            read_counters(lab)
            ctl(lab, "rekey", "--id", "race1", appliance("apA"), appliance("apB"))
            running = sum(h[0].poll() is None for h in handles)
            check(running == CONNS, f"rekeyed both appliances while the connections ran "
                                    f"({running} of {CONNS} still sending)")
            reads = 0
            while any(h[0].poll() is None for h in handles):
                read_counters(lab)
                reads += 1
                time.sleep(0.3)
            check(reads > 0, f"counters read {reads} more times while traffic flowed")
            for i, h in enumerate(handles):
                sent, got = lab.finish(h)
                check(got.get("sha256") == sent.get("sha256") and got.get("bytes") == SIZE,
                      f"connection {i + 1} of {CONNS}: {SIZE // MIB} MiB intact ({got})")
            check(generation(lab) == [1, 1], "both appliances moved to generation 1")
            for app in APPS:
                dp = lab.stats(app)
                moved = [w for w in dp["workers"] if w["busy_cycles"] > 0]
                check(len(dp["workers"]) == 2 and len(moved) == 2,
                      f"{app}: both workers moved packets")
                check(dp["drops"]["replay"] == 0 and dp["drops"]["outside_window"] == 0,
                      f"{app}: no replay drops")
            ctl(lab, "end", "--id", "race1", appliance("apA"), appliance("apB"))
            stop_data_planes(lab)
    finally:  # also when a report stopped a process and the lab failed with it
        found = reports(logdir, names)
        shutil.rmtree(logdir, ignore_errors=True)
    kind = "plain" if SANITIZE in ("", "none") else SANITIZE
    check(not found, f"no sanitizer report from any process of the lab "
                     f"({kind} build; {len(found)} report file(s) above)")
    log(f"it_race: {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
