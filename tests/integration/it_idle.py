#!/usr/bin/python3
"""Integration: adaptive polling costs little when idle and wakes on traffic.

Both appliances run with poll.mode "adaptive". With no traffic each
appliance process uses less than a quarter of a core over several seconds
(utime + stime from /proc, a generous bound: the goal is a few per cent),
its workers report time asleep, then a migration and a 64 MiB transfer
started after the idle period arrive intact, and the appliances go back to
sleep afterwards.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import HOST, Lab, appliance, check, ctl, log, start_migration  # noqa: E402

MIB = 1 << 20
IDLE_S = 6
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK   # utime, stime


def idle_share(lab, what):
    """Share of one core each appliance process used over IDLE_S seconds."""
    pids = {app: lab.pid(app) for app in ("apA", "apB")}
    t0 = {app: cpu_seconds(p) for app, p in pids.items()}
    w0 = time.monotonic()
    time.sleep(IDLE_S)
    wall = time.monotonic() - w0
    shares = {app: (cpu_seconds(p) - t0[app]) / wall for app, p in pids.items()}
    log(f"{what}: CPU over {wall:.1f} s idle: "
        + ", ".join(f"{a} {s * 100:.1f} % of a core" for a, s in shares.items()))
    for app, s in shares.items():
        check(s < 0.25, f"{what}: idle {app} uses less than a quarter of a core ({s * 100:.1f} %)")
    return shares


def sleeps(lab, app):
    return sum(w["sleeps"] for w in lab.stats(app)["workers"])


def main():
    with Lab("itI", poll="adaptive") as lab:
        time.sleep(1)
        for app in ("apA", "apB"):
            st = lab.stats(app)
            check(st["poll_mode"] == "adaptive" and st["power"] in ("pause", "monitor"),
                  f"{app}: adaptive polling, lib/power {st['power']}")
        idle_share(lab, "before")
        h = json.loads(ctl(lab, "--json", "health", appliance("apA"), appliance("apB")).stdout)
        for app in ("apA", "apB"):
            load = h[app]["worker_load"]
            asleep = sum(w["sleep_cycles"] for w in load)
            total = sum(w["busy_cycles"] + w["idle_cycles"] for w in load)
            check(h[app]["poll_mode"] == "adaptive" and total > 0 and asleep > total // 2,
                  f"{app}: health shows the workers asleep most of the time "
                  f"({100 * asleep / max(total, 1):.1f} %)")
        s0 = {app: sleeps(lab, app) for app in ("apA", "apB")}
        r = start_migration(lab, "idle1", [f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32"])
        log(r.stdout.decode().strip())
        check(r.returncode == 0, "migration started after the idle period")
        sent, got = lab.transfer(64 * MIB, family=4, timeout=120)
        check(got.get("sha256") == sent.get("sha256") and got.get("bytes") == 64 * MIB,
              "64 MiB started after idle arrived intact")
        for app in ("apA", "apB"):
            st = lab.stats(app)
            check(st["sealed_pkts"] > 0 and st["opened_pkts"] > 0, f"{app}: sealed and opened")
            busy = sum(w["busy_cycles"] for w in st["workers"])
            check(busy > 0, f"{app}: the workers were busy during the transfer")
        ctl(lab, "end", "--id", "idle1", appliance("apA"), appliance("apB"))
        idle_share(lab, "after")
        for app in ("apA", "apB"):
            check(sleeps(lab, app) > s0[app], f"{app}: the workers went back to sleep")
    return 0


if __name__ == "__main__":
    sys.exit(main())
