#!/usr/bin/python3
"""Integration: adaptive or interrupt polling costs little when idle and wakes on traffic.

it_idle.py [adaptive|interrupt]: both appliances run with that poll.mode.
With no traffic each appliance process uses less than a quarter of a core
over several seconds (utime + stime from /proc, a generous bound: the goal
is a few per cent), its workers report time asleep, then a migration and a
64 MiB transfer started after the idle period arrive intact, and the
appliances go back to sleep afterwards.

interrupt: the longest wait is 100 ms (SLEEP_MAX_US), so that a wait a
frame ends can be told from one that timed out, and a worker waits as soon
as a poll finds nothing (SLEEP_AFTER_US=0, what the demo and perf/vm-bench
run); lib/power must be off.
Pings 0.5 s apart, through the migration's SAs while the workers wait,
must end waits (the `wakeups` counter) on both appliances, at least one per
two pings: each ping crosses each appliance twice. Without a wake source
every wait times out and wakeups stays 0. Their round-trip times are
logged, not asserted.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import (HOST, Lab, appliance, check, cpu_seconds, ctl, log,  # noqa: E402
                        start_migration)

MIB = 1 << 20
IDLE_S = 6


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


def wakeups(lab, app):
    return sum(w["wakeups"] for w in lab.stats(app)["workers"])


def pings_wake(lab):
    """interrupt: pings through the SAs end the workers' waits."""
    PINGS = 20
    w0 = {app: wakeups(lab, app) for app in ("apA", "apB")}
    r = lab.run("A", ["ping", "-c", str(PINGS), "-i", "0.5", "-W", "2", HOST["B"][4]],
                check=False, timeout=60)
    log(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr.strip())
    check(r.returncode == 0, f"{PINGS} pings through the appliances answered")
    for app in ("apA", "apB"):
        n = wakeups(lab, app) - w0[app]
        check(n >= PINGS // 2, f"{app}: {n} waits ended by a frame during {PINGS} pings "
              f"(at least {PINGS // 2})")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "adaptive"
    if mode not in ("adaptive", "interrupt"):
        raise SystemExit(f"usage: {sys.argv[0]} [adaptive|interrupt]")
    env = {"SLEEP_MAX_US": "100000", "SLEEP_AFTER_US": "0"} if mode == "interrupt" else None
    with Lab("itI" if mode == "adaptive" else "itIi", poll=mode, env=env) as lab:
        time.sleep(1)
        for app in ("apA", "apB"):
            st = lab.stats(app)
            power = ("pause", "monitor") if mode == "adaptive" else ("off",)
            check(st["poll_mode"] == mode and st["power"] in power,
                  f"{app}: {mode} polling, lib/power {st['power']}")
            if mode == "interrupt":
                with open(os.path.join(lab.dir, f"{app}.log")) as f:
                    said = "interrupt polling, waits after 0 us without work" in f.read()
                check(said, f"{app}: its workers wait as soon as a poll finds nothing "
                      "(SLEEP_AFTER_US=0 reached poll.sleep_after_us)")
        idle_share(lab, "before")
        h = json.loads(ctl(lab, "--json", "health", appliance("apA"), appliance("apB")).stdout)
        for app in ("apA", "apB"):
            load = h[app]["worker_load"]
            asleep = sum(w["sleep_cycles"] for w in load)
            total = sum(w["busy_cycles"] + w["idle_cycles"] for w in load)
            check(h[app]["poll_mode"] == mode and total > 0 and asleep > total // 2,
                  f"{app}: health shows the workers asleep most of the time "
                  f"({100 * asleep / max(total, 1):.1f} %)")
        s0 = {app: sleeps(lab, app) for app in ("apA", "apB")}
        r = start_migration(lab, "idle1", [f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32"])
        log(r.stdout.decode().strip())
        check(r.returncode == 0, "migration started after the idle period")
        if mode == "interrupt":
            pings_wake(lab)
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
