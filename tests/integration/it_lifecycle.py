#!/usr/bin/python3
"""Integration: the data plane's life cycle.

- A configuration error exits 1 with file:line:setting, before any port.
- A key handed over the control socket is in the data plane's memory while
  its SA exists (the scan works) and nowhere in it once the SA is deleted.
- SIGTERM stops the workers, wipes every key and exits 0.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import BUILD, Lab, check, log, memory_hits  # noqa: E402

DP = os.path.join(BUILD, "dataplane", "migsec-dataplane")


def bad_config():
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write('name = "bad";\neal: { lcores = "0,1"; };\n'
                'inner: { device = "net_ring0"; ipv4 = "192.0.2.253/24"; mtu = 100; };\n')
    r = subprocess.run([DP, "-c", f.name], capture_output=True, text=True, timeout=30)
    os.unlink(f.name)
    log(f"bad configuration: exit {r.returncode}: {r.stderr.strip()}")
    check(r.returncode == 1, "a configuration error exits 1")
    check(f"{f.name}:3: setting 'inner.mtu': must be between 1280 and 9600 (got 100)" in r.stderr,
          "the message names file, line and setting")
    check("EAL" not in r.stderr, "nothing was started (no EAL output)")


def main():
    bad_config()
    with Lab("it5") as lab:
        r = subprocess.run([DP, "-c", os.path.join(lab.dir, "apA.conf"), "--check"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and "configuration OK" in r.stdout, "--check accepts the lab's file")
        sas = lab.install_pair(inner=4, outer=4)
        keys = [ks[:32] for ks, _ in sas.values()]
        check(lab.ping("A", "192.0.2.2"), "traffic flows over the SAs")
        pid = lab.pid("apA")
        before = memory_hits(pid, keys)
        check(before >= 2, f"both keys are in apA's memory while its SAs exist ({before} copies)")
        lab.del_sa("apA", 1)
        lab.del_sa("apA", 2)
        after = memory_hits(pid, keys)
        check(after == 0, f"no key byte pattern left in apA's memory after delete ({after})")
        # SIGTERM: run apA ourselves to see its exit status.
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not os.path.exists(f"/proc/{pid}"):
                break
            time.sleep(0.1)
        p = subprocess.Popen(["ip", "netns", "exec", lab.ns("apA"), DP, "-c",
                              os.path.join(lab.dir, "apA.conf")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(100):
            if lab.dpctl("apA", "ping", check=False).returncode == 0:
                break
            time.sleep(0.2)
        sas = lab.install_pair(inner=4, outer=4, spi_ab=0x7001, spi_ba=0x7002, id_base=10)
        keys = [ks[:32] for ks, _ in sas.values()]
        check(memory_hits(p.pid, keys) >= 2, "the restarted appliance holds its new keys")
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=30)
        check(p.returncode == 0, f"SIGTERM: exit status 0 ({p.returncode})")
        check("every key" in out, "SIGTERM: it says it stops workers and wipes every key")
    return 0


if __name__ == "__main__":
    sys.exit(main())
