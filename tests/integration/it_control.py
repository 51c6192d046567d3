#!/usr/bin/python3
"""Integration: the whole path, migsecctl -> mutual TLS -> migsec-control ->
data plane -> sealed TCP, in the lab.

- A 256 MiB transfer with a rekey in the middle: intact, no packet dropped by
  either appliance, both generations used; the SPIs and the keys are the
  derivation in docs/management.md, computed here independently from the one-shot key.
- kill -9 of migsec-control during a transfer does not interrupt it; when it
  returns, status works again (the migration is recovered, without keys).
- After end, neither the one-shot key nor any derived key is in the memory
  of migsec-control or of the data plane, on either appliance.
- A data plane that dies shows as down in status.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import (BUILD, HOST, Lab, appliance, check, ctl, derive, log,  # noqa: E402
                        memory_hits, start_migration, verify_esp_capture, wait_for)

MIB = 1 << 20
SEL = f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32"
BAD_DROPS = ("unknown_spi", "replay", "outside_window", "icv_fail", "bad_trailer",
             "no_neighbor", "seal_prepare", "crypto_enqueue", "selector_mismatch", "tx_full")


def pid_of(lab, name):
    with open(os.path.join(lab.dir, f"{name}.pid")) as f:
        return int(f.read())


def start_control(lab, app):
    log_f = open(os.path.join(lab.dir, f"{app}-control.log"), "a")
    p = subprocess.Popen(["ip", "netns", "exec", lab.ns(app),
                          os.path.join(BUILD, "control", "migsec-control"), "-c",
                          os.path.join(lab.dir, f"{app}.conf")], stdout=log_f, stderr=log_f,
                         start_new_session=True)
    with open(os.path.join(lab.dir, f"{app}-control.pid"), "w") as f:
        f.write(str(p.pid))
    for _ in range(100):
        if ctl(lab, "--timeout", "2", "health", appliance(app), check=False).returncode == 0:
            return p
        time.sleep(0.1)
    raise RuntimeError(f"migsec-control {app} did not come back")


def status(lab, *apps):
    import json
    return json.loads(ctl(lab, "--json", "status", *[appliance(a) for a in apps]).stdout)


def rekeyed(lab, spi0, spi1):
    """Both appliances report generation 1, apA sealing and apB opening with
    spi1, and generation 0 (spi0) is retired from both data planes."""
    st = status(lab, "apA", "apB")
    a, b = st["apA"]["migrations"][0], st["apB"]["migrations"][0]
    left = [s for app in ("apA", "apB") for s in lab.sas(app).values() if s["spi"] == spi0]
    return (a["generation"] == 1 and b["generation"] == 1 and a["spi_out"] == spi1
            and b["spi_in"] == spi1 and not left)


def main():
    secret = os.urandom(40)
    with Lab("it6") as lab:
        r = start_migration(lab, "mig1", [SEL], secret=secret)
        log(r.stdout.decode().strip())
        check(r.returncode == 0, "migsecctl start: both appliances accepted")
        st = status(lab, "apA", "apB")
        a, b = st["apA"]["migrations"][0], st["apB"]["migrations"][0]
        s2d = [derive(secret, "mig1", "s2d", g)["spi"] for g in (0, 1)]
        check(s2d[0] == a["spi_out"] and s2d[0] == b["spi_in"],
              f"generation 0 source->destination SPI is the documented derivation on both "
              f"appliances ({s2d[0]:#x}: apA out {a['spi_out']:#x}, apB in {b['spi_in']:#x})")
        check(s2d[1] == b["spi_in_next"],
              f"generation 1 source->destination SPI, prepared on apB, is the documented "
              f"derivation ({s2d[1]:#x}, apB next in {b['spi_in_next']:#x})")
        check(derive(secret, "mig1", "d2s", 0)["spi"] == a["spi_in"] == b["spi_out"],
              "destination->source SPI is the documented derivation")

        # 256 MiB, rekeyed in the middle.
        h = lab.start_transfer(256 * MIB, family=4, rate_mbps=900, timeout=120)
        time.sleep(1.5)
        ctl(lab, "rekey", "--id", "mig1", appliance("apA"), appliance("apB"))
        log("rekeyed both appliances during the transfer")
        sent, got = lab.finish(h)
        log(f"sent {sent}; received {got}")
        check("error" not in got and got.get("sha256") == sent.get("sha256")
              and got.get("bytes") == 256 * MIB, "256 MiB arrived intact across the rekey")
        # the peers see generation 1 and retire generation 0 (bounded)
        check(wait_for(lambda: rekeyed(lab, *s2d), 20),
              "both appliances moved to generation 1 and retired generation 0")
        st = status(lab, "apA", "apB")
        for app in ("apA", "apB"):
            m = st[app]["migrations"][0]
            dp = lab.stats(app)
            bad = {k: dp["drops"][k] for k in BAD_DROPS if dp["drops"][k]}
            check(not bad, f"{app}: no packet dropped across the rekey ({bad or 'none'})")
            check(m["generation"] == 1 and m["rekeys"] == 1, f"{app}: now sending generation 1")
        check(st["apB"]["migrations"][0]["spi_in"] == s2d[1]
              and st["apA"]["migrations"][0]["spi_out"] == s2d[1],
              "apA seals and apB opens generation 1 (derived independently)")
        # The new generation's packets decrypt with keys derived here.
        g1 = {derive(secret, "mig1", "s2d", 1)["spi"]:
              (derive(secret, "mig1", "s2d", 1)["key"] + derive(secret, "mig1", "s2d", 1)["salt"], 4)}
        with lab.capture("apB", count=6, seconds=15, bpf="udp port 4500") as cap:
            lab.ping("A", HOST["B"][4], count=6)
        res = verify_esp_capture(cap.path, g1, {(HOST["A"][4], HOST["B"][4])}, "never-there")
        cap.remove()
        check(res["decrypted"] >= 3 and not res["bad"],
              f"generation 1 packets decrypt with the independently derived key ({res['decrypted']})")

        # kill -9 migsec-control mid-transfer: nothing stops.
        h = lab.start_transfer(64 * MIB, family=4, port=5202, rate_mbps=300, timeout=60)
        time.sleep(0.7)
        os.kill(pid_of(lab, "apA-control"), signal.SIGKILL)
        log("killed migsec-control on apA (SIGKILL) during a transfer")
        sent, got = lab.finish(h)
        check(got.get("sha256") == sent.get("sha256") and got.get("bytes") == 64 * MIB,
              "the transfer went on intact without migsec-control")
        start_control(lab, "apA")
        m = status(lab, "apA")["apA"]["migrations"][0]
        check(m["migration"] == "mig1" and "lost" in m["keys"],
              "restarted migsec-control recovered the migration (keys not recoverable)")
        r = ctl(lab, "rekey", "--id", "mig1", appliance("apA"), check=False)
        check(r.returncode == 1 and b"keys_lost" in r.stderr, "rekey is refused without keys")

        # End: no key anywhere.
        needles = [secret[:32]]
        for d in ("s2d", "d2s"):
            for g in (0, 1, 2):
                needles.append(derive(secret, "mig1", d, g)["key"])
        pids = {n: pid_of(lab, n) for n in ("apA", "apB", "apA-control", "apB-control")}
        before = memory_hits(pids["apB-control"], needles) + memory_hits(pids["apB"], needles)
        check(before > 0, f"while it runs, apB's processes hold keys ({before} copies: scan works)")
        ctl(lab, "end", "--id", "mig1", appliance("apA"), appliance("apB"))
        for name, pid in pids.items():
            n = memory_hits(pid, needles)
            check(n == 0, f"after end: no key of the migration in {name}'s memory ({n})")
        check(not lab.sas("apA") and not lab.sas("apB"), "after end: no SA left")

        # A dead data plane shows in status.
        os.kill(pids["apB"], signal.SIGKILL)
        check(wait_for(lambda: status(lab, "apB")["apB"]["dataplane"] == "down", 10),
              "status shows apB's data plane down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
