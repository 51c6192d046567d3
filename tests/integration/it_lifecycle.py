#!/usr/bin/python3
"""Integration: the data plane's life cycle.

- A configuration error exits 1 with file:line:setting, before any port.
- A key handed over the control socket is in the data plane's memory while
  its SA exists (the scan works) and nowhere in it once the SA is deleted.
- SIGTERM stops the workers, wipes every key and exits 0, seen from
  outside: the process is held at the very end of its exit
  (tests/lib/stop_at_exit.c, preloaded) and its memory scanned then (the
  scan's positive control, its command line, found; no key). DPDK's memory
  is unmapped by then, so the lab keeps its hugepage files
  (eal.huge_unlink = false): after the exit they hold no key, where the
  same scan found the keys while the appliance ran. (Without free
  hugepages the lab runs without them and that part is not possible.)
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import (BUILD, Lab, check, hugepage_hits, log, memory_hits,  # noqa: E402
                        wait_for)

DP = os.path.join(BUILD, "dataplane", "migsec-dataplane")
# meson's hostile suite passes its path; the integration suite finds it in the build
STOP_LIB = os.environ.get("STOP_AT_EXIT") or os.path.join(BUILD, "tests",
                                                          "libmigsec-stop-at-exit.so")


def state(pid):
    """The process's state letter; "gone" when it no longer exists."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"



def on_hugepages(pid):
    with open(f"/proc/{pid}/maps") as f:
        return any("/dev/hugepages/" in line for line in f)


def sigterm_scanned(lab, keys_of_restart):
    """Run apA ourselves, preloaded to stop at the end of its exit; SIGTERM;
    scan it there; let it finish. Returns its exit status and output."""
    check(os.path.exists(STOP_LIB), f"the stop-at-exit helper is built ({STOP_LIB})")
    env = dict(os.environ, LD_PRELOAD=STOP_LIB, MIGSEC_STOP_AT_EXIT="migsec-dataplane")
    p = subprocess.Popen(["ip", "netns", "exec", lab.ns("apA"), DP, "-c",
                          os.path.join(lab.dir, "apA.conf")], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lab.procs.append(p)  # killed by the lab's clean-up if a check fails while it is held
    check(wait_for(lambda: lab.dpctl("apA", "ping", check=False).returncode == 0, 20),
          "the restarted appliance answers")
    keys = keys_of_restart()
    check(memory_hits(p.pid, keys) >= 2, "the restarted appliance holds its new keys")
    huge = on_hugepages(p.pid)
    if huge:
        hits, nfiles = hugepage_hits(lab, "apA", keys)
        check(hits > 0, f"while it runs, its {nfiles} hugepage files hold its keys ({hits} "
              f"copies): the file scan works")
    else:
        log("apA runs without hugepages (too few free): no hugepage file check")
    p.send_signal(signal.SIGTERM)
    check(wait_for(lambda: state(p.pid) == "T", 30), "SIGTERM: held at the very end of its exit")
    n = memory_hits(p.pid, keys)
    check(n == 0, f"SIGTERM wiped every key: none in its memory as it exits ({n})")
    os.kill(p.pid, signal.SIGCONT)
    out, _ = p.communicate(timeout=30)
    if huge:
        hits, nfiles = hugepage_hits(lab, "apA", keys)
        check(nfiles > 0 and hits == 0, f"after SIGTERM its {nfiles} hugepage files hold no key "
              f"({hits}): the keys were wiped, not just unmapped")
    return p.returncode, out


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
    with Lab("it5", env={"HUGE_UNLINK": "false"}) as lab:
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
        rc, out = sigterm_scanned(lab, lambda: [ks[:32] for ks, _ in lab.install_pair(
            inner=4, outer=4, spi_ab=0x7001, spi_ba=0x7002, id_base=10).values()])
        check(rc == 0, f"SIGTERM: exit status 0 ({rc})")
        check("every key" in out, "SIGTERM: it says it stops workers and wipes every key")
    return 0


if __name__ == "__main__":
    sys.exit(main())
