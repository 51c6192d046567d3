"""The hostile-wire test's (tests/integration/it_hostile.py) injection and
its accounting: no frame can be lost on its way to appliance B's data
plane, and every frame sent is accounted for.

No frame may be lost on its way to B's data plane (a lost frame's reason
is unknown, so no count could be exact): at no moment may more frames wait
for B's outer port than its ring and a CPU's backlog hold, however long
B's polling core is preempted. What can wait: the injected frames not yet
confirmed (BATCH, then a sentinel B must open before more are sent), the
transfer's segments not yet through B (host B's receive buffer, which the
kernel doubles, bounds TCP's window; no segment is smaller than MSS_MIN
but one, Nagle), and a few others (SPARE: the appliances' ARP/ND, TCP's
retransmissions during a stall). loss_bound() checks the sum.
"""
import os
import re
import struct
import tempfile
import time

from migsec_lab import PY, TOP, check

INJECT = os.path.join(TOP, "tests", "lib", "inject.py")
PPS = 5000          # injection rate, beside the transfer
RING = 4096         # frames in each af_packet ring (the lab's default is 512)
BATCH = 512         # injected frames at most before a sentinel is waited for
RCVBUF = 128 << 10  # host B's SO_RCVBUF for the transfer
MSS_MIN = 1200      # the transfer's segments are not smaller (but one)
FLIGHT = 2 * RCVBUF // MSS_MIN + 1
SPARE = 64


def opened(lab, sa=900):
    """Frames a hostile SA opened (900: the phases' frames, 901: the sentinels)."""
    return lab.sas("apB")[sa]["pkts"]


def veth(lab, app):
    """The kernel's counters of an appliance's outer veth."""
    names = ("rx_packets", "rx_dropped", "tx_packets", "tx_dropped")
    out = lab.run(app, ["cat"] + [f"/sys/class/net/outer/statistics/{n}" for n in names])
    return dict(zip(names, map(int, out.stdout.split())))


def loss_bound(lab, port=5201):
    """The bound (above) against the ring's and the backlog's sizes, and
    its assumptions against the running transfer: host B's receive buffer
    (ss: skmem rb) and host A's MSS."""
    backlog = int(open("/proc/sys/net/core/netdev_max_backlog").read())
    rb = re.findall(r"skmem:\(r\d+,rb(\d+)", lab.run("B", ["ss", "-tmnH", "state",
                                                        "established", f"sport = :{port}"]).stdout)
    mss = re.findall(r"\bmss:(\d+)", lab.run("A", ["ss", "-tinH", "state", "established",
                                                   f"dport = :{port}"]).stdout)
    check(len(rb) == 1 and int(rb[0]) <= 2 * RCVBUF and len(mss) == 1 and
          int(mss[0]) >= MSS_MIN, f"the transfer: host B's receive buffer {rb} bytes (at most "
          f"{2 * RCVBUF}), host A's MSS {mss} (at least {MSS_MIN})")
    most = BATCH + 1 + FLIGHT + SPARE
    check(most <= RING and most <= backlog, f"at most {most} frames ever wait for B's outer "
          f"port (its ring holds {RING}, a CPU's backlog {backlog}): none can be lost")


def send(lab, h, frames):
    """Out of appliance A's outer veth, in order (tests/lib/inject.py)."""
    fd, pcap = tempfile.mkstemp(suffix=".pcap")
    with os.fdopen(fd, "wb") as out:  # pcap: the frames as they are
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for f in frames:
            out.write(struct.pack("<IIII", 0, 0, len(f), len(f)) + f)
    try:
        lab.run("apA", [PY, INJECT, pcap, "outer", str(PPS)], timeout=120)
    finally:
        os.unlink(pcap)
    h.injected += len(frames)


