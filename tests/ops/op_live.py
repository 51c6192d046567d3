#!/usr/bin/python3
"""ops: observability on a live lab, with the data planes confined like the
systemd unit confines them.

- Both data planes run under setpriv with exactly the dataplane unit's
  CapabilityBoundingSet and no-new-privs (what systemd applies): they start
  on their af_packet ports, hand their control sockets over, lock their
  memory and disable core dumps without a warning, and carry a migration.
- Every telemetry endpoint in docs/operations.md's table answers through the stock
  dpdk-telemetry.py, and together they hold every counter the data plane
  keeps (compared with its control socket's STATS); DPDK's /cryptodev
  endpoints hold the crypto devices' counters.
- `migsecctl status` carries the same counters (every drop reason) and the
  crypto devices'.
- `migsecctl top --count 2` (text and --json) shows the running migration
  with a sealing rate on the source and an opening rate on the destination;
  without --count, SIGINT ends it cleanly (exit 0).
"""
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import (HOST, MIGSECCTL, Lab, appliance, check, ctl, log,  # noqa: E402
                        start_migration)
from ops_src import cap_mask, drop_reasons, doc_telemetry, unit_caps  # noqa: E402

MIB = 1 << 20
MIG = "ops1"
SEL = f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32"


def confinement(lab, caps):
    want = int(cap_mask(caps), 16)
    for app in ("apA", "apB"):
        pid = lab.pid(app)
        with open(f"/proc/{pid}/status") as f:
            st = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
        check(comm.startswith("migsec-datapla") and int(st["CapBnd"], 16) == want
              and int(st["CapEff"], 16) == want and st["NoNewPrivs"].strip() == "1",
              f"{app}: {comm} runs with bounding and effective set {st['CapBnd']} "
              f"= the unit's {caps}, no-new-privs")
        with open(os.path.join(lab.dir, f"{app}.log")) as f:
            text = f.read()
        check("mlockall failed" not in text and "cannot disable core dumps" not in text,
              f"{app}: memory locked and core dumps off under those capabilities")


def telemetry(lab, app):
    """Every documented endpoint through dpdk-telemetry.py; {endpoint: reply}."""
    prefix = f"{lab.name}-{app}"
    first = subprocess.run(["dpdk-telemetry.py", "-f", prefix], input="/migsec/sa/list\n",
                           capture_output=True, text=True, timeout=30)
    ids = json.loads(first.stdout.strip().splitlines()[-1])["/migsec/sa/list"]
    check(ids, f"{app}: /migsec/sa/list names the migration's SAs {ids}")
    cmds = [e.replace("<id>", str(ids[0])) for e in doc_telemetry()]
    r = subprocess.run(["dpdk-telemetry.py", "-f", prefix], input="\n".join(cmds) + "\n",
                       capture_output=True, text=True, timeout=30)
    replies = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    check(len(replies) == len(cmds), f"{app}: dpdk-telemetry.py answered {len(replies)} of "
                                     f"{len(cmds)} commands {r.stderr.strip()}")
    out = {}
    for cmd, rep in zip(cmds, replies):
        key = cmd.split(",")[0]
        val = rep.get(key)
        check(val not in (None, {}, []), f"{app}: {cmd} answers ({str(val)[:90]}...)")
        out[key] = val
    return out


def crypto_telemetry(lab, app):
    """DPDK's own /cryptodev endpoints carry the counters `migsec-dpctl crypto` shows."""
    crypto = json.loads(lab.dpctl(app, "crypto", "--json").stdout)
    prefix = f"{lab.name}-{app}"
    r = subprocess.run(["dpdk-telemetry.py", "-f", prefix], input="/cryptodev/list\n",
                       capture_output=True, text=True, timeout=30)
    ids = json.loads(r.stdout.strip().splitlines()[-1]).get("/cryptodev/list") or []
    r = subprocess.run(["dpdk-telemetry.py", "-f", prefix],
                       input="".join(f"/cryptodev/stats,{i}\n" for i in ids),
                       capture_output=True, text=True, timeout=30)
    stats = [json.loads(line).get("/cryptodev/stats") for line in r.stdout.splitlines()
             if line.startswith("{")]
    check(len(stats) == len(crypto["devices"]) and all(
              st and {"enqueued_count", "dequeued_count", "enqueue_err_count",
                      "dequeue_err_count"} <= set(st) for st in stats),
          f"{app}: /cryptodev/stats answers for each of the {len(crypto['devices'])} crypto "
          f"device(s) migsec-dpctl crypto lists ({stats})")
    check(sum(st["enqueued_count"] for st in stats) > 0,
          f"{app}: the crypto device counted the sealed and opened packets")


