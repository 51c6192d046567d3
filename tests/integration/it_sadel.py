#!/usr/bin/python3
"""Integration: an SA deleted while traffic flows.

Two migrations run at once (IPv4 and IPv6 SA pairs). A's outbound IPv4 SA
is deleted mid-transfer: that transfer stops (its packets now meet the
default policy, discard, and are counted as no_policy; nothing more is
sealed under the deleted SA), while the IPv6 transfer over the other SAs
completes intact, with no drops on them, and the appliance keeps running.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import Lab, check, log  # noqa: E402

MIB = 1 << 20


def main():
    with Lab("it4") as lab:
        lab.install_pair(inner=4, outer=4, spi_ab=0x1001, spi_ba=0x1002, id_base=1)
        lab.install_pair(inner=6, outer=6, spi_ab=0x2001, spi_ba=0x2002, id_base=3)
        v4 = lab.start_transfer(512 * MIB, family=4, port=5201, rate_mbps=200, timeout=12)
        v6 = lab.start_transfer(96 * MIB, family=6, port=5202, rate_mbps=150, timeout=40)
        time.sleep(2.5)
        before = lab.sas("apA")[1]["pkts"]
        lab.del_sa("apA", 1)
        log(f"deleted apA's outbound IPv4 SA after it sealed {before} packets")
        np0 = lab.stats("apA")["drops"]["no_policy"]
        time.sleep(2)
        np1 = lab.stats("apA")["drops"]["no_policy"]
        check(1 not in lab.sas("apA"), "the SA is gone from apA's table")
        check(np1 > np0, f"IPv4 packets now meet the default policy (no_policy +{np1 - np0})")
        sent4, got4 = lab.finish(v4)
        sent6, got6 = lab.finish(v6)
        log(f"IPv4: sent {sent4}; received {got4}")
        log(f"IPv6: sent {sent6}; received {got6}")
        check("error" in sent4 and got4.get("bytes", 0) < 512 * MIB,
              "the IPv4 transfer stopped once its SA was gone")
        check("error" not in sent6 and got6.get("sha256") == sent6.get("sha256")
              and got6.get("bytes") == 96 * MIB, "the IPv6 transfer completed intact meanwhile")
        for app in ("apA", "apB"):
            for sid in (3, 4):
                sa = lab.sas(app)[sid]
                check(not sa["drops"], f"{app} SA {sid} ({sa['tag']}): no drops")
        check(os.path.exists(f"/proc/{lab.pid('apA')}"), "apA still runs")
        check(lab.ping("A", "2001:db8:1::2"), "apA still forwards the remaining SAs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
