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


def add_arguments(p):
    p.add_argument("--inner", choices=INNER, default="af_packet",
                   help="the appliances' inner port kind (tests/lab.sh --inner; default "
                        "af_packet; af_xdp and tap carry at most MTU 1500)")
    p.add_argument("--outer", choices=OUTER, default="af_packet",
                   help="the link between the appliances (tests/lab.sh --outer; default "
                        "af_packet; memif: DPDK to DPDK; af_xdp and tap carry at most MTU 1500)")


def refuse(p, a):
    """p.error() when --inner/--outer cannot carry --mtu."""
    limits = max_mtu()
    for side, kind in (("inner", a.inner), ("outer", a.outer)):
        if kind in limits and a.mtu > limits[kind]:
            p.error(f"--{side} {kind} carries at most MTU {limits[kind]} in the lab "
                    f"(tests/lab.sh), not --mtu {a.mtu}: add --mtu {limits[kind]}, or use "
                    f"af_packet{' or memif' if side == 'outer' else ''}")
