#!/usr/bin/python3
"""Hostile: abuse of the management plane (issue 15, findings 2 and 3).

Downgrade (appliance B has room for 3 SAs: one sealed migration of one lane):
- a relay on the path resets migsecctl's sealed `start` to B (or to A):
  under opportunistic nothing starts, unsealed or not, anywhere; exit 3;
- with B short of room for sealed SAs, B answers `cannot_seal`: the start
  falls back to plaintext (exit 4), audited at both ends with B's reason;
  required is refused (exit 1).
Exhaustion (A's migsec-control restarted with small bounds):
- 200 half-open TLS handshakes from one source in 5 s: a well-behaved
  client (another source) is served throughout, and the refusals cost a
  bounded number of audit lines that still account for every one;
- a client trickling one byte a second is cut at mgmt.request_s;
- the audit file rotates at mgmt.audit_max_kib.
"""
import json
import os
import pwd
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import (BUILD, HOST, MGMT, OUTER, PY, TLSPROBE, TOP, Lab,  # noqa: E402
                        appliance, check, ctl, log)

# TCP only, so that it does not overlap FILLER (overlapping selectors are refused).
SEL = f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32,proto=tcp"
FILLER = f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32,proto=udp,dport=9"
PROXY = os.path.join(TOP, "tests", "lib", "mgmt_proxy.py")
REQUEST_S = 3
AUDIT_KIB = 16


def audit(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def start(lab, mig_id, policy, src, dst, sels=(SEL,), extra=()):
    args = ["start", "--id", mig_id, "--vm", f"vm-{mig_id}", "--policy", policy,
            "--source", src, "--destination", dst,
            "--source-outer", OUTER["A"][4], "--destination-outer", OUTER["B"][4], *extra]
    for s in sels:
        args += ["--sel", s]
    r = ctl(lab, *args, check=False)
    log(f"start {mig_id} ({policy}): exit {r.returncode}: {r.stderr.decode().strip()}")
    return r


def nothing_runs(lab, mig_id):
    st = json.loads(ctl(lab, "--json", "status", appliance("apA"), appliance("apB")).stdout)
    running = [a for a in ("apA", "apB") if any(m["id"] == mig_id for m in st[a]["migrations"])]
    unsealed = [a for a in ("apA", "apB")
                if any(e["event"] == "start_unsealed" and e.get("migration") == mig_id
                       for e in audit(f"{lab.dir}/{a}-audit.jsonl"))]
    return not running and not unsealed, f"running on {running}, started unsealed on {unsealed}"


def blocked(lab, app, mig_id):
    """A relay in front of app's port resets its 1st connection, which carries the
    sealed start (--lanes: no health before it; migsecctl opens one connection
    per appliance and command, and does not open it again for a request once
    opening it failed)."""
    port = "7444"
    p = lab.popen(app, [PY, PROXY, MGMT[app], port, MGMT[app], "7443", "1"])
    check(p.stdout.readline().strip() == "ready", f"relay in front of {app}")
    peers = {a: appliance(a) for a in ("apA", "apB")}
    peers[app] = f"{app}={MGMT[app]}:{port}"
    r = start(lab, mig_id, "opportunistic", peers["apA"], peers["apB"], extra=("--lanes", "1"))
    p.kill()
    p.wait()
    check(r.returncode == 3, f"sealed start to {app} reset on the path: exit 3 ({r.returncode})")
    ok, what = nothing_runs(lab, mig_id)
    check(ok, f"... and the migration runs nowhere, sealed or not ({what})")


def downgrade(lab):
    blocked(lab, "apB", "blk1")
    blocked(lab, "apA", "blk2")
    # A filler (1 SA per appliance) leaves B room for 2: a sealed start needs 3.
    check(start(lab, "fill", "disabled", appliance("apA"), appliance("apB"),
                sels=(FILLER,)).returncode == 0, "filler migration (unsealed) started")
    r = start(lab, "req1", "required", appliance("apA"), appliance("apB"))
    check(r.returncode == 1 and b"cannot_seal" in r.stderr,
          f"required: B answers cannot_seal, exit 1 ({r.returncode})")
    r = start(lab, "opp1", "opportunistic", appliance("apA"), appliance("apB"))
    check(r.returncode == 4, f"opportunistic: B cannot seal, so unsealed: exit 4 ({r.returncode})")
    failed = [e for e in audit(f"{lab.dir}/apB-audit.jsonl")
              if e["event"] == "start_failed" and e["migration"] == "opp1"]
    check(failed and failed[-1]["code"] == "cannot_seal" and "room" in failed[-1]["reason"],
          f"B audited its cannot_seal answer ({failed[-1:]})")
    for app in ("apA", "apB"):
        e = [x for x in audit(f"{lab.dir}/{app}-audit.jsonl")
             if x["event"] == "start_unsealed" and x["migration"] == "opp1"]
        check(e and "downgraded from opportunistic: apB cannot seal" in e[-1].get("note", ""),
              f"{app} audited the downgrade with B's reason")
    ctl(lab, "end", "--id", "opp1", appliance("apA"), appliance("apB"))
    ctl(lab, "end", "--id", "fill", appliance("apA"), appliance("apB"))


def restart_control(lab, app, extra, audit_file):
    """app's migsec-control again, with extra mgmt settings and its own audit file."""
    conf = os.path.join(lab.dir, f"{app}.conf")
    with open(conf) as f:
        text = f.read()
    text = re.sub(r'audit_file = "[^"]*";', f'audit_file = "{audit_file}";', text)
    text = text.replace("mgmt: {", "mgmt: {\n  " + " ".join(f"{k} = {v};" for k, v in extra))
    with open(conf, "w") as f:
        f.write(text)
    with open(os.path.join(lab.dir, f"{app}-control.pid")) as f:
        pid = int(f.read())
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):  # gone, and its port with it
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    log_f = open(os.path.join(lab.dir, f"{app}-control.log"), "a")
    p = subprocess.Popen(["ip", "netns", "exec", lab.ns(app),
                          os.path.join(BUILD, "control", "migsec-control"), "-c", conf],
                         stdout=log_f, stderr=log_f, start_new_session=True)
    with open(os.path.join(lab.dir, f"{app}-control.pid"), "w") as f:
        f.write(str(p.pid))
    for _ in range(100):
        if ctl(lab, "--timeout", "2", "health", appliance(app), check=False).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"migsec-control {app} did not come back")


