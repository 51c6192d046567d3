#!/usr/bin/python3
"""Integration: a host evacuation, many migrations at once through one
appliance pair, driven by `migsecctl start --batch` and one `end`.

- Bad batch files (a bad selector on line 3, a duplicate id, too many
  fields) fail with FILE:LINE before anything starts: neither appliance
  holds a migration or an SA afterwards.
- A batch where one line overlaps another's selectors: the others start,
  the summary names the one that did not, exit 1. A batch whose
  destination resets every connection: the first migration is rolled back
  on the source, the rest are not tried, exit 3; nothing left anywhere.
- A batch of 8 and an `end` of the 8 through a relay in front of each
  appliance: one connection per appliance and command.
- The appliance serves requests that arrive together in one TLS record
  (what poll() alone would not see).
- 32 migrations from one batch (stdin), each with its own selector (one TCP
  port), then 32 paced 2 MiB TCP transfers at once, each arriving with its
  SHA-256; while they flow, rounds of 8 more migrations (ports of their
  own, no traffic) started with one batch and ended with one `end`, at
  least two rounds ending before the last transfer does: no drop of any
  reason and no port loss (missed, errors, no mbuf, kernel ring drops) on
  either appliance during the transfers; every migration's SAs carried
  packets both ways on both appliances; then all 32 ended with one `end`,
  and no SA is left on either appliance.
- The batch start time for 1 and 32 migrations is printed (never
  asserted): migsecctl's own summary (connections, health, every start on
  both appliances) and the process's wall time. tests/perf/pt_evac.py
  prints it for 1, 32 and 256 with bench() (ending 256 takes longer than
  this test's budget: every end reads the data plane's whole SA list).
"""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import (HOST, MGMT, OUTER, PY, TLSPROBE, TOP, Lab, appliance, check,  # noqa: E402
                        ctl, log)

MIB = 1 << 20
N = 32
BASE_ARGS = ["--source", appliance("apA"), "--destination", appliance("apB"),
             "--source-outer", OUTER["A"][4], "--destination-outer", OUTER["B"][4]]
SEL = f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32,proto=tcp,dport=%d"


def lines(prefix, n, port0):
    return "".join(f"{prefix}{i} vm-{prefix}{i} {SEL % (port0 + i)}\n" for i in range(n))


def nothing_left(lab, what):
    for app in ("apA", "apB"):
        st = json.loads(ctl(lab, "--json", "status", appliance(app)).stdout)[app]
        check(st["migrations"] == [], f"{what}: no migration on {app}")
        check(lab.sas(app) == {}, f"{what}: no SA on {app}")


def bad_batches(lab):
    path = os.path.join(lab.dir, "evac-bad.batch")
    cases = [
        ("# two good lines, then a bad selector\n" + lines("b", 2, 6100).replace("\n", "\n\n", 1)
         + "b2 vm-b2 src=192.0.2.1/32,dst=nonsense\n", 5, "dst=nonsense"),
        (lines("d", 3, 6100) + "d1 vm-again " + SEL % 6200 + "\n", 4, "also on line 2"),
        ("x0 vm-x0 " + " ".join([SEL % p for p in range(6100, 6105)]) + "\n", 1, "selectors"),
    ]
    for text, line, why in cases:
        with open(path, "w") as f:
            f.write(text)
        r = ctl(lab, "start", "--batch", path, *BASE_ARGS, check=False)
        err = r.stderr.decode().strip()
        log(f"bad batch: exit {r.returncode}: {err}")
        check(r.returncode == 2, "a bad batch file: usage error (exit 2)")
        check(f"{path}:{line}:" in err and why in err and "nothing started" in err,
              f"the error names {path}:{line} and says why ({why})")
        check(r.stdout.decode().strip() == "", "and no migration line")
    os.unlink(path)
    nothing_left(lab, "after the bad batch files")


