#!/usr/bin/python3
"""migsec demo: a running QEMU VM live-migrated between two hypervisor hosts
through two migsec appliances, on this machine (network namespaces, virtual
ports), under a one-shot key that the management plane hands out over
mutual TLS. README command 1 runs it.

1. The lab: hosts A and B, appliances A and B, the management namespace.
2. A VM boots on host A: QEMU (KVM when the CPU virtualises, TCG otherwise)
   with the tiny guest of tests/vm/guest.asm, which fills its RAM with
   pages that carry this run's marker and keeps rewriting them.
3. scripts/migrate-vm.py migrates it to host B with QEMU's own migration
   (QMP; TCP to 192.0.2.2) between `migsecctl start` (policy required) and
   `migsecctl end`, with a rekey halfway; the demo captures the outer link.
4. The report and the checks: memory of both ends identical (SHA-256 of a
   dump; the destination was started with -S), the VM runs on B after
   `cont`, only ESP on the outer link and all of it opens with keys derived
   here, the marker never on the wire, no key left on either appliance.
5. Unless --no-compare: the comparison a user makes (tests/vm/compare.py,
   also perf/vm-bench's), the same VM moved once per mode: (a) plaintext,
   (b) QEMU TLS and (c) QEMU TLS multifd on the hosts' direct link without
   appliances, (d) plaintext, (e) multifd and (f) multifd with
   zero-copy-send through migsec: time, Gbit/s, downtime, CPU seconds of
   QEMU and of the appliances, per GiB and per host.
6. With --poll-compare: the same VM migrated through migsec there and back
   with the appliances polling busy, adaptive and interrupt (a fresh lab
   each): time, QEMU CPU seconds and the data planes' CPU seconds.

The demo plays the orchestrator: it makes the one-shot key itself
(os.urandom) and hands it to migsecctl on stdin, so that it can check the
wire with keys it derives independently (docs/management.md, "Key derivation").
Exits non-zero if any check fails.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "lib"), os.path.join(HERE, "vm")]
import compare  # noqa: E402
import lab_kinds  # noqa: E402
import lab_poll  # noqa: E402
from dpdk_capture import LAB_ENV  # noqa: E402
from flow import MODES, OTHER, Flow  # noqa: E402
from guest import choose_accel, new_marker  # noqa: E402
from migsec_lab import BUILD, DIRECT, HOST, OUTER, Lab, appliance, ctl  # noqa: E402
from qemu import make_tls_pki  # noqa: E402

MIB = 1 << 20


def say(msg=""):
    print(msg, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mem", type=int, default=1024, metavar="MIB",
                   help="VM memory (default 1024; 16..2048)")
    p.add_argument("--dirty", type=int, default=32, metavar="PAGES",
                   help="pages the guest rewrites per 10 ms tick (default 32: 12.5 MiB/s)")
    p.add_argument("--multifd", type=int, default=0, metavar="N",
                   help="QEMU multifd with N channels (default 0: one stream)")
    p.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto")
    p.add_argument("--rounds", type=int, default=1,
                   help="comparison rounds, each one migration per mode (default 1)")
    p.add_argument("--modes", default="all",
                   help=f"comparison modes, a comma list of {', '.join(compare.ORDER)} or their "
                        "letters a..f (default all)")
    p.add_argument("--channels", type=int, default=2, metavar="N",
                   help="multifd channels of the comparison's multifd modes (default 2)")
    p.add_argument("--no-compare", action="store_true", help="skip the comparison")
    lab_poll.add_arguments(p, "the appliances' (demo and comparison)")
    p.add_argument("--poll-compare", action="store_true",
                   help="last, migrate the VM through migsec with the appliances polling busy, "
                        "adaptive and interrupt (--rounds times there and back each) and compare")
    p.add_argument("--mtu", type=int, default=9000, metavar="N",
                   help="MTU of every link of the lab, 1280..9000 (default 9000: migration "
                        "networks run jumbo frames)")
    lab_kinds.add_arguments(p, outer_auto=True)
    p.add_argument("--timeout", type=int, default=900, help="per migration, seconds (default 900)")
    p.add_argument("--json", metavar="FILE", help="write every figure and check to FILE")
    a = p.parse_args(argv)
    if not 1280 <= a.mtu <= 9000:
        p.error("--mtu must be 1280..9000")
    lab_kinds.refuse(p, a)
    lab_poll.check(p, a)
    if not 16 <= a.mem <= 2048:
        p.error("--mem must be 16..2048 MiB (the guest fills low RAM only)")
    if not 0 <= a.dirty <= 4096 or not 0 <= a.multifd <= 16 or not 1 <= a.rounds <= 10:
        p.error("--dirty 0..4096, --multifd 0..16, --rounds 1..10")
    if not 1 <= a.channels <= 16:
        p.error("--channels 1..16")
    try:
        a.modes = compare.parse_modes(a.modes)
    except ValueError as e:
        p.error(f"--modes: {e}")
    if not a.modes:
        p.error(f"--modes: one or more of {', '.join(compare.ORDER)}")
    return a


def main(argv=None):
    a = parse_args(argv)
    guest = os.path.join(BUILD, "tests", "vm", "guest.bin")
    if not os.path.exists(guest):
        say(f"demo: {guest} missing: build with nasm installed (scripts/setup.sh build)")
        return 2
    if not shutil.which("qemu-system-x86_64"):
        say("demo: qemu-system-x86_64 missing (scripts/setup.sh deps installs qemu-system-x86)")
        return 2
    accel, why = choose_accel(a.accel)
    outer_why = lab_kinds.resolve_outer(a)
    poll_why = lab_poll.resolve(a)
    out = {"date": time.strftime("%Y-%m-%d %H:%M"), "mem_mib": a.mem, "accel": accel,
           "outer": a.outer, "outer_why": outer_why,
           "accel_why": why, "dirty_pages_per_tick": a.dirty, "multifd": a.multifd,
           "poll": a.poll, "sleep_after_us": a.sleep_after_us,
           "cpus": os.cpu_count(), "load": os.getloadavg()[0]}
    checks = []
    say("migsec demo: a running QEMU VM live-migrated between two hypervisor hosts\n")
    say(f"  host A {HOST['A'][4]} [QEMU] -- [appliance A | outer {OUTER['A'][4]}] == ESP-in-UDP, "
        f"AES-256-GCM == [outer {OUTER['B'][4]} | appliance B] -- [QEMU] host B {HOST['B'][4]}")
    say("           management plane (migsecctl) --mutual TLS 1.3--> migsec-control A, B")
    say(f"  {outer_why}; {poll_why}\n")
    workdir = tempfile.mkdtemp(prefix="migsec-vm-")
    try:
        marker = demo(a, guest, accel, why, workdir, out, checks)
        if a.poll_compare:
            out["poll_compare"] = poll_compare(a, guest, accel, marker, workdir)
    except Exception as e:  # noqa: BLE001 - reported as a failed check, the lab is gone
        traceback.print_exc()
        checks.append((False, f"the demo stopped: {type(e).__name__}: {e}"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    failed = [t for ok, t in checks if not ok]
    out["checks"] = [{"ok": ok, "check": t} for ok, t in checks]
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1, default=str)
    say(f"\nRESULT: {'PASS' if not failed else 'FAIL: ' + '; '.join(failed)}")
    return 0 if not failed else 1


def demo(a, guest, accel, why, workdir, out, checks):
    say(f"1. Lab: 5 network namespaces, 2 data planes (DPDK, poll.mode {lab_poll.describe(a)}), "
        f"2 migsec-control, MTU {a.mtu}, ports {a.inner} (inner) {a.outer} (outer)")
    direct = not a.no_compare and any(MODES[m]["direct"] for m in a.modes)
    # a memif outer link is captured by dpdk-dumpcap (tests/vm/flow.py),
    # which needs the appliances' hugepage files kept
    with Lab("vdemo", poll=a.poll, mtu=a.mtu, direct=direct, inner=a.inner, outer=a.outer,
             env=lab_poll.env(a, LAB_ENV if a.outer == "memif" else None)) as lab:
        for line in ctl(lab, "health", appliance("apA"), appliance("apB")).stdout.decode().splitlines():
            say(f"    {line}")
        marker = new_marker()
        tls = {}
        if not a.no_compare and any(MODES[m]["tls"] for m in a.modes):
            tls = make_tls_pki(workdir, {h: [HOST[h][4], DIRECT[h]] for h in "AB"})
        flow = Flow(lab, workdir, guest, a.mem, accel, marker, a.dirty, a.multifd, tls,
                    log=lambda m: say("  " + m), timeout=a.timeout)
        try:
            steps(a, flow, accel, why, marker, out, checks)
        finally:
            flow.stop_all()  # QEMU leaves the namespaces before they go
        say("\n   Stopping the VM and the lab")
    return marker


def steps(a, flow, accel, why, marker, out, checks):
    say(f"\n2. The VM: QEMU q35, {a.mem} MiB, accelerator {accel} ({why});\n"
        f"   guest tests/vm/guest.asm: every page from 4 MiB up carries the marker "
        f"{marker.decode()!r}\n   and random data; {a.dirty} pages rewritten per 10 ms tick "
        f"({a.dirty * 100 * 4096 / MIB:.1f} MiB/s)")
    t = time.monotonic()
    st = flow.boot("A", timeout=120 + a.mem // 4)
    say(f"    booted on host A in {time.monotonic() - t:.1f} s: memory filled, "
        f"heartbeat {st['ticks']}")
    mig = f"vm-{int(time.time()) % 100000}"
    say(f"\n3. Live migration A -> B: scripts/migrate-vm.py (migsecctl start {mig}, "
        f"policy required;\n   QMP migrate tcp:{HOST['B'][4]}:4444; migsecctl rekey at 50 %; "
        f"migsecctl end); outer link captured")
    r, c = flow.checked(mig, os.urandom(40))
    checks += c
    out["checked"] = r
    report(r)
    say("\n5. Checks")
    for ok, text in c:
        say(f"    [{'ok' if ok else 'FAILED'}] {text}")
    if not a.no_compare:
        out["compare"] = comparison(flow, a.modes, a.rounds, a.channels)


def report(r):
    total, secs = r["ram_transferred"], r["total_ms"] / 1000
    say("\n4. Report")
    say(f"    VM memory {r['ram_total'] / MIB:.0f} MiB: {total / MIB:.1f} MiB sent in {secs:.2f} s "
        f"({total * 8 / secs / 1e9:.2f} Gbit/s), downtime {r['downtime_ms']} ms, "
        f"{r['passes']} dirty-page passes")
    for app in ("apA", "apB"):
        d = r["appliances"][app]
        say(f"    appliance {app[-1]}: sealed {d['sealed_pkts']} packets "
            f"({d['sealed_bytes'] / MIB:.1f} MiB), opened {d['opened_pkts']} "
            f"({d['opened_bytes'] / MIB:.1f} MiB)")
    for app in ("apA", "apB"):
        drops = {k: v for k, v in r["appliances"][app]["drops"].items() if v}
        lost = {f"{p} {k}": v for p, c in r["appliances"][app]["ports"].items()
                for k, v in c.items() if v and k in ("rx_missed", "rx_errors", "rx_nombuf",
                                                     "tx_errors")}
        say(f"    drops at appliance {app[-1]}: "
            f"{', '.join(f'{k} {v}' for k, v in drops.items()) or 'none'}"
            + (f"; lost by its ports: {', '.join(f'{k} {v}' for k, v in lost.items())}"
               if lost else ""))
    a, b = r["appliances"]["apA"], r["appliances"]["apB"]
    say(f"    sealed but not opened (lost between the appliances, in the receiving veth's "
        f"af_packet ring;\n    TCP sent them again): A to B {a['sealed_pkts'] - b['opened_pkts']}, "
        f"B to A {b['sealed_pkts'] - a['opened_pkts']}")
    for app, w in r["wire"].items():
        say(f"    capture at {app}'s outer port: {w['frames']} frames of "
            f"{w['received_by_appliance']} the appliance received "
            f"({r['captures'][app].splitlines()[-1] if r['captures'][app] else 'no summary'})")
    say("    migsecctl status, just before end:")
    for app, st in r["status"].items():
        for m in st["migrations"]:
            drops = {k: v for k, v in m["drops"].items() if v}
            say(f"      {app}: {m['role']}, generation {m['generation']} ({m['rekeys']} rekey), "
                f"{m['lanes']} lane(s), out {m['out_pkts']} packets, in {m['in_pkts']}, drops "
                f"{drops or 'none'}, keys {m['keys']}")
    say("    audit trail of the migration (both appliances, JSON lines; no key in any):")
    for e in r["audit"]:
        short = {k: e[k] for k in ("appliance", "event", "role", "by", "trigger", "from", "to",
                                   "generation", "out_bytes", "in_bytes") if k in e}
        say(f"      {e['ts']} {json.dumps(short)}")


def comparison(flow, modes, rounds, channels):
    say(f"\n6. The comparison a user makes, same VM, same run: {rounds} round(s) of one "
        f"migration per mode\n   ((a)-(c) on the hosts' direct link "
        f"{DIRECT['A']} <-> {DIRECT['B']}, no appliance on the path)")
    tls_zc = flow.zero_copy_with_tls() if flow.tls_dirs else None
    if tls_zc:
        say(f"    QEMU TLS + zero-copy-send: QEMU refuses it: \"{tls_zc}\"")
    runs, refused = compare.run(flow, modes, rounds, channels, say)
    rows = compare.summarize(runs)
    say(f"\n    Per migration, median of {rounds} (noisy machine: medians, not sums):")
    for line in compare.table(rows, refused):
        say("    " + line)
    for line in compare.ratios(rows):
        say("    " + line)
    for mode, row in rows.items():
        if MODES[mode]["zc"]:
            say(f"    ({compare.LETTER[mode]}) zero-copy-send on: "
                f"{'yes' if row['zero_copy'] else 'NO'}, QEMU's dirty-sync-missed-zero-copy "
                f"{row['zero_copy_missed']}")
    say(textwrap.fill(f"({compare.NOTES} Machine: {os.cpu_count()} CPUs, load "
                      f"{os.getloadavg()[0]:.1f}; perf/vm-bench measures this on a quiet "
                      "machine.)", 100, initial_indent="    ", subsequent_indent="    "))
    return {"rows": rows, "refused": refused, "tls_zero_copy": tls_zc, "runs": runs}


POLLS = lab_poll.MODES


def poll_compare(a, guest, accel, marker, workdir):
    """The same VM through migsec with the appliances polling busy, adaptive
    and interrupt (the mode is set when a data plane starts: a fresh lab
    each), --rounds migrations there and back per mode, the order rotated
    each round."""
    say(f"\n7. Busy vs adaptive vs interrupt polling, same VM ({a.mem} MiB, {accel}), same run: "
        f"{a.rounds} round(s) of a migration there and back through migsec per mode")
    say("   " + "; ".join(lab_poll.describe(a, m) for m in POLLS))
    seed = int.from_bytes(os.urandom(4), "little") | 1
    runs = {m: [] for m in POLLS}
    for rnd in range(a.rounds):
        for mode in POLLS[rnd % 3:] + POLLS[:rnd % 3]:
            with Lab("vdemo", poll=mode, mtu=a.mtu, inner=a.inner, outer=a.outer,
                     env=lab_poll.env(a, mode=mode)) as lab:
                flow = Flow(lab, workdir, guest, a.mem, accel, marker, a.dirty, a.multifd, {},
                            log=lambda m: say("  " + m), timeout=a.timeout, seed=seed)
                try:
                    flow.boot("A", timeout=120 + a.mem // 4)
                    for _ in range(2):
                        say(f"  poll.mode {mode}: host {flow.host} -> {OTHER[flow.host]}")
                        r = flow.timed("migsec", f"poll-{mode}-{rnd}-{flow.host}")
                        if not r["runs"]:
                            raise RuntimeError(f"poll {mode}: the VM does not run after the "
                                               f"migration")
                        runs[mode].append(r)
                finally:
                    flow.stop_all()
    rows = {}
    for mode, rs in runs.items():
        per = [{"seconds": r["wall_s"], "gbps": r["ram_transferred"] * 8 / r["wall_s"] / 1e9,
                "qemu_cpu": r["cpu"]["qemu"], "vcpu": r["cpu"]["vcpu"], "dp_cpu": r["cpu"]["dp"],
                "total_cpu": r["cpu"]["qemu"] + r["cpu"]["dp"]} for r in rs]
        rows[mode] = {k: statistics.median(x[k] for x in per) for k in per[0]}
    say(f"\n    Per migration, median of {2 * a.rounds}:")
    say("    | poll.mode | time s | Gbit/s | QEMU CPU s | guest vCPU s | data planes CPU s "
        "| QEMU + data planes s |")
    say("    |---|---:|---:|---:|---:|---:|---:|")
    for mode, w in rows.items():
        say(f"    | {mode} | {w['seconds']:.1f} | {w['gbps']:.2f} | {w['qemu_cpu']:.1f} | "
            f"{w['vcpu']:.1f} | {w['dp_cpu']:.1f} | {w['total_cpu']:.1f} |")
    b = rows["busy"]
    names = {"seconds": "time", "qemu_cpu": "QEMU CPU", "dp_cpu": "data planes CPU",
             "total_cpu": "QEMU + data planes CPU"}
    ratios = {}
    for mode in POLLS[1:]:
        ratios[mode] = {k: rows[mode][k] / b[k] for k in names if b[k]}
        say(f"\n    {mode} / busy: " + ", ".join(f"{names[k]} {v:.2f}x"
                                                for k, v in ratios[mode].items()))
    say("    (QEMU CPU: both QEMU processes without their vCPU threads; data planes: user + sys "
        "of both\n    migsec-dataplane processes from /proc over the migration. "
        f"Machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}.)")
    return {"rows": rows, "ratios": ratios, "runs": runs}


if __name__ == "__main__":
    sys.exit(main())
