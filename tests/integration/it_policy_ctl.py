#!/usr/bin/python3
"""Integration: per-migration policies through migsecctl, and the audit trail.

Appliance B can hold only 2 SAs here (a sealed migration needs 3 on each
appliance, an unsealed one 1), so B refuses sealed starts:
- required: the start fails on B, A is rolled back, nothing runs; exit 1.
- opportunistic: the same refusal, then both start unsealed (a bypass rule
  for the selectors, even under the default policy discard): traffic flows
  in plaintext, migsecctl exits 4, and both audit the downgrade.
- disabled: unsealed by request, audited.
Then, with sealed SAs (a fresh lab), tampered packets on the outer link show
up as an aggregated tamper_drops audit line.
"""
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import (HOST, PY, TOP, Lab, appliance, check, ctl, log,  # noqa: E402
                        start_migration)

from scapy.all import Ether, rdpcap, wrpcap  # noqa: E402

SEL = f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32"


def audit(lab, app):
    with open(f"{lab.dir}/{app}-audit.jsonl") as f:
        return [json.loads(line) for line in f]


def events(lab, app, name):
    return [e for e in audit(lab, app) if e["event"] == name]


def policies():
    with Lab("it8", env={"MAX_SA_B": "2"}) as lab:
        r = start_migration(lab, "req1", [SEL], policy="required")
        log(r.stderr.decode().strip())
        check(r.returncode == 1, f"required: refused by B, exit 1 ({r.returncode})")
        st = json.loads(ctl(lab, "--json", "status", appliance("apA"), appliance("apB")).stdout)
        check(not st["apA"]["migrations"] and not st["apB"]["migrations"],
              "required: rolled back, nothing runs on either appliance")
        check(not lab.sas("apA"), "required: A's data plane holds no SA")
        check(events(lab, "apA", "start") and events(lab, "apA", "end"),
              "required: A audited the start and its rollback")

        r = start_migration(lab, "opp1", [SEL], policy="opportunistic")
        log(r.stdout.decode().strip() + " / " + r.stderr.decode().strip())
        check(r.returncode == 4, f"opportunistic: started unsealed, exit 4 ({r.returncode})")
        for app in ("apA", "apB"):
            e = [x for x in events(lab, app, "start_unsealed") if x["migration"] == "opp1"]
            check(e and "downgraded from opportunistic" in e[-1].get("note", ""),
                  f"opportunistic: {app} audited the downgrade")
        check(lab.ping("A", HOST["B"][4]), "opportunistic, unsealed: the hosts talk (discard default)")
        st = json.loads(ctl(lab, "--json", "status", appliance("apA")).stdout)
        check(st["apA"]["migrations"][0]["sealed"] is False, "status says: not sealed")
        ctl(lab, "end", "--id", "opp1", appliance("apA"), appliance("apB"))
        check(not lab.ping("A", HOST["B"][4], count=2, check=False),
              "after end the selectors fall back to the default policy (discard)")

        r = start_migration(lab, "dis1", [SEL], policy="disabled")
        check(r.returncode == 0, "disabled: started (no key made)")
        check(events(lab, "apB", "start_unsealed")[-1]["migration"] == "dis1", "disabled: audited")
        ctl(lab, "end", "--id", "dis1", appliance("apA"), appliance("apB"))


def tamper():
    with Lab("it9") as lab:
        r = start_migration(lab, "tmp1", [SEL])
        check(r.returncode == 0, "sealed migration started")
        with lab.capture("apB", count=3, seconds=15, bpf="udp port 4500") as cap:
            lab.ping("A", HOST["B"][4], count=3)
        frames = []
        for p in rdpcap(cap.path):
            b = bytearray(bytes(p))
            b[-1] ^= 0xff  # the ICV
            frames.append(Ether(bytes(b)))
        cap.remove()
        with tempfile.NamedTemporaryFile(suffix=".pcap", delete=False) as f:
            pcap = f.name
        wrpcap(pcap, frames * 5)
        lab.run("apA", [PY, os.path.join(TOP, "tests", "lib", "inject.py"), pcap, "outer"])
        os.unlink(pcap)
        found = []
        for _ in range(40):  # drop_report_s is 2 in the lab; the tick runs each second
            found = events(lab, "apB", "tamper_drops")
            if found:
                break
            time.sleep(0.25)
        log(f"apB audit: {found}")
        check(found and sum(e["dropped"] for e in found) == len(frames) * 5 and
              found[0]["migration"] == "tmp1", "tampered packets: one aggregated tamper_drops line")
        check(all("key" not in e for e in audit(lab, "apB")), "no audit line carries a key")


def main():
    policies()
    tamper()
    return 0


if __name__ == "__main__":
    sys.exit(main())