def partial_batches(lab):
    text = lines("p", 3, 6300).replace("dport=6301", "dport=6300")
    r = ctl(lab, "start", "--batch", "-", *BASE_ARGS, stdin=text.encode(), check=False)
    out, err = r.stdout.decode().strip().splitlines(), r.stderr.decode().strip()
    log("\n".join(out) + "\n" + err)
    check(r.returncode == 1, f"one line refused (overlap): exit 1 ({r.returncode})")
    check(out[0].startswith("p0: started sealed") and out[2].startswith("p2: started sealed"),
          "p0 and p2 started")
    check(out[1] == "p1: NOT started (exit 1): nothing left running" and "p1: apA refused" in err
          and "overlap" in err, "p1 did not, and stderr says why after its id")
    check(out[3].startswith("batch stdin: 3 migrations, 2 started (0 unsealed), 1 NOT started ")
          and out[4] == "not started: p1", f"the summary names it ({out[3:]})")
    end_all(lab, ["p0", "p2"], "after the batch with an overlap")

    port = "7444"
    proxy = lab.popen("apB", [PY, os.path.join(TOP, "tests", "lib", "mgmt_proxy.py"),
                              MGMT["apB"], port, MGMT["apB"], "7443", "all"])
    check(proxy.stdout.readline().strip() == "ready", "a relay in front of apB that resets all")
    args = [a if a != appliance("apB") else f"apB={MGMT['apB']}:{port}" for a in BASE_ARGS]
    r = ctl(lab, "--json", "start", "--batch", "-", *args, "--lanes", "1",
            stdin=lines("u", 3, 6400).encode(), check=False)
    proxy.kill()
    proxy.wait()
    out, err = r.stdout.decode().strip().splitlines(), r.stderr.decode().strip()
    log("\n".join(out) + "\n" + err)
    check(r.returncode == 3, f"destination unreachable: exit 3 ({r.returncode})")
    objs = [json.loads(ln) for ln in out]
    check([(o["id"], o["line"], o["exit"], o["started"]) for o in objs[:3]] ==
          [(f"u{i}", i + 1, 3, False) for i in range(3)], "--json: none of the three started")
    check("u0: rolled back: migration u0 ended on apA" in err and "u1: not tried" in err
          and "u2: not tried" in err, "u0 rolled back on the source, u1 and u2 not tried")
    sm = objs[3]["summary"]
    check(sm["started"] == [] and sm["not_started"] == ["u0", "u1", "u2"] and sm["exit"] == 3
          and sm["migrations"] == 3, f"--json: the summary names all three ({sm})")
    nothing_left(lab, "after the batch to an unreachable destination")


def one_connection(lab):
    """Relays in front of both appliances count the connections of a batch and an end."""
    relays, args = {}, list(BASE_ARGS)
    for app in ("apA", "apB"):
        relays[app] = lab.popen(app, [PY, os.path.join(TOP, "tests", "lib", "mgmt_proxy.py"),
                                      MGMT[app], "7445", MGMT[app], "7443", "0"])
        check(relays[app].stdout.readline().strip() == "ready", f"a counting relay before {app}")
        args[args.index(appliance(app))] = f"{app}={MGMT[app]}:7445"
    r = ctl(lab, "start", "--batch", "-", *args, stdin=lines("c", 8, 6500).encode(), check=False)
    check(r.returncode == 0, f"a batch of 8 through the relays ({r.stderr.decode().strip()})")
    ids = [a for i in range(8) for a in ("--id", f"c{i}")]
    r = ctl(lab, "end", *ids, args[1], args[3], check=False)
    check(r.returncode == 0, f"and one end of the 8 ({r.stderr.decode().strip()})")
    for app, p in relays.items():
        p.kill()
        out, _ = p.communicate()
        log(f"relay before {app}: {out.split()}")
        check(out.split() == ["1:", "relayed", "2:", "relayed"],
              f"{app}: two connections, one for the start of 8 (health included), one for the end")
    nothing_left(lab, "after the batch through the relays")


def pipelined(lab):
    pki = f"{lab.dir}/pki"
    r = lab.run("mg", [PY, TLSPROBE, "--ca", f"{pki}/ca.pem", "--cert", f"{pki}/mgmt.pem",
                       "--key", f"{pki}/mgmt.key", MGMT["apA"], "7443", "pipeline",
                       '3 {"v":1,"op":"health"}'], timeout=60)
    out = json.loads(r.stdout)
    check(out.get("answered") == 3, f"three requests in one TLS record, three replies ({out})")


