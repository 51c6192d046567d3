"""The lab's port kinds (tests/lab.sh --inner/--outer) for the tools that
bring a lab up (perf/vm-bench, the demo): their options, and the MTU a
kind can carry, read from tests/lab.sh (AFXDP_MAX_MTU, TAP_MAX_MTU) so
that a tool refuses at its option parsing what the lab would refuse after
its set-up began."""
import os
import re

LAB_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab.sh")
INNER = ("af_packet", "af_xdp", "tap")           # tests/lab.sh: memif is outer only
OUTER = ("af_packet", "af_xdp", "memif", "tap")


def max_mtu():
    """{kind: the largest MTU tests/lab.sh lets it carry} for the limited kinds."""
    with open(LAB_SH) as f:
        text = f.read()
    limits = {}
    for kind, var in (("af_xdp", "AFXDP_MAX_MTU"), ("tap", "TAP_MAX_MTU")):
        m = re.search(rf"^{var}=(\d+)$", text, re.M)
        if m is None:
            raise RuntimeError(f"{LAB_SH} no longer sets {var}")
        limits[kind] = int(m.group(1))
    return limits


# a lab's two appliances on hugepages (scripts/setup.sh asks for as many)
HUGE_PAGES_NEEDED = 256


def add_arguments(p, outer_auto=False):
    """--inner/--outer. With outer_auto, --outer also takes "auto", its
    default: see resolve_outer()."""
    p.add_argument("--inner", choices=INNER, default="af_packet",
                   help="the appliances' inner port kind (tests/lab.sh --inner; default "
                        "af_packet; af_xdp and tap carry at most MTU 1500)")
    if outer_auto:
        p.add_argument("--outer", choices=OUTER + ("auto",), default="auto",
                       help="the link between the appliances (tests/lab.sh --outer; default auto: "
                            "memif, DPDK to DPDK, the fastest measured here, when hugepages are "
                            "free for dpdk-dumpcap to capture it, else af_packet; af_xdp and tap "
                            "carry at most MTU 1500)")
    else:
        p.add_argument("--outer", choices=OUTER, default="af_packet",
                       help="the link between the appliances (tests/lab.sh --outer; default "
                            "af_packet; memif: DPDK to DPDK; af_xdp and tap carry at most MTU 1500)")


def free_hugepages():
    """(free 2 MiB hugepages, hugetlbfs mounted) on this machine."""
    free = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("HugePages_Free:"):
                    free = int(line.split()[1])
        with open("/proc/mounts") as f:
            mounted = any(line.split()[2] == "hugetlbfs" for line in f if len(line.split()) > 2)
    except (OSError, ValueError, IndexError):
        return 0, False
    return free, mounted


def resolve_outer(a):
    """--outer auto: memif when a capture of it can be made (dpdk-dumpcap
    attaches to appliances on hugepages), else af_packet, whose veth tcpdump
    captures. Sets a.outer; returns why, for the tool to print."""
    if a.outer != "auto":
        return f"outer link {a.outer} (as asked)"
    free, mounted = free_hugepages()
    if free >= HUGE_PAGES_NEEDED and mounted:
        a.outer = "memif"
        return (f"outer link memif, DPDK to DPDK (the fastest measured here; {free} free "
                f"hugepages, so dpdk-dumpcap can capture it)")
    a.outer = "af_packet"
    return (f"outer link af_packet: only {free} free 2 MiB hugepages"
            f"{'' if mounted else ', hugetlbfs not mounted'} ({HUGE_PAGES_NEEDED} needed for "
            f"dpdk-dumpcap to capture a memif link), so the veth that tcpdump can capture")


def refuse(p, a):
    """p.error() when --inner/--outer cannot carry --mtu."""
    limits = max_mtu()
    for side, kind in (("inner", a.inner), ("outer", a.outer)):
        if kind == "auto":	# resolves to memif or af_packet: any MTU of the lab
            continue
        if kind in limits and a.mtu > limits[kind]:
            p.error(f"--{side} {kind} carries at most MTU {limits[kind]} in the lab "
                    f"(tests/lab.sh), not --mtu {a.mtu}: add --mtu {limits[kind]}, or use "
                    f"af_packet{' or memif' if side == 'outer' else ''}")
