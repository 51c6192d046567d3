#!/usr/bin/python3
"""Perf: the start latency of a host evacuation through migsecctl.

Batches of 1, 32 and 256 migrations (one TCP-port selector each) started
with one `migsecctl start --batch` each and ended with one `end`, no
traffic; prints migsecctl's own time (connections, health and every start
on both appliances), the process's wall time, the time per migration and
the load average; once with the data planes polling busily (the lab's
default: their two workers fill both cores of this machine, so the control
processes wait for a core) and once adaptively (idle workers sleep, as
they do between migrations). Never asserted: each batch must start whole, and leave no
SA behind. The checks are it_evac's (tests/integration/it_evac.py).
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from it_evac import bench, report  # noqa: E402
from migsec_lab import Lab, log  # noqa: E402


def main():
    t0 = time.monotonic()
    log(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for poll in ("busy", "adaptive"):
        with Lab("ptE", poll=poll) as lab:
            log(f"data planes polling {poll}")
            report(bench(lab, [1, 32, 256]))
    log(f"test {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