def batch_start(lab, text, n, what):
    """migsecctl start --batch - ; returns (summary seconds, wall seconds, stdout lines)."""
    t0 = time.monotonic()
    r = ctl(lab, "start", "--batch", "-", *BASE_ARGS, stdin=text.encode(), check=False,
            timeout=300)
    wall = time.monotonic() - t0
    out = r.stdout.decode().strip().splitlines()
    err = r.stderr.decode().strip()
    check(r.returncode == 0, f"{what}: exit 0 ({err[-2000:]})")
    started = [ln for ln in out if re.match(r"^\S+: started sealed, ", ln)]
    check(len(started) == n, f"{what}: {n} lines 'started sealed'")
    m = re.match(rf"^batch stdin: {n} migrations, {n} started \(0 unsealed\), 0 NOT started "
                 r"\(0 with a failed rollback\), ([0-9.]+) s, exit 0$", out[-1])
    check(m is not None, f"{what}: the summary ({out[-1]})")
    return float(m.group(1)), wall, out


def end_all(lab, ids, what):
    args = [a for i in ids for a in ("--id", i)]
    t0 = time.monotonic()
    r = ctl(lab, "end", *args, appliance("apA"), appliance("apB"), check=False, timeout=300)
    log(f"{what}: end of {len(ids)} in one command: {time.monotonic() - t0:.3f} s")
    check(r.returncode == 0, f"{what}: all {len(ids)} ended (exit {r.returncode}: "
          f"{r.stderr.decode().strip()[-500:]})")
    nothing_left(lab, what)


AFP_FRAMES = 4096
LOSS = ("rx_missed", "rx_errors", "rx_nombuf", "tx_errors", "rx_kernel_drops")
CHURN, CHURN_ROUNDS = 8, 12


def losses(lab):
    """Every drop reason and every port loss counter of both appliances."""
    out = {}
    for app in ("apA", "apB"):
        dp = lab.stats(app)
        out.update({f"{app} drop {k}": v for k, v in dp["drops"].items()})
        for port, c in dp["ports"].items():
            out.update({f"{app} {port} {k}": c[k] for k in LOSS if k in c})
    return out


def churn(lab, sends):
    """While the transfers flow: batches of CHURN more migrations (their own
    ports, no traffic) started and ended, round after round (at most
    CHURN_ROUNDS), each a burst of SA installs and one batched delete per
    migration and appliance beside the flowing SAs. Returns the rounds that
    ended while a transfer was still running."""
    during = 0
    for k in range(CHURN_ROUNDS):
        if all(p.poll() is not None for p in sends):
            break
        ids = [f"w{k}x{i}" for i in range(CHURN)]
        batch_start(lab, lines(f"w{k}x", CHURN, 7000 + k * CHURN), CHURN, f"churn round {k}")
        r = ctl(lab, "end", *[a for i in ids for a in ("--id", i)], appliance("apA"),
                appliance("apB"), check=False, timeout=60)
        check(r.returncode == 0, f"churn round {k}: its {CHURN} ended "
              f"({r.stderr.decode().strip()[-300:]})")
        during += any(p.poll() is None for p in sends)
    return during


def transfers(lab, ids, port0, during=None):
    """N paced transfers at once: every receiver first, then every sender;
    during(senders) runs while they flow."""
    recvs = [lab.popen("B", [PY, "-u", os.path.join(os.path.dirname(TLSPROBE), "xfer.py"),
                             "recv", "--bind", HOST["B"][4], "--port", str(port0 + i),
                             "--timeout", "60"]) for i in range(len(ids))]
    time.sleep(1.0)
    t0 = time.monotonic()
    sends = [lab.popen("A", [PY, os.path.join(os.path.dirname(TLSPROBE), "xfer.py"), "send",
                             "--to", HOST["B"][4], "--port", str(port0 + i), "--bytes",
                             str(2 * MIB), "--rate-mbps", "8", "--timeout", "60"])
             for i in range(len(ids))]
    result = during(sends) if during else None
    for i, (s, r) in enumerate(zip(sends, recvs)):
        sent, got = Lab.finish((s, r, 60))
        check(got.get("sha256") == sent.get("sha256") and got.get("bytes") == 2 * MIB,
              f"transfer {i + 1} of {len(ids)} (port {port0 + i}, migration {ids[i]}): "
              "2 MiB intact")
    log(f"{len(ids)} transfers at once: {time.monotonic() - t0:.1f} s")
    return result


