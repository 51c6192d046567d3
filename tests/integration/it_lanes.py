#!/usr/bin/python3
"""Integration: one migration over every worker core (lanes).

Two workers per appliance; migsecctl asks both appliances for their worker
counts and starts the migration with 2 lanes per direction. Eight TCP
connections run at once through it: every one arrives intact, both lanes
carry packets in each direction on both appliances, no replay drops, and
each lane has its own SPI.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import HOST, Lab, appliance, check, ctl, log, start_migration  # noqa: E402

MIB = 1 << 20
WINDOW = 1024   # policy.replay_window's default
RING = 512      # frames in each af_packet ring (AFP_FRAMES; lab default at MTU 1500: 4096)


def main():
    # The shipped default window (1024). Each worker opens what it receives
    # against the SA's one shared window, so migsec judges packets in the
    # order its queues deliver them. The lab's af_packet ports can reorder a
    # lane by themselves: when one queue's ring is (nearly) full the kernel
    # rolls packets over to the other queue's socket (rx_kernel_rollovers),
    # and they overtake the full ring. A packet p can then fall behind the
    # window only if a packet q > p + 1024 was opened first; everything
    # between them was in p's ring (at most AFP_FRAMES = 512) or rolled
    # over or lost in the kernel. So an outside_window drop without at least
    # 1024 - 512 such packets is migsec's fault, and fails; a replay always
    # fails.
    with Lab("itL", workers=2, env={"AFP_FRAMES": str(RING)}) as lab:
        r = start_migration(lab, "lanes1", [f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32"])
        log(r.stdout.decode().strip())
        check(r.returncode == 0, f"migration started (exit {r.returncode}: {r.stderr.decode().strip()})")
        handles = [lab.start_transfer(16 * MIB, family=4, port=5300 + i, rate_mbps=150, timeout=90)
                   for i in range(8)]
        results = [lab.finish(h) for h in handles]
        for i, (sent, got) in enumerate(results):
            check(got.get("sha256") == sent.get("sha256") and got.get("bytes") == 16 * MIB,
                  f"connection {i + 1} of 8: 16 MiB intact")
        st = json.loads(ctl(lab, "--json", "status", appliance("apA"), appliance("apB")).stdout)
        for app in ("apA", "apB"):
            m = st[app]["migrations"][0]
            lanes = m["per_lane"]
            log(f"{app}: {json.dumps(lanes)}")
            check(m["lanes"] == 2 and len(lanes) == 2, f"{app}: 2 lanes (one per worker)")
            for ln in lanes:
                check(ln["out_pkts"] > 0 and ln["in_pkts"] > 0,
                      f"{app} lane {ln['lane']}: packets in both directions")
            spis = {ln["spi_out"] for ln in lanes} | {ln["spi_in"] for ln in lanes}
            check(len(spis) == 4, f"{app}: every lane has its own SPIs each way")
            dp = lab.stats(app)
            log(f"{app}: non-zero drops {({k: v for k, v in dp['drops'].items() if v})}")
            outer = dp["ports"]["outer"]
            moved = outer["rx_kernel_rollovers"] + outer["rx_kernel_drops"]
            late = dp["drops"]["outside_window"]
            check(dp["drops"]["replay"] == 0, f"{app}: no replay drops")
            if late:
                log(f"{app}: {late} packets fell behind the window after the kernel moved "
                    f"{outer['rx_kernel_rollovers']} packets to the other queue and dropped "
                    f"{outer['rx_kernel_drops']} (the port reordered them, not migsec)")
            check(late == 0 or moved >= WINDOW - RING,
                  f"{app}: no packet behind the window that the port's own reordering does not "
                  f"explain ({late} late, {moved} rolled over or lost in the kernel)")
        ctl(lab, "end", "--id", "lanes1", appliance("apA"), appliance("apB"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
