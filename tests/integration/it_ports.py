#!/usr/bin/python3
"""Integration: the lab's other port kinds (tests/lab.sh --inner/--outer).

Each non-default kind that works on this machine carries a transfer
through both appliances with its SHA-256 intact, sealed on the way (B
opened at least as many packets as the transfer needs, A sealed them; none
went out in the clear). Two labs, to stay within 20 s (af_xdp and tap
stop at MTU 1500, tests/lab.sh AFXDP_MAX_MTU and TAP_MAX_MTU):
  - inner af_xdp, outer memif (DPDK to DPDK, no kernel), MTU 1500, the
    outer frames captured by dpdk-dumpcap attached to A's data plane
    (tests/lib/dpdk_capture.py; skipped as no-hugepages, by name, when A
    runs without hugepages) and opened by scapy, the marker only inside;
  - inner tap, outer tap (bridged in the lab's "ow" namespace), MTU 1500,
    the outer frames captured at B's tap and opened by scapy, the marker
    only inside them.
The af_xdp ports' AF_XDP sockets are found at start-up (their losses count
as rx_kernel_drops and tx_kernel_drops), or on a kernel without AF_XDP
socket diagnostics (this machine's) the appliance says it cannot count them. tests/lab.sh refuses an unknown kind, memif inside, and af_xdp or tap above
their MTU, each with its message, before it creates anything.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from dpdk_capture import LAB_ENV, DumpCapture  # noqa: E402
from migsec_lab import BUILD, HOST, TOP, Lab, check, log, verify_esp_capture  # noqa: E402
from skips import exit_code, skip  # noqa: E402

MIB = 1 << 20
SIZE = 16 * MIB
DEVICE = {"af_packet": "net_af_packet", "af_xdp": "net_af_xdp", "memif": "net_memif",
          "tap": "net_tap"}


def lab_sh_refuses(args, message):
    env = dict(os.environ, LAB=os.environ.get("MIGSEC_LAB_PREFIX", "") + "itpx", BUILD=BUILD)
    r = subprocess.run([os.path.join(TOP, "tests", "lab.sh"), "up", *args],
                       capture_output=True, text=True, env=env, timeout=60)
    check(r.returncode != 0 and message in r.stderr,
          f"lab.sh up {' '.join(args)} is refused: {r.stderr.strip()[-160:]}")
    gone = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    check(env["LAB"] + "-" not in gone, "and nothing was created")


def through(lab, capture_at=None):
    """A transfer A -> B through the lab; capture_at: (namespace, iface) to
    tcpdump, or ("dpdk", app) for dpdk-dumpcap on that appliance's outer port."""
    marker = f"MIGSEC-MARKER-{os.urandom(6).hex()}"
    sas = lab.install_pair(inner=4, outer=4)
    for app, side, kind in (("apA", "inner", lab.inner), ("apA", "outer", lab.outer),
                            ("apB", "inner", lab.inner), ("apB", "outer", lab.outer)):
        dev = lab.stats(app)["ports"][side]["device"]
        check(dev.startswith(DEVICE[kind]), f"{app} {side} is a {kind} port ({dev})")
    lab.ping("A", HOST["B"][4])
    before = {a: lab.stats(a) for a in ("apA", "apB")}
    if capture_at and capture_at[0] == "dpdk":
        why = DumpCapture.unavailable(lab, capture_at[1])
        if why:
            skip("no-hugepages", f"the {lab.outer} link's wire is not checked: {why}")
            capture_at = None
    if capture_at:
        cap = (DumpCapture(lab, capture_at[1], count=600, seconds=30)
               if capture_at[0] == "dpdk" else
               lab.capture(capture_at[0], count=600, seconds=30, iface=capture_at[1]))
        with cap:
            sent, got = lab.transfer(SIZE, family=4, marker=marker, timeout=40)
    else:
        sent, got = lab.transfer(SIZE, family=4, marker=marker, timeout=40)
    check(got.get("bytes") == SIZE and got.get("sha256") == sent.get("sha256"),
          f"{lab.inner}/{lab.outer} MTU {lab.mtu}: {SIZE // MIB} MiB arrived with the same SHA-256")
    after = {a: lab.stats(a) for a in ("apA", "apB")}
    # the fewest packets that carry SIZE bytes at this MTU (TCP/IP headers: 40)
    least = SIZE // (lab.mtu - 40)
    sealed = after["apA"]["sealed_pkts"] - before["apA"]["sealed_pkts"]
    opened = after["apB"]["opened_pkts"] - before["apB"]["opened_pkts"]
    bypass = after["apA"]["bypass_pkts"] - before["apA"]["bypass_pkts"]
    check(sealed >= least and opened >= least and bypass == 0,
          f"A sealed {sealed}, B opened {opened} packets (at least {least}), none bypassed")
    if capture_at:
        res = verify_esp_capture(cap.path, sas, {(HOST["A"][4], HOST["B"][4]),
                                                 (HOST["B"][4], HOST["A"][4])}, marker)
        cap.remove()
        log(f"capture at {capture_at}: {res['frames']} frames, {res['decrypted']} decrypted; "
            f"{cap.summary.splitlines()[-1:]}")
        check(not res["bad"] and res["decrypted"] >= 300 and res["marker_on_wire"] == 0 and
              res["marker_in_plaintext"] > 0,
              f"every captured outer frame is ESP-in-UDP scapy opens, the marker only inside "
              f"({res['bad'][:3]})")


def xsk_counted(lab):
    """The af_xdp ports' AF_XDP sockets were found and their losses are reported,
    or, on a kernel without AF_XDP socket diagnostics, the appliance says they
    are not counted."""
    for app in ("apA", "apB"):
        with open(os.path.join(lab.dir, f"{app}.log")) as f:
            text = f.read()
        found = re.search(r"port net_af_xdp0: (\d+) AF_XDP socket\(s\) on interface", text)
        nodiag = "port net_af_xdp0: this kernel has no AF_XDP socket diagnostics" in text
        port = lab.stats(app)["ports"]["inner"]
        check((nodiag or (found is not None and int(found.group(1)) == 1)) and
              {"rx_kernel_drops", "tx_kernel_drops", "rx_missed"} <= set(port),
              f"{app}: its af_xdp port's socket " +
              ("losses said not countable here (no CONFIG_XDP_SOCKETS_DIAG)" if nodiag
               else "found" if found else "neither found nor said not countable") +
              f"; rx_kernel_drops {port.get('rx_kernel_drops')} tx_kernel_drops "
              f"{port.get('tx_kernel_drops')} rx_missed {port.get('rx_missed')} reported")


def main():
    lab_sh_refuses(["--inner", "memif"], "--inner must be af_packet, af_xdp or tap")
    lab_sh_refuses(["--outer", "vhost"], "--outer must be af_packet, af_xdp, memif or tap")
    lab_sh_refuses(["--inner", "af_xdp", "--mtu", "9000"], "af_xdp carries at most MTU 1500")
    lab_sh_refuses(["--outer", "tap", "--mtu", "1501"], "tap carries at most MTU 1500")
    with Lab("itp", inner="af_xdp", outer="memif", mtu=1500, env=LAB_ENV) as lab:
        through(lab, capture_at=("dpdk", "apA"))
        xsk_counted(lab)
    with Lab("itp", inner="tap", outer="tap", mtu=1500) as lab:
        through(lab, capture_at=("ow", f"{lab.name}-Bo"))
    return exit_code()


if __name__ == "__main__":
    sys.exit(main())