def numbers(stats):
    """Every number of a STATS reply, by path: "sealed_pkts", "drops.replay",
    "ports.inner.rx_pkts", "workers[0].busy_cycles" (pools: their own check)."""
    out = {k: v for k, v in stats.items() if isinstance(v, int) and not isinstance(v, bool)}
    out.update({f"drops.{d}": v for d, v in stats["drops"].items()})
    for port, pc in stats["ports"].items():
        out.update({f"ports.{port}.{k}": v for k, v in pc.items() if isinstance(v, int)})
    for i, w in enumerate(stats["workers"]):
        out.update({f"workers[{i}].{k}": v for k, v in w.items() if isinstance(v, int)})
    return out


def bracketed(what, got, before, after):
    """got (another report of the same counters, read between the two STATS
    replies before and after) has every counter, each within [before, after]
    (counters only grow; a gauge that did not move must be equal). Returns
    the names of the counters that moved from zero, to show values were compared."""
    b, a = numbers(before), numbers(after)
    missing = [k for k in b if k not in got]
    wrong = {k: (b[k], got[k], a[k]) for k in b
             if k in got and not min(b[k], a[k]) <= got[k] <= max(b[k], a[k])}
    check(not missing, f"{what}: every data plane counter is there (missing: {missing})")
    check(not wrong, f"{what}: every value between the STATS read before and after "
                     f"(before, got, after: {wrong})")
    return [k for k in b if a[k] > 0]


def telemetry_numbers(tel):
    """The telemetry replies under the paths of numbers()."""
    out = {**tel["/migsec/stats"], **tel["/migsec/info"], **tel["/migsec/workers"]}
    out.update({f"drops.{d}": v for d, v in tel["/migsec/drops"].items()})
    for port, pc in tel["/migsec/ports"].items():
        out.update({f"ports.{port}.{k}": v for k, v in pc.items()})
    for name, w in tel["/migsec/workers"].items():
        if name.startswith("worker") and isinstance(w, dict):
            out.update({f"workers[{name[6:]}].{k}": v for k, v in w.items()})
    return out


def counters_in_telemetry(app, before, tel, after):
    """Every counter of the control socket's STATS is in some telemetry
    reply, with its value (read between two STATS replies)."""
    moved = bracketed(f"{app}: telemetry", telemetry_numbers(tel), before, after)
    check("sealed_pkts" in moved or "opened_pkts" in moved,
          f"{app}: values compared while traffic ran ({len(moved)} counters non-zero)")
    check(set(tel["/migsec/drops"]) == set(drop_reasons()),
          f"{app}: /migsec/drops has every drop reason")


def status_counters(lab):
    before = {app: lab.stats(app) for app in ("apA", "apB")}
    st = json.loads(ctl(lab, "--json", "status", appliance("apA"), appliance("apB")).stdout)
    after = {app: lab.stats(app) for app in ("apA", "apB")}
    for app in ("apA", "apB"):
        c = st[app].get("counters", {})
        check(set(c) == set(after[app]) and set(c.get("drops", {})) == set(drop_reasons()),
              f"{app}: migsecctl status --json carries the data plane's counters "
              f"({len(c)} fields, {len(c.get('drops', {}))} drop reasons)")
        bracketed(f"{app}: migsecctl status --json", numbers(c), before[app], after[app])
        cr, want = st[app].get("crypto", {}), json.loads(lab.dpctl(app, "crypto", "--json").stdout)
        check([d.get("device") for d in cr.get("devices", [])] ==
              [d["device"] for d in want["devices"]] and
              all("enqueued" in d for d in cr.get("devices", [])),
              f"{app}: migsecctl status --json carries the crypto devices and their counters")
    text = ctl(lab, "status", appliance("apA")).stdout.decode()
    log(text.rstrip())
    check(all(s in text for s in ("sealed ", "port inner", "port outer", "worker 0", "dropped ",
                                  "crypto profile ")),
          "migsecctl status prints the counters in text")
    return st


