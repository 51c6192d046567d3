#!/usr/bin/python3
"""What each crypto profile costs the data plane, measured on this machine
(docs/crypto-profiles.md). Needs a build (BUILD, default build/).

For each profile that runs without hardware it runs "migsec-unit cost
PROFILE": the worker's own seal and open paths (classify, lib/ipsec
prepare, the crypto device, finish, TX flush; no port I/O) on rounds of 256
frames in bursts of 32, timed with the thread's CPU clock so that time
spent preempted on a shared machine does not count (time the host takes
from this VM's vCPUs still does: the profiles are run interleaved, several
rounds, and the median and range are printed). Per packet: CPU ns and the
same in TSC cycles; and inner Gbit per CPU-second.

--perf adds dpdk-test-crypto-perf for the devices alone (AES-256-GCM
encrypt, bursts of 32, one lcore). Its figures are wall-clock: on a shared
machine they move with whatever else runs, and the load average is printed.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
UNIT = os.path.join(BUILD, "tests", "migsec-unit")
PROFILES = [["aesni_gcm"], ["openssl"], ["failover", "aesni_gcm", "openssl"]]
DEVICES = [
    ("aesni_gcm", "crypto_aesni_gcm", ["--vdev", "crypto_aesni_gcm0"]),
    ("openssl", "crypto_openssl", ["--vdev", "crypto_openssl0"]),
    # The 22.11 scheduler attaches its worker= list last-first: the last one
    # listed is the primary (migsec attaches through the API instead).
    ("failover", "crypto_scheduler",
     ["--vdev", "crypto_aesni_gcm0", "--vdev", "crypto_openssl0", "--vdev",
      "crypto_scheduler0,worker=crypto_openssl0,worker=crypto_aesni_gcm0,mode=fail-over"]),
]


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return f"{model}, {os.cpu_count()} CPUs, load average {load}"


def cost(rounds):
    """Profiles interleaved, `rounds` times: a noisy neighbour (this is a VM
    whose vCPUs the host shares) then slows all of them, not just one."""
    ns, tsc = {}, {}
    for _ in range(rounds):
        for args in PROFILES:
            r = subprocess.run([UNIT, "cost", *args], capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                raise RuntimeError(f"migsec-unit cost {' '.join(args)} failed:\n{r.stdout}{r.stderr}")
            for m in re.finditer(r"cost: profile=(\S+) dir=(\S+) inner_bytes=(\d+) pkts=\d+ "
                                 r"ns_per_pkt=(\d+) tsc_cycles_per_pkt=(\d+)", r.stdout):
                key = (m[1], int(m[3]), m[2])
                ns.setdefault(key, []).append(int(m[4]))
                tsc.setdefault(key, []).append(int(m[5]))
    print(f"\nmigsec-unit cost, {rounds} rounds ({machine()}); per packet: median CPU ns "
          f"[min-max], median TSC cycles, inner Gbit per CPU-second at the median:")
    print(f"{'profile':<26} {'inner B':>7} | {'seal ns':>15} {'cycles':>6} {'Gbit':>6} | "
          f"{'open ns':>15} {'cycles':>6} {'Gbit':>6}")
    for profile, size in dict.fromkeys((k[0], k[1]) for k in ns):
        cols = []
        for d in ("seal", "open"):
            v = ns[(profile, size, d)]
            med = statistics.median(v)
            cols.append(f"{med:>5.0f} [{min(v):>3}-{max(v):>4}] "
                        f"{statistics.median(tsc[(profile, size, d)]):>6.0f} {size * 8 / med:>6.2f}")
        print(f"{profile:<26} {size:>7} | {cols[0]} | {cols[1]}")
    print(f"(after: {machine()})")


def crypto_perf(ops):
    print(f"\ndpdk-test-crypto-perf, {ops} encrypt ops per size, wall clock ({machine()}):")
    print(f"{'device':<10} {'buffer':>6} {'Gbit/s':>8} {'cycles/buf':>11}")
    for name, devtype, vdevs in DEVICES:
        prefix = f"prcost-{name}"
        cmd = ["dpdk-test-crypto-perf", "--no-huge", "-m", "512", "--no-pci", "--file-prefix", prefix,
               *vdevs, "-l", "0,1", "--", "--ptest", "throughput", "--devtype", devtype,
               "--optype", "aead", "--aead-algo", "aes-gcm", "--aead-op", "encrypt",
               "--aead-key-sz", "32", "--aead-iv-sz", "12", "--aead-aad-sz", "8", "--digest-sz", "16",
               "--buffer-sz", "1420,4096,8192", "--total-ops", str(ops), "--burst-sz", "32", "--silent"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)
        for line in r.stdout.splitlines():
            f = line.split()
            if len(f) == 10 and f[0].isdigit():
                print(f"{name:<10} {int(f[1]):>6} {float(f[8]):>8.2f} {float(f[9]):>11.0f}")
        if r.returncode != 0:
            print(f"{name}: dpdk-test-crypto-perf failed: {r.stderr.strip()[-300:]}")
    print(f"(after: {machine()})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="measurements of each profile")
    ap.add_argument("--perf", action="store_true", help="also run dpdk-test-crypto-perf")
    ap.add_argument("--ops", type=int, default=1000000, help="crypto-perf operations per size")
    a = ap.parse_args()
    cost(a.rounds)
    if a.perf:
        crypto_perf(a.ops)
    return 0


if __name__ == "__main__":
    sys.exit(main())
