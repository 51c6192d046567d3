"""dpdk-dumpcap on an appliance's DPDK port: the wire check of a link that
has no veth to run tcpdump on (tests/lab.sh --outer memif).

DumpCapture has the interface of migsec_lab.Capture (a context manager
with .path, .summary and .remove()), so a test swaps one for the other and
opens the file with verify_esp_capture. dpdk-dumpcap attaches to the
appliance as a DPDK secondary process by its file prefix (tests/lab.sh:
"$LAB-apA"); that works only when the appliance runs on hugepages with its
hugepage files kept (HUGE_UNLINK=false: the data plane then calls
rte_pdump_init, dataplane/main.c). pdump copies what the port receives and
sends, so one capture sees both directions of the link.

When the appliance is not on hugepages, DumpCapture.unavailable(lab, app)
says why, for the test to skip its wire check by name (tests/lib/skips.py)
instead of passing it.
"""
import os
import subprocess
import tempfile
import time

from migsec_lab import stop_capture

# the lab's appliances must keep their hugepage files for a secondary process
LAB_ENV = {"HUGE_UNLINK": "false"}


def on_hugepages(pid):
    with open(f"/proc/{pid}/maps") as f:
        return any("/dev/hugepages/" in line for line in f)


class DumpCapture:
    """dpdk-dumpcap on app's port ("outer" or "inner"), at most count frames
    or seconds, written as libpcap (-P: tests/lib/espscan.py reads only that)."""

    def __init__(self, lab, app, count, seconds=30, port="outer"):
        self.lab, self.app, self.count, self.seconds = lab, app, count, seconds
        # the port's name, without its devargs ("net_memif1,role=server,...")
        self.device = lab.stats(app)["ports"][port]["device"].split(",")[0]
        self.prefix = f"{lab.name}-{app}"
        # whole frames; no larger: dumpcap sizes its mbufs by it (65535 copied none)
        self.snaplen = max(2176, lab.mtu + 64)
        self.summary = ""  # dumpcap's closing lines: packets captured, received/dropped
        fd, self.path = tempfile.mkstemp(prefix="migsec-", suffix=".pcap")
        os.close(fd)

    @staticmethod
    def unavailable(lab, app):
        """Why dpdk-dumpcap cannot attach to app here, or None if it can."""
        if not on_hugepages(lab.pid(app)):
            return (f"{app} runs without hugepages (too few free 2 MiB pages; "
                    f"scripts/setup.sh reserves them), so dpdk-dumpcap cannot attach")
        with open(os.path.join(lab.dir, f"{app}.log")) as f:
            if "pdump unavailable" in f.read():
                return f"{app} could not start pdump (its log says pdump unavailable)"
        return None

    def __enter__(self):
        why = self.unavailable(self.lab, self.app)
        if why:
            raise RuntimeError(f"dpdk-dumpcap on {self.app}: {why}")
        # stdbuf: dumpcap's "Capturing on" is a printf, block-buffered into a pipe
        cmd = ["timeout", str(self.seconds + 5), "stdbuf", "-oL", "dpdk-dumpcap", f"--file-prefix={self.prefix}",
               "-i", self.device, "-s", str(self.snaplen), "-c", str(self.count),
               "-a", f"duration:{self.seconds}", "-P", "-w", self.path]
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, start_new_session=True)
        # dumpcap says "Capturing on ..." once its callbacks are in (bounded wait)
        deadline = time.monotonic() + 15
        self.lines = []
        while time.monotonic() < deadline and self.p.poll() is None:
            line = self.p.stdout.readline()
            self.lines.append(line)
            if "Capturing on" in line:
                return self
        self.__exit__()
        raise RuntimeError(f"dpdk-dumpcap did not start capturing {self.device} of "
                           f"{self.prefix}:\n{self.output[-600:]}")

    def __exit__(self, *exc):
        stop_capture(self.p)
        out = ''.join(self.lines) + self.p.stdout.read()
        self.output = out.strip()  # all it said (EAL's lines too)
        self.summary = "\n".join(ln for ln in out.splitlines() if ln.startswith("Packets"))
        return False

    def remove(self):
        os.unlink(self.path)