def inject(lab, h, frames, sentinel=True):
    """BATCH frames at a time, each batch closed by a sentinel that B must
    open before the next batch goes (the injector sends from one CPU, so
    the sentinel leaves B's ring after every frame before it)."""
    if not sentinel and len(frames) > BATCH:
        check(False, f"{len(frames)} frames without a sentinel (at most {BATCH})")
    for a in range(0, len(frames), BATCH):
        send(lab, h, frames[a:a + BATCH] + ([h.sentinel()] if sentinel else []))
        deadline = time.monotonic() + 15
        while sentinel and opened(lab, 901) < h.sentinels and time.monotonic() < deadline:
            time.sleep(0.02)
        if sentinel and opened(lab, 901) != h.sentinels:
            kd = lab.stats("apB")["ports"]["outer"]["rx_kernel_drops"]
            check(False, f"B never opened sentinel {h.sentinels} ({opened(lab, 901)} opened in "
                  f"15 s; B's ring has lost {kd} frames since the lab started, which "
                  f"loss_bound() says cannot happen)")


def account(lab, h, name, s0, s1, sent, got, n, unseen, refused0, slow):
    """Frames sent = judged by B (dropped by reason, opened, sentinels
    opened; handed to the control thread for a slow phase) + taken by the
    kernel's IPv4 defragmentation + lost in B's ring (rx_kernel_drops, all
    of the port's frames: the transfer's too) - and nothing was lost."""
    kd = s1["ports"]["outer"]["rx_kernel_drops"] - s0["ports"]["outer"]["rx_kernel_drops"]
    refused = veth(lab, "apA")["tx_dropped"] - refused0
    sentinels = opened(lab, 901) - h.opened901
    h.opened901 += sentinels
    judged = sum(got.values()) + n + sentinels
    terms = f"dropped {sum(got.values())}, opened {n}, sentinels opened {sentinels}"
    if slow:  # the control thread's count may include the other traffic's ARP/ND
        handed = s1["slowpath_pkts"] - s0["slowpath_pkts"]
        mine = min(handed, sent - judged)
        judged += mine
        terms += f", handed to the control thread {mine} (of its {handed})"
    check(sent == judged + unseen + kd, f"{name}: frames sent {sent} = judged by B {judged} "
          f"({terms}) + never reached B's ring (kernel defragmentation) {unseen} + lost in B's "
          f"ring {kd}")
    check(kd == 0 and refused == 0, f"{name}: no frame was lost before B's data plane (B's "
          f"ring dropped {kd}, A's veth refused {refused}); loss_bound() makes it impossible, so "
          f"a loss would mean the test is wrong")


def quiet(lab):
    """B's and A's stats and outer veth counters at a moment nothing moves
    (after the transfer): the same twice in a row, 0.3 s apart."""
    def read():
        return lab.stats("apB"), veth(lab, "apB"), lab.stats("apA"), veth(lab, "apA")

    last = read()
    for _ in range(10):
        time.sleep(0.3)
        now = read()
        if all(now[k]["ports"]["outer"] == last[k]["ports"]["outer"] for k in (0, 2)) and \
                now[1] == last[1] and now[3] == last[3]:
            return now
        last = now
    check(False, "the outer link fell quiet after the transfer (for the port identities)")


def port_identities(h, b0, vb0, a0, va0, b1, vb1, a1, va1):
    """Over the whole run: every frame that reached B's outer veth was read
    by B's data plane, lost in its ring, or taken by the kernel's
    defragmentation; every frame A's outer veth sent came from A's data
    plane or the injector, and none was refused."""
    arrived = vb1["rx_packets"] - vb0["rx_packets"]
    read = b1["ports"]["outer"]["rx_pkts"] - b0["ports"]["outer"]["rx_pkts"]
    kd = b1["ports"]["outer"]["rx_kernel_drops"] - b0["ports"]["outer"]["rx_kernel_drops"]
    check(arrived == read + kd + h.unseen, f"B's outer veth: {arrived} frames arrived = read by "
          f"the data plane {read} + lost in its ring {kd} + taken by defragmentation {h.unseen}")
    left = va1["tx_packets"] - va0["tx_packets"]
    dp = a1["ports"]["outer"]["tx_pkts"] - a0["ports"]["outer"]["tx_pkts"]
    refused = va1["tx_dropped"] - va0["tx_dropped"]
    check(left == dp + h.injected and refused == 0 and kd == 0, f"A's outer veth: {left} frames "
          f"sent = A's data plane's {dp} + the injector's {h.injected}; {refused} refused; "
          f"nothing lost in B's ring ({kd})")