def transfers_with_churn(lab, ids, port0):
    """The transfers, with migrations started and ended beside them: no
    packet of any appliance dropped or lost at a port meanwhile."""
    before = losses(lab)
    t0 = time.monotonic()
    rounds = transfers(lab, ids, port0, lambda sends: churn(lab, sends))
    after = losses(lab)
    moved = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    # the hosts' own kernels send link-local IPv6 (RS, MLD, NS) for seconds
    # after their links come up: dropped by design, not the churn's
    host_noise = {k: moved.pop(k) for k in list(moved) if k.endswith(" drop link_local")}
    log(f"{rounds} rounds of {CHURN} starts and {CHURN} ends while the transfers flowed "
        f"({time.monotonic() - t0:.1f} s with the transfers); counters moved: {moved}"
        f"{'; link-local frames of the hosts dropped: ' + str(host_noise) if host_noise else ''}")
    check(rounds >= 2, f"at least two churn rounds ended while transfers flowed ({rounds})")
    check(moved == {}, f"no drop and no port loss on either appliance meanwhile ({moved})")
    st = json.loads(ctl(lab, "--json", "status", appliance("apA")).stdout)["apA"]
    check({m["migration"] for m in st["migrations"]} == set(ids),
          "the churn's migrations all ended, the transfers' all left")


def every_sa_carried(lab, ids):
    st = json.loads(ctl(lab, "--json", "status", appliance("apA"), appliance("apB")).stdout)
    for app in ("apA", "apB"):
        migs = {m["migration"]: m for m in st[app]["migrations"]}
        check(set(migs) == set(ids), f"{app}: the {len(ids)} migrations")
        idle = [i for i in ids
                if not all(ln["out_pkts"] > 0 and ln["in_pkts"] > 0 for ln in migs[i]["per_lane"])]
        check(idle == [], f"{app}: every migration's SAs carried packets both ways ({idle})")
        dp = lab.stats(app)
        bad = {k: dp["drops"][k] for k in ("replay", "icv_fail", "bad_trailer") if dp["drops"][k]}
        check(bad == {}, f"{app}: no replay or ICV drop ({bad})")


def report(timing):
    load = os.getloadavg()
    for n, (s, wall) in sorted(timing.items()):
        log(f"batch start of {n:3d}: {s * 1000:8.1f} ms (migsecctl's summary), "
            f"{wall * 1000:8.1f} ms wall (the process), {s * 1000 / n:6.2f} ms per migration")
    log(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def bench(lab, sizes):
    """Start and end a batch of each size; {size: (summary s, wall s)}."""
    timing = {}
    for k, n in enumerate(sizes):
        prefix = f"t{k}x"
        timing[n] = batch_start(lab, lines(prefix, n, 10000), n, f"a batch of {n}")[:2]
        end_all(lab, [f"{prefix}{i}" for i in range(n)], f"the batch of {n}")
    return timing


def main():
    t_begin = time.monotonic()
    # A deep af_packet ring (tests/lab.sh): the polling workers share this
    # machine's two cores with 64 transfer processes and the churn's control
    # processes; with the default 512 frames the kernel drops frames before
    # a preempted worker reads them (rx_kernel_drops), churn or not.
    with Lab("itE", env={"AFP_FRAMES": str(AFP_FRAMES)}) as lab:
        bad_batches(lab)
        partial_batches(lab)
        one_connection(lab)
        pipelined(lab)
        timing = bench(lab, [1])
        ids = [f"e{i}" for i in range(N)]
        s, wall, out = batch_start(lab, lines("e", N, 6000), N, f"a batch of {N}")
        timing[N] = (s, wall)
        log("\n".join(out[:3] + ["..."] + out[-2:]))
        transfers_with_churn(lab, ids, 6000)
        every_sa_carried(lab, ids)
        end_all(lab, ids, f"the batch of {N}")
        report(timing)
    log(f"test {time.monotonic() - t_begin:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
