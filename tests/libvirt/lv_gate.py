#!/usr/bin/python3
"""libvirt: `virsh migrate --live --p2p` gated by migsec's qemu hook.

The appliance lab (tests/lab.sh, policy bypass so that unprotected traffic
may cross) with a libvirtd on each of its hosts (tests/lib/libvirt_hosts.py):
host A (192.0.2.1) and host B (192.0.2.2), B's /etc/libvirt/hooks/qemu
being migsec-libvirt-hook, asking appliance B's query socket.
- migsecctl policy: default shown, set and read back (text, --json, the
  domain's XML), removed; a bad value (exit 2), an unknown domain (exit 6),
  an unreachable libvirt (exit 3), each with its message.
- required, no migsec migration: the hook refuses, virsh shows why and what
  to run; the domain stays on A; the hook and appliance B audited it.
- opportunistic and disabled: they migrate.
- required with `migsecctl start --vm NAME` on both appliances: allowed,
  and the migration crossed sealed (B opened its packets).
- `migsecctl migrate` of a disabled domain: no migsec migration at all,
  the libvirt migration alone, exit 0.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from libvirt_hosts import Host  # noqa: E402
from lvmig_lab import hosts_conf  # noqa: E402
from migsec_lab import (BUILD, HOST, OUTER, Lab, appliance, check, ctl, log,  # noqa: E402
                        MIGSECCTL)

HOOK = os.path.join(BUILD, "tools", "migsec-libvirt-hook")
SEL = f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32"


def jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def policy(lab, conf, *args):
    return lab.run("A", [MIGSECCTL, *args], check=False,
                   env=dict(os.environ, MIGSEC_LIBVIRT_CONF=conf))


def migrate(a, name):
    return a.virsh("migrate", "--live", "--p2p", name, f"qemu+tcp://{HOST['B'][4]}/system",
                   "--migrateuri", f"tcp://{HOST['B'][4]}", check=False, timeout=120)


def policy_cli(lab, a, conf):
    uri = ["--connect", a.uri]
    r = policy(lab, conf, "policy", "lv-req", *uri)
    check(r.returncode == 0 and "opportunistic (the default of" in r.stdout,
          f"policy: no metadata shows the cluster default ({r.stdout.strip()})")
    r = policy(lab, conf, "policy", "lv-req", "required", *uri)
    check(r.returncode == 0 and r.stdout.strip() == "lv-req: required",
          f"policy: set required ({r.stdout.strip()})")
    r = policy(lab, conf, "--json", "policy", "lv-req", *uri)
    got = json.loads(r.stdout)
    check(got == {"domain": "lv-req", "policy": "required", "source": "metadata"},
          f"policy --json reads it back ({got})")
    xml = a.virsh("dumpxml", "lv-req").stdout
    check('xmlns:migsec="http://migsec.org/xmlns/libvirt/1">required</migsec:policy>' in xml,
          "the domain's XML holds <migsec:policy> in migsec's namespace")
    r = policy(lab, conf, "policy", "lv-req", "sometimes", *uri)
    check(r.returncode == 2 and "'sometimes' is not a policy" in r.stderr,
          f"policy: a bad value is exit 2 with its message ({r.returncode}: {r.stderr.strip()})")
    r = policy(lab, conf, "policy", "no-such-vm", "required", *uri)
    check(r.returncode == 6 and "no domain 'no-such-vm'" in r.stderr,
          f"policy: an unknown domain is exit 6 ({r.returncode}: {r.stderr.strip()})")
    r = policy(lab, conf, "policy", "lv-req", "--connect", "qemu+tcp://127.0.0.1:1/system")
    check(r.returncode == 3 and "cannot connect to libvirt" in r.stderr,
          f"policy: libvirt unreachable is exit 3 ({r.returncode}: {r.stderr.strip()})")
    for v in ("default", "required"):
        r = policy(lab, conf, "policy", "lv-req", v, *uri)
        check(r.returncode == 0, f"policy: set {v} again ({r.stdout.strip()})")


def gate(lab, a, b, hook_audit):
    r = migrate(a, "lv-req")
    log(r.stderr.strip())
    check(r.returncode != 0 and "migsec: refusing the incoming migration of 'lv-req'" in r.stderr
          and "holds no migsec migration" in r.stderr and "migsecctl start --vm lv-req" in r.stderr,
          "required without a migsec migration: refused by B's hook, with why and what to run")
    check("lv-req" in a.domains() and "lv-req" not in b.domains(), "lv-req still runs on A only")
    last = jsonl(hook_audit)[-1]
    check(last["decision"] == "refuse" and last["policy"] == "required", f"hook audited {last}")
    q = [e for e in jsonl(f"{lab.dir}/apB-audit.jsonl") if e["event"] == "vm_query"]
    check(q and q[-1]["vm"] == "lv-req" and q[-1]["active"] is False and q[-1]["peer_uid"] == 0,
          f"appliance B audited the question and its answer ({q[-1] if q else None})")
    for name in ("lv-opp", "lv-dis"):
        r = migrate(a, name)
        check(r.returncode == 0 and name in b.domains() and name not in a.domains(),
              f"{name} ({jsonl(hook_audit)[-1]['policy']}): migrated to B ({r.stderr.strip()})")


def sealed(lab, a, b, hook_audit):
    A, B = appliance("apA"), appliance("apB")
    ctl(lab, "start", "--id", "lvm1", "--vm", "lv-req", "--source", A, "--destination", B,
        "--source-outer", OUTER["A"][4], "--destination-outer", OUTER["B"][4], "--sel", SEL)
    r = migrate(a, "lv-req")
    check(r.returncode == 0 and "lv-req" in b.domains(),
          f"required with an active sealed migration: allowed, migrated ({r.stderr.strip()})")
    last = jsonl(hook_audit)[-1]
    check(last["decision"] == "allow" and last.get("migration") == "lvm1", f"hook audited {last}")
    mig = json.loads(ctl(lab, "--json", "status", "--id", "lvm1", B).stdout)["apB"]["migrations"][0]
    # 48 MiB of guest RAM, mostly zero pages that QEMU sends as flags only.
    check(mig["sealed"] and mig["in_pkts"] > 200 and mig["in_bytes"] > 256 << 10,
          f"the migration crossed sealed: B opened {mig['in_pkts']} packets, {mig['in_bytes']} bytes")
    ctl(lab, "end", "--id", "lvm1", A, B)


def disabled_migrate(lab, a, b, root):
    """migsecctl migrate of a disabled domain: no migsec migration at all, the
    libvirt migration alone (this lab's policy is bypass), exit 0."""
    a.create("lv-dis2")
    pki = os.path.join(lab.dir, "pki")
    env = dict(os.environ, MIGSEC_LIBVIRT_CONF=hosts_conf(root))
    run = ["ip", "netns", "exec", lab.ns("mg"), MIGSECCTL, "--ca", f"{pki}/ca.pem", "--cert",
           f"{pki}/mgmt.pem", "--key", f"{pki}/mgmt.key"]
    r = subprocess.run(run + ["policy", "lv-dis2", "disabled", "--connect", a.local_uri],
                       env=env, capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"lv-dis2: policy disabled ({r.stderr.strip()})")
    r = subprocess.run(run + ["--json", "migrate", "lv-dis2", f"qemu+tcp://{HOST['B'][4]}/system",
                              "--p2p", "--connect", a.local_uri], env=env, capture_output=True,
                       text=True, timeout=120)
    ev = {e["event"]: e for e in map(json.loads, r.stdout.splitlines())}
    res = ev.get("result", {})
    check(r.returncode == 0 and res.get("outcome") == "completed" and res["policy"] == "disabled"
          and res["sealed"] is False and "started" not in ev and "ended" not in ev,
          f"migsecctl migrate of a disabled domain: exit 0, no migsec migration "
          f"({r.returncode}: {r.stderr.strip()})")
    check("lv-dis2" in b.domains() and "lv-dis2" not in a.domains(), "lv-dis2 migrated to B")
    for app in ("apA", "apB"):
        st = json.loads(ctl(lab, "--json", "status", appliance(app)).stdout)[app]
        check(st["migrations"] == [], f"no migration on {app} for a disabled domain")


def main():
    with Lab("lv", policy="bypass", poll="adaptive") as lab:
        root = os.path.join(lab.dir, "libvirt")
        os.makedirs(root, exist_ok=True)
        hook_audit = os.path.join(root, "hostB-hook.jsonl")
        conf_b = write(os.path.join(root, "hostB-libvirt.conf"),
                       f'query_socket = "{lab.dir}/apB-query.sock";\n'
                       f'audit_file = "{hook_audit}";\n')
        conf_a = write(os.path.join(root, "hostA-libvirt.conf"), 'default_policy = "opportunistic";\n')
        wrapper = f'#!/bin/sh\nMIGSEC_LIBVIRT_CONF={conf_b} exec {HOOK} "$@"\n'
        a = Host("hostA", lab.ns("A"), HOST["A"][4], root)
        b = Host("hostB", lab.ns("B"), HOST["B"][4], root, hook=wrapper)
        try:
            a.start()
            b.start()
            for name in ("lv-req", "lv-opp", "lv-dis"):
                a.create(name)
            policy_cli(lab, a, conf_a)
            for name, v in (("lv-opp", "opportunistic"), ("lv-dis", "disabled")):
                check(policy(lab, conf_a, "policy", name, v, "--connect", a.uri).returncode == 0,
                      f"{name}: policy {v}")
            gate(lab, a, b, hook_audit)
            sealed(lab, a, b, hook_audit)
            disabled_migrate(lab, a, b, root)
        finally:
            b.stop()
            a.stop()
    log("lv_gate: all checks passed")


if __name__ == "__main__":
    main()
