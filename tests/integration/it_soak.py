#!/usr/bin/python3
"""Soak (suite "soak"): thousands of migration life cycles with traffic, and
afterwards nothing is left behind.

Migrations are started, rekeyed and ended over the management protocol
(tests/lib/mgmt_soak.py: one TLS connection per appliance, fresh one-shot
keys), MIGSEC_SOAK_MIGRATIONS (default 16) at a time, each covering one UDP
flow from host A to host B that carries traffic all along: for
MIGSEC_SOAK_SECONDS (default 45; the CI run), or exactly
MIGSEC_SOAK_CYCLES life cycles if that is set (the long run; docs/hardening.md,
"Hardening"). Then:
  - both data planes: no SA left, every mbuf, crypto op and crypto session
    back in its pool (as many in use as before the soak);
  - both migsec-control: no migration left, key memory (OpenSSL's secure
    heap) back to what it was;
  - the traffic judged from outside the appliances as well: host B
    received datagrams on every flow (udp_flows.py's own counts), and every
    datagram host A sent and host B did not receive is one that an
    appliance counted as dropped (or its port as missed), each under a
    reason a migration's life cycle explains (no_policy at A between two
    migrations of a flow, unknown_spi at B for what was in flight when an
    SA went), none under a tamper, crypto or resource reason;
  - the resident memory of all four processes no larger at the end than
    after the first fifth of the cycles, beyond allocator slack (10 % + 8 MiB);
  - run from the sanitizer build (meson test -C build-asan, as setup.sh
    does): after SIGTERM, LeakSanitizer has checked every process and found
    no leak, and neither AddressSanitizer nor UBSan reported anything.
"""
import json
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import (HOST, MGMT, OUTER, PY, TOP, Lab, appliance, check, ctl,  # noqa: E402
                        log)