def probe(lab, who, mode, arg, cert=True):
    pki = f"{lab.dir}/pki"
    opts = ["--ca", f"{pki}/ca.pem"] + (["--cert", f"{pki}/mgmt.pem", "--key", f"{pki}/mgmt.key"]
                                         if cert else [])
    r = lab.run(who, [PY, TLSPROBE, *opts, MGMT["apA"], "7443", mode, arg], timeout=60)
    return json.loads(r.stdout)


def flood(lab, path):
    src = MGMT["apA"]  # from inside apA's namespace: its own address is the source
    p = lab.popen("apA", [PY, TLSPROBE, "--ca", f"{lab.dir}/pki/ca.pem", src, "7443", "flood",
                          "200 5"])
    served = failed = 0
    while p.poll() is None:
        r = ctl(lab, "--timeout", "2", "health", appliance("apA"), check=False)
        served, failed = served + (r.returncode == 0), failed + (r.returncode != 0)
        time.sleep(0.2)
    out = json.loads(p.stdout.read())
    log(f"flood: {out}; the other client: {served} answered, {failed} not")
    check(out["opened"] >= 190 and out["seconds"] <= 10, "200 handshakes opened within 10 s")
    check(failed == 0 and served >= 5,
          f"a well-behaved client is served throughout ({failed} failed)")

    def lines():
        return [e for e in audit(path) if e.get("peer") == src or
                str(e.get("peer", "")).startswith(src + ":")]

    accounted = 0
    for _ in range(60):  # the summary comes when its 10-s window ends
        mine = lines()
        accounted = sum(e["refused"] - e["audited"] if e["event"] == "refusals_summary" else 1
                        for e in mine)
        if accounted >= out["opened"]:
            break
        time.sleep(0.5)
    summaries = [e for e in mine if e["event"] == "refusals_summary"]
    log(f"audit lines for {src}: {len(mine)}; summaries: {summaries}")
    check(len(mine) <= 30, f"refusals cost a bounded number of audit lines ({len(mine)})")
    check(accounted == out["opened"] and summaries,
          f"... which account for every refused handshake ({accounted} of {out['opened']})")
    check("per-source limit" in json.dumps(summaries), "the summary says why: per-source limit")


def trickle_and_rotate(lab, path):
    r = probe(lab, "mg", "trickle", "12")
    log(f"trickle: {r}")
    check(r.get("closed_after", 99) <= REQUEST_S + 1.5,
          f"one byte a second: cut at mgmt.request_s = {REQUEST_S} ({r})")
    check(any(e["event"] == "connection_closed" and "request_s" in e["reason"]
              for e in audit(path)), "and audited as a request deadline")
    r = probe(lab, "mg", "repeat", '150 {"v":1,"op":"nope"}')
    check(r.get("answered") == 150, f"150 refused requests on one connection ({r})")
    sizes = [os.path.getsize(p) for p in (path, path + ".1")]
    first = audit(path)[0]
    log(f"audit file {sizes[0]} bytes, previous {sizes[1]} bytes; first line {first['event']}")
    check(max(sizes) <= AUDIT_KIB * 1024, f"the audit file rotated at {AUDIT_KIB} KiB ({sizes})")
    check(first["event"] == "audit_rotated" and first["previous"] == path + ".1",
          "the new file begins with audit_rotated")


def main():
    t0 = time.monotonic()
    with Lab("itM", env={"MAX_SA_B": "3"}) as lab:
        downgrade(lab)
        d = os.path.join(lab.dir, "abuse")
        os.makedirs(d, exist_ok=True)
        user = pwd.getpwnam(os.environ.get("CTL_USER", "nobody"))
        os.chown(d, user.pw_uid, user.pw_gid)
        path = os.path.join(d, "apA-audit.jsonl")
        restart_control(lab, "apA", [("max_per_source", 4), ("handshake_ms", 1000),
                                     ("request_s", REQUEST_S), ("audit_max_kib", AUDIT_KIB)],
                        path)
        flood(lab, path)
        trickle_and_rotate(lab, path)
        check(ctl(lab, "health", appliance("apA")).returncode == 0, "apA still answers")
    log(f"it_mgmt_abuse: {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
