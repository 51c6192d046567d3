#!/usr/bin/python3
"""migsec demo: an encrypted migration transfer between two hypervisor hosts
through two migsec appliances, on this machine (network namespaces, virtual
ports), with the management plane handing out the one-shot key over mutual
TLS.

The demo plays the orchestrator: it makes the one-shot key (os.urandom) and
gives it to migsecctl on stdin, so that it can afterwards check the wire with
keys it derives itself (README, "Key derivation"). Prints what happened;
exits non-zero if any check fails.

  tests/demo.py [--mbytes N]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from migsec_lab import (HOST, OUTER, Lab, appliance, ctl, derive, memory_hits,  # noqa: E402
                        start_migration, verify_esp_capture)

MIB = 1 << 20


def mib(n):
    return f"{n / MIB:.1f} MiB"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mbytes", type=int, default=256, help="MiB to transfer (default 256)")
    a = p.parse_args()
    failures = []

    def check(cond, what):
        print(f"    [{'ok' if cond else 'FAILED'}] {what}")
        if not cond:
            failures.append(what)

    print("migsec demo: a sealed migration transfer between two hypervisor hosts\n")
    print(f"  host A {HOST['A'][4]} -- [appliance A | outer {OUTER['A'][4]}] == ESP-in-UDP, "
          f"AES-256-GCM == [outer {OUTER['B'][4]} | appliance B] -- host B {HOST['B'][4]}")
    print("                 management plane (migsecctl) --mutual TLS 1.3--> migsec-control A, B\n")
    print("1. Lab: 5 network namespaces, 5 veth links, 2 data planes (DPDK), 2 migsec-control")
    with Lab("demo") as lab:
        for line in ctl(lab, "health", appliance("apA"), appliance("apB")).stdout.decode().splitlines():
            print(f"    {line}")
        mig = f"vm42-{int(time.time()) % 100000}"
        sel = f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32,proto=tcp,dport=5201"
        secret = os.urandom(40)
        print(f"\n2. migsecctl start {mig} (policy required), the one-shot 256-bit key and 64-bit "
              f"nonce\n   over mutual TLS to both appliances; each derives its ESP keys with "
              f"HKDF-SHA256")
        r = start_migration(lab, mig, [sel], secret=secret, extra=("--lifetime", "600"))
        for line in r.stdout.decode().splitlines():
            print(f"    {line}")
        check(r.returncode == 0, "both appliances accepted the migration")
        if r.returncode != 0:
            print(r.stderr.decode())
            return 1
        print(f"\n3. Host A sends {a.mbytes} MiB to host B over TCP port 5201; halfway, "
              f"migsecctl rekey (make-before-break)")
        marker = f"MIGSEC-DEMO-{os.urandom(4).hex()}"
        with lab.capture("apB", count=1500, seconds=120, bpf="udp port 4500") as cap:
            h = lab.start_transfer(a.mbytes * MIB, family=4, marker=marker, timeout=300)
            time.sleep(1.0)
            ctl(lab, "rekey", "--id", mig, appliance("apA"), appliance("apB"))
            sent, got = lab.finish(h)
        secs = sent.get("seconds", 0)
        print(f"    sent     {sent.get('bytes', 0)} bytes, SHA-256 {sent.get('sha256', '-')}")
        print(f"    received {got.get('bytes', 0)} bytes, SHA-256 {got.get('sha256', '-')}")
        if secs:
            print(f"    {secs:.1f} s, {a.mbytes * MIB * 8 / secs / 1e9:.2f} Gbit/s (2 cores shared by "
                  f"both appliances and both hosts)")
        check("error" not in got and got.get("sha256") == sent.get("sha256")
              and got.get("bytes") == a.mbytes * MIB, "the data arrived intact across the rekey")

        print("\n4. The migration network, captured and decrypted independently (scapy) with keys")
        print("   derived here from the one-shot key")
        sas = {}
        for d in ("s2d", "d2s"):
            for g in (0, 1):
                k = derive(secret, mig, d, g)
                sas[k["spi"]] = (k["key"] + k["salt"], 4)
        pairs = {(HOST["A"][4], HOST["B"][4]), (HOST["B"][4], HOST["A"][4])}
        res = verify_esp_capture(cap.path, sas, pairs, marker)
        cap.remove()
        print(f"    {res['frames']} frames, {res['esp']} ESP-in-UDP, {res['decrypted']} decrypted, "
              f"{len(res['bad'])} anything else")
        check(not res["bad"] and res["esp"] > 0, "only ESP-in-UDP on the wire, all of it decrypts")
        check(res["marker_on_wire"] == 0 and res["marker_in_plaintext"] > 0,
              "the data's plaintext marker never appears on the wire, only after decryption")

        print("\n5. migsecctl status")
        time.sleep(2.5)
        out = ctl(lab, "status", appliance("apA"), appliance("apB")).stdout.decode()
        for line in out.splitlines():
            print(f"    {line}")
        st = json.loads(ctl(lab, "--json", "status", appliance("apA"), appliance("apB")).stdout)
        for app in ("apA", "apB"):
            m = st[app]["migrations"][0]
            bad = {k: v for k, v in m["drops"].items() if v}
            check(m["generation"] == 1 and not bad,
                  f"{app}: generation 1 after the rekey, no drops ({bad or 'none'})")

        print(f"\n6. migsecctl end {mig}: every key wiped on both appliances")
        pids = {}
        for n in ("apA", "apB", "apA-control", "apB-control"):
            with open(os.path.join(lab.dir, f"{n}.pid")) as f:
                pids[n] = int(f.read())
        needles = [secret[:32]] + [derive(secret, mig, d, g)["key"] for d in ("s2d", "d2s")
                                   for g in (0, 1, 2)]
        ctl(lab, "end", "--id", mig, appliance("apA"), appliance("apB"))
        for n, pid in pids.items():
            check(memory_hits(pid, needles) == 0, f"no key of the migration left in {n}'s memory")
        sa, sb = lab.stats("apA"), lab.stats("apB")
        print(f"    appliance A: sealed {sa['sealed_pkts']} packets ({mib(sa['sealed_bytes'])}), "
              f"opened {sa['opened_pkts']} ({mib(sa['opened_bytes'])})")
        print(f"    appliance B: sealed {sb['sealed_pkts']} packets ({mib(sb['sealed_bytes'])}), "
              f"opened {sb['opened_pkts']} ({mib(sb['opened_bytes'])})")

        print("\n7. The audit trail of the migration on appliance A (JSON lines; no key in any)")
        with open(os.path.join(lab.dir, "apA-audit.jsonl")) as f:
            for line in f:
                e = json.loads(line)
                if e.get("migration") == mig:
                    short = {k: e[k] for k in ("event", "by", "trigger", "from", "to", "generation",
                                               "out_bytes", "in_bytes") if k in e}
                    print(f"    {e['ts']} {json.dumps(short)}")
        print("\n8. Stopping the lab")
    print(f"\nRESULT: {'PASS' if not failures else 'FAIL: ' + '; '.join(failures)}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