CYCLES = int(os.environ.get("MIGSEC_SOAK_CYCLES", "0"))
SECONDS = 0 if CYCLES else float(os.environ.get("MIGSEC_SOAK_SECONDS", "45"))
SLOTS = int(os.environ.get("MIGSEC_SOAK_MIGRATIONS", "16"))
# Resident memory is compared from here on (allocators and caches warm up).
WARM = max(CYCLES // 5, 2 * SLOTS)
PPS = 100 * SLOTS   # every flow: 100 datagrams a second
BASE_PORT = 20000
SANITIZED = os.environ.get("SANITIZE", "none") not in ("", "none")
SUPP = os.path.join(TOP, "tests", "lib", "lsan-daemons.supp")
APPS = ("apA", "apB")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pids(lab):
    return {n: lab.pid(n) for n in ("apA", "apB", "apA-control", "apB-control")}


def health(lab, app):
    return json.loads(ctl(lab, "--json", "health", appliance(app)).stdout)[app]


def snapshot(lab):
    """What must come back: pools in use, SAs, migrations, key memory."""
    s = {}
    for app in APPS:
        st = lab.stats(app)
        h = health(lab, app)
        s[app] = {"sa_count": st["sa_count"],
                  **{f"{k}_in_use": v["in_use"] for k, v in st["pools"].items()},
                  "migrations": h["migrations"], "key_memory_bytes": h["key_memory_bytes"]}
    return s


# Why a datagram of the soak may be dropped: at A between two migrations of
# its flow (no SA yet or any more), at B when it was in flight as its SA went.
LIFE_CYCLE_DROPS = {"apA": {"no_policy"}, "apB": {"unknown_spi"}}
# Drops that cannot be a soak datagram (unicast IPv4 from host A to host B):
# the hosts' own neighbour discovery and multicast.
NOT_SOAK = {"link_local", "l2_unsupported", "to_self"}


def lost_here(stats):
    """What an appliance says it lost of the soak's datagrams: every drop
    but NOT_SOAK's, every frame its ports missed."""
    return (sum(v for k, v in stats["drops"].items() if k not in NOT_SOAK)
            + sum(p.get("rx_missed", 0) + p.get("rx_errors", 0) for p in stats["ports"].values()))


def judge_traffic(sent, got, b0, b1):
    """Host A's and host B's own counts against the appliances' drop counters."""
    log(f"host A sent per flow: {sent['per_flow']} ({sent['refused']} refused by its kernel); "
        f"host B received per flow: {got}")
    check(all(got.get(str(p), 0) > 0 for p in sent["per_flow"]),
          f"host B received datagrams on every one of the {len(sent['per_flow'])} flows")
    lost = sent["sent"] - sum(got.values())
    said = sum(lost_here(b1[app]) - lost_here(b0[app]) for app in APPS)
    drops = {app: {k: v - b0[app]["drops"][k] for k, v in b1[app]["drops"].items()
                   if v != b0[app]["drops"][k]} for app in APPS}
    log(f"lost between host A and host B: {lost} of {sent['sent']}; the appliances counted "
        f"{said}: {drops}")
    check(lost == said, f"every datagram lost on the way was counted by an appliance "
                        f"({lost} lost, {said} counted)")
    odd = {app: {k: v for k, v in drops[app].items()
                 if k not in LIFE_CYCLE_DROPS[app] and k not in NOT_SOAK} for app in APPS}
    check(not any(odd.values()), f"every drop under a reason of the life cycle ({odd})")


def sanitizer_env(logdir):
    """One report file per process, logdir/san.PID (the sanitizers share log_path).
    log_threads: LeakSanitizer says which threads it scanned, proof that it ran."""
    return {"ASAN_OPTIONS": f"detect_leaks=1:log_path={logdir}/san:quarantine_size_mb=4:"
                            "disable_coredump=1",
            "LSAN_OPTIONS": f"suppressions={SUPP}:print_suppressions=0:log_threads=1",
            "UBSAN_OPTIONS": f"print_stacktrace=1:log_path={logdir}/san"}


def stop_all(lab, procs):
    """SIGTERM, as systemd would; wait for each to finish (LeakSanitizer runs at exit)."""
    for name in ("apA-control", "apB-control", "apA", "apB"):
        os.kill(procs[name], signal.SIGTERM)
        deadline = time.monotonic() + 120
        while os.path.exists(f"/proc/{procs[name]}") and time.monotonic() < deadline:
            time.sleep(0.2)
        check(not os.path.exists(f"/proc/{procs[name]}"), f"{name} stopped on SIGTERM")


def sanitizer_reports(logdir, procs):
    for name, pid in procs.items():
        path = os.path.join(logdir, f"san.{pid}")
        text = open(path, errors="replace").read() if os.path.exists(path) else ""
        if "Processing thread" not in text:
            log(f"{path}: {text[-3000:] or '(no report)'}")
        check("Processing thread" in text, f"{name}: LeakSanitizer checked it at exit")
        bad = [ln for ln in text.splitlines()
               if "ERROR:" in ln or "runtime error" in ln or "SUMMARY:" in ln]
        if bad:
            log(text[-6000:])
        check(not bad, f"{name}: no leak, no AddressSanitizer or UBSan report ({bad[:3]})")


def main():
    t0 = time.monotonic()
    logdir = tempfile.mkdtemp(prefix="migsec-soak-")
    os.chmod(logdir, 0o1777)  # migsec-control writes its report as its own user
    env = sanitizer_env(logdir) if SANITIZED else {}
    log(f"soak: {f'{CYCLES} cycles' if CYCLES else f'{SECONDS:.0f} s of cycles'}, "
        f"{SLOTS} migrations at a time, {PPS} datagrams/s; "
        f"{'sanitizer build' if SANITIZED else 'plain build: no LeakSanitizer'}")
    try:
        with Lab("itS", env=env) as lab:
            procs = pids(lab)
            base = snapshot(lab)
            log(f"before: {base}")
            counters0 = {app: lab.stats(app) for app in APPS}
            recv = lab.popen("B", [PY, os.path.join(TOP, "tests", "lib", "udp_flows.py"), "recv",
                                   "--bind", HOST["B"][4], "--base-port", str(BASE_PORT),
                                   "--flows", str(SLOTS), "--seconds", "3600"])
            sender = lab.popen("A", [PY, os.path.join(TOP, "tests", "lib", "udp_flows.py"), "send",
                                     "--to", HOST["B"][4], "--base-port", str(BASE_PORT),
                                     "--flows", str(SLOTS), "--pps", str(PPS),
                                     "--seconds", "3600"])
            pki = os.path.join(lab.dir, "pki")
            drv = lab.popen("mg", [
                PY, os.path.join(TOP, "tests", "lib", "mgmt_soak.py"),
                "--ca", f"{pki}/ca.pem", "--cert", f"{pki}/mgmt.pem", "--key", f"{pki}/mgmt.key",
                "--source", f"{MGMT['apA']}:7443", "--destination", f"{MGMT['apB']}:7443",
                "--source-outer", OUTER["A"][4], "--destination-outer", OUTER["B"][4],
                "--sel-template", f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32,proto=udp,"
                "dport={port}", "--base-port", str(BASE_PORT), "--cycles", str(CYCLES),
                "--seconds", str(SECONDS), "--slots", str(SLOTS), "--warm", str(WARM),
                "--report-every", str(max(WARM, CYCLES // 10))])
            warm, summary = None, None
            for line in drv.stdout:
                rec = json.loads(line)
                if "warm" in rec:
                    warm = {n: rss_kib(p) for n, p in procs.items()}
                    log(f"after {rec['warm']} cycles: resident KiB {warm}")
                elif "done" in rec:
                    summary = rec
                else:
                    log(f"soak: {rec}")
            err = drv.stderr.read()
            check(drv.wait() == 0 and summary,
                  f"{summary['done'] if summary else 'not all'} cycles done ({err.strip()})")
            log(f"soak: {summary}")
            # Not a speed requirement: a soak must at least have cycled past the
            # warm-up point where memory was first sampled.
            check(warm is not None and summary["done"] > WARM,
                  f"more than {WARM} cycles, past the memory sample at {WARM}")
            if CYCLES:
                check(summary["done"] == CYCLES, f"exactly {CYCLES} cycles")
            check(summary["carried_traffic"] * 2 >= summary["done"],
                  f"traffic crossed most migrations both ways "
                  f"({summary['carried_traffic']} of {summary['done']})")
            sender.terminate()
            sent = json.loads(sender.communicate(timeout=30)[0])
            time.sleep(1)  # the last datagrams are on their way through both appliances
            counters1 = {app: lab.stats(app) for app in APPS}
            recv.terminate()
            got = json.loads(recv.communicate(timeout=30)[0])["received"]
            judge_traffic(sent, got, counters0, counters1)
            end = {n: rss_kib(p) for n, p in procs.items()}
            log(f"at the end: resident KiB {end}")

            deadline = time.monotonic() + 30
            while True:  # replaced inbound SAs drain for mgmt.drain_s
                after = snapshot(lab)
                if after == base or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            log(f"after: {after}")
            for app in APPS:
                for k, v in base[app].items():
                    check(after[app][k] == v, f"{app}: {k} back to {v} ({after[app][k]})")
            for n in procs:
                check(end[n] <= warm[n] * 1.10 + 8192,
                      f"{n}: resident memory stable ({warm[n]} KiB after the warm-up, "
                      f"{end[n]} KiB at the end)")
            if SANITIZED:
                stop_all(lab, procs)
                sanitizer_reports(logdir, procs)
    except BaseException:
        if os.environ.get("MIGSEC_SOAK_KEEP"):
            log(f"sanitizer logs kept in {logdir}")
            logdir = None
        raise
    finally:
        if logdir:
            shutil.rmtree(logdir, ignore_errors=True)
    log(f"soak: {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