def top_json(lab):
    r = ctl(lab, "--json", "top", "--count", "2", "--interval", "1", appliance("apA"),
            appliance("apB"), timeout=60)
    frames = [json.loads(line) for line in r.stdout.decode().splitlines()]
    check(len(frames) == 2, f"migsecctl --json top --count 2: {len(frames)} frames")
    for f in frames:
        migs = {a: {m["migration"]: m for m in f["appliances"][a].get("migrations", [])}
                for a in ("apA", "apB")}
        a, b = migs["apA"].get(MIG, {}), migs["apB"].get(MIG, {})
        check((a.get("out_mbps") or 0) > 0 and (b.get("in_mbps") or 0) > 0,
              f"top frame {f['ts']}: {MIG} seals at {a.get('out_mbps')} Mbit/s on apA, "
              f"opens at {b.get('in_mbps')} Mbit/s on apB")


def top_text(lab):
    r = ctl(lab, "top", "--count", "2", "--interval", "1", appliance("apA"), appliance("apB"),
            timeout=60)
    out = r.stdout.decode()
    log(out.rstrip())
    frames = out.split("migsecctl top  ")[1:]
    check(len(frames) == 2, f"migsecctl top --count 2 printed {len(frames)} frames, exit 0")
    rows = re.findall(r"^  %s\s+vm-%s\s+source\s+\d+\s+([0-9.]+)" % (MIG, MIG), frames[-1],
                      flags=re.M)
    check(rows and float(rows[0]) > 0, f"the last frame shows {MIG} sealing at "
                                        f"{rows[0] if rows else '?'} Mbit/s on apA")


def top_unreachable(lab):
    r = ctl(lab, "top", "--count", "1", "--interval", "0.2", appliance("apA"),
            "gone=198.51.100.9:7443", check=False, timeout=60)
    out = r.stdout.decode()
    check(r.returncode == 3 and "gone: " in out and f"  {MIG} " in out,
          f"migsecctl top with an unreachable appliance: shows it, the others still, "
          f"exit {r.returncode} (3)")


def top_sigint(lab):
    pki = os.path.join(lab.dir, "pki")
    p = subprocess.Popen(["ip", "netns", "exec", f"{lab.name}-mg", MIGSECCTL, "--ca",
                          f"{pki}/ca.pem", "--cert", f"{pki}/mgmt.pem", "--key", f"{pki}/mgmt.key",
                          "top", appliance("apA")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    first, deadline = "", time.monotonic() + 15
    while "migsecctl top" not in first and time.monotonic() < deadline:  # its first frame
        if not select.select([p.stdout], [], [], 1)[0]:
            continue
        line = p.stdout.readline()
        if not line:
            break
        first += line
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    out = first + out
    check(p.returncode == 0 and "migsecctl top" in first and not err,
          f"migsecctl top without --count: SIGINT ends it, exit {p.returncode} {err.strip()}")


def main():
    caps = unit_caps("migsec-dataplane.service")
    wrap = f"setpriv --bounding-set -all,{','.join('+' + c for c in caps)} --inh-caps -all " \
           f"--no-new-privs"
    with Lab("op", env={"DP_WRAP": wrap}) as lab:
        confinement(lab, caps)
        r = start_migration(lab, MIG, [SEL])
        check(r.returncode == 0, f"migsecctl start {MIG}: {r.stderr.decode().strip()}")
        h = lab.start_transfer(256 * MIB, rate_mbps=300, timeout=120)
        for _ in range(100):  # until the migration carries traffic
            if lab.stats("apA")["sealed_pkts"] > 0:
                break
            time.sleep(0.1)
        top_json(lab)
        top_text(lab)
        for app in ("apA", "apB"):
            before = lab.stats(app)
            tel = telemetry(lab, app)
            counters_in_telemetry(app, before, tel, lab.stats(app))
            crypto_telemetry(lab, app)
        status_counters(lab)
        top_unreachable(lab)
        top_sigint(lab)
        sent, got = lab.finish(h)
        check("error" not in got and got.get("sha256") == sent.get("sha256"),
              f"the transfer arrived intact ({got.get('bytes')} bytes)")
        ctl(lab, "end", "--id", MIG, appliance("apA"), appliance("apB"))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"FAIL: {e}", flush=True)
        sys.exit(1)
