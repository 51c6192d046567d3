#!/usr/bin/python3
"""Integration: the crypto profiles (pmd-profiles/).

- openssl, and failover over aesni_gcm (primary) and openssl (secondary):
  64 MiB over IPv4 through both appliances with SHA-256 checked, the outer
  link captured and decrypted by scapy, the plaintext marker never on it.
  (aesni_gcm, the default, is it_transfer's.)
- failover: while a transfer runs, both appliances' primaries are taken out
  of service (migsec-dpctl crypto failover); the secondaries take every
  operation from then on, the primaries none, and the transfer completes
  intact without a crypto drop.
- qat on a machine without that QAT VF: --check accepts the configuration;
  the data plane exits 3 at start, before any port, with a message naming
  the device and what to do (firmware, dpdk-devbind, hugepages, crypto.pci).
  Without crypto.pci it exits 1 naming file, line and setting.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import BUILD, HOST, TOP, Lab, check, log, verify_esp_capture  # noqa: E402

MIB = 1 << 20
DP = os.path.join(BUILD, "dataplane", "migsec-dataplane")
CRYPTO_DROPS = ("crypto_enqueue", "crypto_failed", "icv_fail", "no_mbuf")


def no_crypto_drops(lab, what):
    for app in ("apA", "apB"):
        d = lab.stats(app)["drops"]
        bad = {k: d[k] for k in CRYPTO_DROPS if d[k]}
        check(not bad, f"{what}, {app}: no crypto drops ({bad})")


def transfer_captured(lab, what, nbytes=64 * MIB):
    marker = f"MIGSEC-MARKER-{os.urandom(6).hex()}"
    sas = lab.install_pair(inner=4, outer=4)
    lab.ping("A", HOST["B"][4])
    with lab.capture("apB", count=2000, seconds=60) as cap:
        sent, got = lab.transfer(nbytes, marker=marker, timeout=120)
    log(f"{what}: sent {sent}, received {got}")
    check(got.get("bytes") == nbytes and got.get("sha256") == sent.get("sha256"),
          f"{what}: {nbytes >> 20} MiB arrived with the same SHA-256")
    res = verify_esp_capture(cap.path, sas, {(HOST["A"][4], HOST["B"][4]),
                                             (HOST["B"][4], HOST["A"][4])}, marker)
    cap.remove()
    check(not res["bad"] and res["decrypted"] >= 1000,
          f"{what}: {res['decrypted']} captured packets are ESP that scapy decrypts ({res['bad'][:3]})")
    check(res["marker_on_wire"] == 0 and res["marker_in_plaintext"] > 0,
          f"{what}: the marker is only inside the ESP")
    no_crypto_drops(lab, what)


def devices(lab, app):
    return {d["role"]: d for d in lab.crypto(app)["devices"]}


def software_profiles():
    with Lab("prof1", profile="openssl") as lab:
        c = lab.crypto("apA")
        check(c["profile"] == "openssl" and c["devices"][0]["driver"] == "crypto_openssl",
              "openssl: the appliance runs on crypto_openssl")
        transfer_captured(lab, "openssl")
        r = lab.dpctl("apA", "crypto", "failover", check=False)
        check(r.returncode == 1 and b"not a fail-over profile" in r.stderr,
              "openssl: 'crypto failover' is refused (no secondary)")
    with Lab("prof2", profile="failover", members=("aesni_gcm", "openssl")) as lab:
        d = devices(lab, "apA")
        check(d["primary"]["driver"] == "crypto_aesni_gcm" and d["secondary"]["driver"] == "crypto_openssl"
              and d["secondary"]["state"] == "standby", "failover: aesni_gcm primary, openssl on standby")
        transfer_captured(lab, "failover")
        for app in ("apA", "apB"):
            d = devices(lab, app)
            check(d["primary"]["enqueued"] > 0 and d["secondary"]["enqueued"] == 0,
                  f"failover, {app}: the primary did all the work ({d['primary']['enqueued']} ops)")


def failover_mid_transfer():
    with Lab("prof3", profile="failover", members=("aesni_gcm", "openssl")) as lab:
        nbytes = 96 * MIB
        lab.install_pair(inner=4, outer=4)
        lab.ping("A", HOST["B"][4])
        handle = lab.start_transfer(nbytes, rate_mbps=250, timeout=60)
        time.sleep(1.5)
        before = {app: devices(lab, app) for app in ("apA", "apB")}
        for app in ("apA", "apB"):
            r = lab.dpctl(app, "crypto", "failover")
            log(f"{app}: {r.stdout.decode().strip()}")
        at = {app: devices(lab, app) for app in ("apA", "apB")}
        sent, got = lab.finish(handle)
        log(f"fail-over mid-transfer: sent {sent}, received {got}")
        check(got.get("bytes") == nbytes and got.get("sha256") == sent.get("sha256"),
              f"fail-over mid-transfer: {nbytes >> 20} MiB arrived with the same SHA-256")
        for app in ("apA", "apB"):
            end = devices(lab, app)
            log(f"{app}: primary enqueued {before[app]['primary']['enqueued']} before, "
                f"{end['primary']['enqueued']} at the end; secondary {end['secondary']['enqueued']}")
            check(before[app]["primary"]["enqueued"] > 0 and before[app]["secondary"]["enqueued"] == 0,
                  f"{app}: before the switch the primary did the work")
            check(end["primary"]["state"] == "stopped" and end["secondary"]["state"] == "active",
                  f"{app}: primary stopped, secondary active")
            check(end["primary"]["enqueued"] == at[app]["primary"]["enqueued"],
                  f"{app}: nothing reached the primary after the switch")
            check(end["secondary"]["enqueued"] > 1000,
                  f"{app}: the secondary took over ({end['secondary']['enqueued']} ops)")
        no_crypto_drops(lab, "fail-over mid-transfer")
        for app in ("apA", "apB"):
            with open(os.path.join(lab.dir, f"{app}.log")) as f:
                text = f.read()
            check("taken out of service" in text and "unconfigured device" not in text,
                  f"{app}: the switch is logged once, the stopped primary's refusals are not")
        r = lab.dpctl("apA", "crypto", "failover", check=False)
        check(r.returncode == 1 and b"out of service already" in r.stderr,
              "a second 'crypto failover' is refused")


def absent_pci():
    present = set(os.listdir("/sys/bus/pci/devices"))
    for bus in range(0x3d, 0xff):
        addr = f"0000:{bus:02x}:01.0"
        if addr not in present:
            return addr
    raise RuntimeError("no free PCI address")


def qat_without_hardware():
    pci = absent_pci()
    with tempfile.TemporaryDirectory(prefix="prqat-") as d:
        conf = os.path.join(d, "qat.conf")

        def write(crypto):
            with open(conf, "w") as f:
                f.write('name = "prqat";\n'
                        'eal: { lcores = "0,1"; file_prefix = "prqat"; memory_mb = 256; hugepages = "no"; };\n'
                        f'crypto: {{ profile = "qat"; profile_dir = "{TOP}/pmd-profiles";{crypto} }};\n'
                        'inner: { device = "net_ring0"; ipv4 = "192.0.2.253/24"; };\n'
                        'outer: { device = "net_ring1"; ipv4 = "203.0.113.1/24"; };\n'
                        f'control: {{ socket = "{d}/dp.sock"; }};\n')

        write("")
        r = subprocess.run([DP, "-c", conf], capture_output=True, text=True, timeout=60)
        log(f"qat without crypto.pci: exit {r.returncode}: {r.stderr.strip()}")
        check(r.returncode == 1 and f"{conf}:3: setting 'crypto.pci': crypto profile qat" in r.stderr,
              "qat without crypto.pci: exit 1, file:line:setting")
        write(f' pci = "{pci}";')
        r = subprocess.run([DP, "-c", conf, "--check"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and f"{pci}_qat_sym" in r.stdout, "qat: --check accepts the configuration")
        r = subprocess.run([DP, "-c", conf], capture_output=True, text=True, timeout=60)
        msg = [line for line in r.stderr.splitlines() if line.startswith("migsec-dataplane: crypto")]
        log(f"qat without the VF: exit {r.returncode}: {msg}")
        check(r.returncode == 3, "qat without the VF: start-up failure, exit 3")
        text = msg[0] if msg else ""
        for want in (f"crypto profile qat ({TOP}/pmd-profiles/qat.conf): device {pci}_qat_sym "
                     f"(PCI {pci}) is not present.", "firmware", "dpdk-devbind.py -b vfio-pci",
                     "dpdk-hugepages.py --setup 1G", "crypto.pci",
                     "This process runs without hugepages"):
            check(want in text, f"the message says: {want}")
        check(not os.path.exists(os.path.join(d, "dp.sock")), "no control socket was opened")
    shutil.rmtree("/var/run/dpdk/prqat", ignore_errors=True)  # the EAL's runtime files


def main():
    qat_without_hardware()
    software_profiles()
    failover_mid_transfer()
    return 0


if __name__ == "__main__":
    sys.exit(main())
