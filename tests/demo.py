#!/usr/bin/python3
"""migsec demo: an encrypted transfer between two hypervisor hosts through
two migsec appliances, on this machine (network namespaces, virtual ports).

One-shot keys come from the OS CSPRNG, reach each appliance only through
its control socket, and are wiped when the transfer's SAs are deleted.
Prints what happened; exits non-zero if any check fails.

  tests/demo.py [--mbytes N]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from migsec_lab import HOST, OUTER, Lab, verify_esp_capture  # noqa: E402

MIB = 1 << 20


def mib(n):
    return f"{n / MIB:.1f} MiB"


def appliance_report(name, st):
    drops = {k: v for k, v in st["drops"].items() if v}
    print(f"    {name}: sealed {st['sealed_pkts']} packets ({mib(st['sealed_bytes'])}), "
          f"opened {st['opened_pkts']} packets ({mib(st['opened_bytes'])})")
    print(f"    {name}: drops {drops if drops else 'none'}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mbytes", type=int, default=256, help="MiB to transfer (default 256)")
    a = p.parse_args()
    failures = []

    def check(cond, what):
        print(f"    [{'ok' if cond else 'FAILED'}] {what}")
        if not cond:
            failures.append(what)

    print("migsec demo: a sealed transfer between two hypervisor hosts\n")
    print(f"  host A {HOST['A'][4]} -- [appliance A | outer {OUTER['A'][4]}] == ESP-in-UDP, "
          f"AES-256-GCM == [outer {OUTER['B'][4]} | appliance B] -- host B {HOST['B'][4]}\n")
    print("1. Starting the lab: 4 network namespaces, 3 veth links, 2 migsec-dataplane processes")
    with Lab("demo") as lab:
        print("\n2. One-shot keys: a 256-bit AES key and a 32-bit salt per direction, from the OS")
        print("   CSPRNG, handed to each appliance over its control socket (never on disk)")
        sas = lab.install_pair(inner=4, outer=4, spi_ab=0xd001, spi_ba=0xd002, tag="demo")
        for app in ("apA", "apB"):
            for s in lab.sas(app).values():
                print(f"    {app}: SA {s['id']} {s['dir']:3} SPI {s['spi']:#x}  {s['selectors'][0]}")
        print(f"\n3. Host A sends {a.mbytes} MiB to host B over TCP, through both appliances")
        marker = f"MIGSEC-DEMO-{os.urandom(4).hex()}"
        with lab.capture("apB", count=2000, seconds=120) as cap:
            sent, got = lab.transfer(a.mbytes * MIB, family=4, marker=marker, timeout=300)
        secs = sent.get("seconds", 0)
        gbps = a.mbytes * MIB * 8 / secs / 1e9 if secs else 0
        print(f"    sent     {sent.get('bytes', 0)} bytes, SHA-256 {sent.get('sha256', '-')}")
        print(f"    received {got.get('bytes', 0)} bytes, SHA-256 {got.get('sha256', '-')}")
        print(f"    {secs:.1f} s end to end, {gbps:.2f} Gbit/s (2 cores shared by both appliances "
              f"and both hosts)")
        check("error" not in got and got.get("sha256") == sent.get("sha256")
              and got.get("bytes") == a.mbytes * MIB, "the data arrived intact")
        print("\n4. What crossed the migration network (a capture of its first frames)")
        pairs = {(HOST["A"][4], HOST["B"][4]), (HOST["B"][4], HOST["A"][4])}
        res = verify_esp_capture(cap.path, sas, pairs, marker)
        cap.remove()
        print(f"    {res['frames']} frames: {res['esp']} ESP-in-UDP, {res['control']} ARP/ND, "
              f"{len(res['bad'])} other; {res['decrypted']} decrypted independently by scapy")
        check(not res["bad"] and res["esp"] > 0, "only ESP-in-UDP (and ARP/ND) on the wire")
        check(res["marker_on_wire"] == 0 and res["marker_in_plaintext"] > 0,
              "the data's plaintext marker never appears on the wire, only after decryption")
        print("\n5. Counters")
        sa, sb = lab.stats("apA"), lab.stats("apB")
        appliance_report("appliance A", sa)
        appliance_report("appliance B", sb)
        for name, st in (("A", sa), ("B", sb)):
            bad = {k: st["drops"][k] for k in ("icv_fail", "replay", "outside_window", "bad_trailer")
                   if st["drops"][k]}
            check(not bad, f"appliance {name}: no integrity or replay failures")
        print("\n6. Migration over: SAs deleted, keys wiped from both appliances")
        for app in ("apA", "apB"):
            for sid in list(lab.sas(app)):
                lab.del_sa(app, sid)
            check(not lab.sas(app), f"{app}: no SA left")
        print("\n7. Stopping the lab")
    print(f"\nRESULT: {'PASS' if not failures else 'FAIL: ' + '; '.join(failures)}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
