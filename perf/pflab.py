"""A memif test bed for migsec-pktgen and migsec-dataplane: appliances and
pktgen processes joined by memif sockets in a private temporary directory,
SAs installed through migsec-dpctl (keys generated here with os.urandom and
passed on its stdin only), counters read back, and everything removed on
exit. Used by perf/bench and the perf test suite. /usr/bin/python3 only.

CPU plan on a 2-core machine: appliance workers on CPU 1, pktgen on CPU 0,
appliance control threads (mostly asleep) on CPU 0.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
DP = os.path.join(BUILD, "dataplane", "migsec-dataplane")
DPCTL = os.path.join(BUILD, "tools", "migsec-dpctl")
PKTGEN = os.path.join(BUILD, "perf", "migsec-pktgen")

INNER_A, INNER_B = "192.0.2.1", "192.0.2.2"
OUTER_A, OUTER_B = "203.0.113.1", "203.0.113.2"
MEMIF_OPTS = "socket-abstract=no,bsize=10240,rsize=10"


def log(msg):
    print(msg, flush=True)


def memif(idx, role, sock):
    return f"net_memif{idx},role={role},socket={sock},{MEMIF_OPTS}"


class Proc:
    """A child process with its output in a file of the bed."""

    def __init__(self, name, cmd, path, stdin=subprocess.DEVNULL):
        self.name, self.cmd, self.path = name, cmd, path
        self.out = open(path, "w")
        self.p = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT, stdin=stdin,
                                  start_new_session=True)

    def alive(self):
        return self.p.poll() is None

    def wait(self, timeout):
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise RuntimeError(f"{self.name} did not finish within {timeout} s:\n{self.text()[-2000:]}")
        return self.p.returncode

    def stop(self, grace=10):
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.out.close()

    def text(self):
        if not self.out.closed:
            self.out.flush()
        with open(self.path) as f:
            return f.read()

    def summary(self):
        """The pktgen's final JSON line."""
        for line in reversed(self.text().splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"{self.name}: no summary:\n{self.text()[-2000:]}")


def ends(args):
    """{(socket, role)} of the memif ports in a list of vdev strings/arguments."""
    out = set()
    for a in args:
        a = str(a)
        if a.startswith("net_memif"):
            kv = dict(x.split("=", 1) for x in a.split(",")[1:] if "=" in x)
            out.add((kv.get("socket"), kv.get("role", "server")))
    return out


class Pktgen(Proc):
    """migsec-pktgen run with --linger: it says "ready" once its memif ports
    are up and, after its final report, keeps them open (not polled) until
    its stdin ends. DPDK 22.11's memif PMD can crash a process whose peer
    connects or disconnects while it polls the port (the shared rings are
    mapped and unmapped under the reader: SIGSEGV in eth_memif_rx). So a
    pktgen connects with the bed's appliances paused (migsec-dpctl pause),
    and it disconnects only when no pktgen on the same memif socket still
    polls, again with the appliances paused."""

    def __init__(self, bed, name, cmd, path):
        self.bed = bed
        self.ends = ends(cmd)    # {(memif socket, role)}
        bed.quiesced(lambda: self._start(name, cmd, path))

    def _start(self, name, cmd, path):
        super().__init__(name, cmd + ["--linger"], path, stdin=subprocess.PIPE)
        if not self.bed.appliances:
            return
        end = time.monotonic() + 30
        while self.alive() and time.monotonic() < end:
            with open(path) as f:
                if any(line.strip() == "ready" for line in f):
                    return
            time.sleep(0.02)

    def reported(self):
        """Done polling: it printed its final report (or it is gone)."""
        if not self.alive():
            return True
        if not self.out.closed:
            self.out.flush()
        with open(self.path) as f:
            return any(line.startswith("{") for line in f)

    def polling_peers(self):
        """Pktgens on the other end of one of its memif links, still polling."""
        mine = {sock for sock, _ in self.ends}
        return [q for q in self.bed.procs if isinstance(q, Pktgen) and q is not self
                and any(sock in mine and (sock, role) not in self.ends for sock, role in q.ends)
                and not q.reported()]

    def close(self):
        """Disconnect (stdin closed) with the appliances paused; the process ends."""
        if not self.alive():
            return
        self.bed.quiesced(self._finish)

    def _finish(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()

    def _await_report(self, timeout):
        end = time.monotonic() + timeout
        while not self.reported():
            if time.monotonic() > end:
                return False
            time.sleep(0.05)
        return True

    def wait(self, timeout):
        """Until its final report; then it and every lingering pktgen that no
        longer has a polling peer disconnect."""
        if not self._await_report(timeout):
            self.stop()
            raise RuntimeError(f"{self.name} did not finish within {timeout} s:\n"
                               f"{self.text()[-2000:]}")
        self.bed.close_idle()
        return self.p.returncode

    def stop(self, grace=10):
        if self.alive() and not self.reported():
            self.p.send_signal(signal.SIGTERM)
            self._await_report(grace)
        if not self.polling_peers():
            self.close()
        if not self.alive() and not self.out.closed:
            self.out.close()


class Appliance:
    def __init__(self, bed, name, sock, proc):
        self.bed, self.name, self.sock, self.proc = bed, name, sock, proc

    def dpctl(self, *args, stdin=None, check=True):
        r = subprocess.run([DPCTL, "-s", self.sock, *args], input=stdin, capture_output=True,
                           timeout=60)
        if check and r.returncode != 0:
            why = "" if self.proc.alive() else f"\nappliance exited ({self.proc.p.returncode}):\n{self.proc.text()[-3000:]}"
            raise RuntimeError(f"migsec-dpctl {' '.join(args)}: {r.stderr.decode().strip()}{why}")
        return r

    def stats(self):
        return json.loads(self.dpctl("stats", "--json").stdout)

    def add_sa(self, sa_id, direction, spi, local, peer, sels, keysalt):
        args = ["sa", "add", "--id", str(sa_id), "--dir", direction, "--spi", hex(spi),
                "--local", local, "--peer", peer]
        for s in sels:
            args += ["--sel", s]
        self.dpctl(*args, stdin=keysalt.hex().encode() + b"\n")

    def del_sa(self, sa_id):
        self.dpctl("sa", "del", "--id", str(sa_id))


class Bed:
    """Context manager: a temporary directory, processes, clean-up."""
    serial = 0

    def __init__(self, name):
        self.name = name
        self.procs = []
        self.appliances = []
        Bed.serial += 1
        self.tag = f"{os.getpid()}x{Bed.serial}"
        self.prefixes = []

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix=f"pf-{self.name}-")
        return self

    def __exit__(self, *exc):
        # Senders first, then every pktgen (each with the appliances paused),
        # then the appliances, paused too: a memif peer can crash when the
        # other side goes while it polls (see Pktgen).
        gens = [p for p in self.procs if isinstance(p, Pktgen)]
        for p in gens:             # every run ends (senders first) and reports
            if p.alive() and not p.reported():
                p.p.send_signal(signal.SIGTERM)
                p._await_report(10)
        for p in gens:             # then all disconnect, appliances paused
            p.close()
        for ap in self.appliances:
            if ap.proc.alive():
                ap.dpctl("pause", check=False)
        for p in reversed(self.procs):
            p.stop()
        self.procs = []
        self.appliances = []
        shutil.rmtree(self.dir, ignore_errors=True)
        for prefix in self.prefixes:   # the EAL's runtime directories
            shutil.rmtree(os.path.join("/var/run/dpdk", prefix), ignore_errors=True)
        return False

    def path(self, f):
        return os.path.join(self.dir, f)

    def close_idle(self):
        """Disconnect every reported pktgen whose memif peers no longer poll."""
        for q in self.procs:
            if isinstance(q, Pktgen) and q.alive() and q.reported() and not q.polling_peers():
                q.close()

    def quiesced(self, fn):
        """fn() with every running appliance paused (no worker polls a port)."""
        paused = []
        for ap in self.appliances:
            if ap.proc.alive() and ap.dpctl("pause", check=False).returncode == 0:
                paused.append(ap)
        try:
            fn()
        finally:
            for ap in paused:
                if ap.proc.alive():
                    ap.dpctl("resume", check=False)

    def appliance(self, name, inner, outer, workers=1, outer4=OUTER_A, inner4="192.0.2.253",
                  remote=INNER_B, via=OUTER_B, max_sa=1024, mbufs=16384, poll="busy",
                  hugepages=False):
        """Start a data plane; inner/outer are vdev strings. Worker(s): CPU 1 first.
        hugepages: in one file per segment list, as memif zero-copy needs."""
        lcores = {1: "0@0,1@1", 2: "0@0,1@1,2@0"}[workers]
        mem = (f'memory_mb = 512; hugepages = "yes"; args = [ "--single-file-segments" ];'
               if hugepages else 'memory_mb = 768; hugepages = "no";')
        conf = self.path(f"{name}.conf")
        sock = self.path(f"{name}.sock")
        with open(conf, "w") as f:
            f.write(f"""name = "{name}";
eal: {{ lcores = "{lcores}"; main_lcore = 0; file_prefix = "pf{name}{self.tag}";
  {mem} log_level = "notice"; }};
crypto: {{ profile = "aesni_gcm"; profile_dir = "{TOP}/pmd-profiles"; sessions = {max(4096, 2 * max_sa)}; }};
inner: {{ device = "{inner}"; ipv4 = "{inner4}/24"; mtu = 9600; }};
outer: {{ device = "{outer}"; ipv4 = "{outer4}/24"; mtu = 9600; }};
remote = ( {{ prefix = "{remote}/32"; via = "{via}"; proxy = true; }} );
policy: {{ default = "discard"; replay_window = 4096; mss_clamp = false; }};
limits: {{ max_sa = {max_sa}; mbufs = {mbufs}; mbuf_size = 10240; burst = 32; }};
poll: {{ mode = "{poll}"; }};
control: {{ socket = "{sock}"; }};
""")
        self.prefixes.append(f"pf{name}{self.tag}")
        p = Proc(f"ap{name}", [DP, "-c", conf], self.path(f"{name}.log"))
        self.procs.append(p)
        ap = Appliance(self, name, sock, p)
        self.appliances.append(ap)
        for _ in range(150):
            if ap.dpctl("ping", check=False).returncode == 0:
                return ap
            if not p.alive():
                raise RuntimeError(f"appliance {name} exited:\n{p.text()[-3000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"appliance {name} did not answer within 30 s:\n{p.text()[-3000:]}")

    def pktgen(self, name, ports, args, cpu=0):
        """Start migsec-pktgen; ports: vdev strings; args: role options.
        A reported pktgen still holding one of these sockets lets go first."""
        mine = ends(ports)
        for q in self.procs:
            if isinstance(q, Pktgen) and q.alive() and q.ends & mine:
                if not q.reported():
                    raise RuntimeError(f"{name}: {q.name} still runs on the same end of a memif link")
                q.close()
        cmd = [PKTGEN, "--cpu", str(cpu), "--file-prefix", f"pf{name}{self.tag}",
               "--huge", "no", "--json"]
        for v in ports:
            cmd += ["--port", v]
        self.prefixes.append(f"pf{name}{self.tag}")
        p = Pktgen(self, name, cmd + [str(a) for a in args], self.path(f"{name}.log"))
        self.procs.append(p)
        return p


def keysalt():
    return os.urandom(36)


def sel(port_lo=None, port_hi=None, src=INNER_A, dst=INNER_B):
    s = f"src={src}/32,dst={dst}/32"
    if port_lo is not None:
        s += f",proto=udp,dport={port_lo}" + (f"-{port_hi}" if port_hi not in (None, port_lo) else "")
    return s


def install_loop(ap, migrations=1, lanes=1, flows=None, spi_base=0x1000, id_base=1):
    """SAs for the mirror loop on one appliance: per migration (and lane) an
    outbound SA and an inbound SA with the same SPI and key, so the appliance
    opens what the mirror sends back. Flow f goes to UDP port 10000 + f; with
    several migrations flow i is migration i's; with lanes, lane l takes the
    l-th block of flows (the pktgen sends block l on queue l)."""
    ids = []
    n = 0
    for m in range(migrations):
        for lane in range(lanes):
            if migrations > 1:
                s = sel(10000 + m)
            elif lanes > 1:
                lo = flows * lane // lanes
                hi = flows * (lane + 1) // lanes - 1
                s = sel(10000 + lo, 10000 + hi)
            else:
                s = sel()
            ks = keysalt()
            spi = spi_base + n
            ap.add_sa(id_base + 2 * n + 1, "in", spi, OUTER_A, OUTER_B, [s], ks)
            ap.add_sa(id_base + 2 * n, "out", spi, OUTER_A, OUTER_B, [s], ks)
            ids.append((id_base + 2 * n, id_base + 2 * n + 1))
            n += 1
    return ids


def loop_bed(bed, workers=1, max_sa=1024, name="A", poll="busy"):
    """One appliance whose inner port faces the pktgen's generator and sink
    (port 0) and whose outer port faces the pktgen's mirror (port 1)."""
    si, so = bed.path(f"{name}-in.sock"), bed.path(f"{name}-out.sock")
    ap = bed.appliance(name, memif(0, "server", si), memif(1, "server", so), workers=workers,
                       max_sa=max_sa, poll=poll)
    ports = [memif(0, "client", si), memif(1, "client", so)]
    return ap, ports


def loop_args(size, flows, queues=1, extra=()):
    return ["--queues", queues, "--gen", 0, "--sink", 0, "--mirror", 1,
            "--addr", f"0={INNER_A},{INNER_B}", "--addr", f"1={OUTER_B}",
            "--size", size, "--flows", flows, "--sink-flows", max(flows, 16), *extra]


def delta(a, b, key):
    return b[key] - a[key]


def warm_up(bed, ports, args_fn, tries=8):
    """Low-rate traffic until pages come back: the appliance resolves its
    neighbours (ARP) before anything is measured."""
    for i in range(tries):
        w = bed.pktgen(f"warm{i}", ports, args_fn(["--count", 100, "--rate-pps", 400, "--quiet",
                                                    "--drain-ms", 500]))
        w.wait(60)
        if w.summary()["sink"]["unique"] == 100:
            return
    raise RuntimeError("no traffic came back during the warm-up")


def worker_cpu(pid):
    """{thread name: CPU nanoseconds} of a DPDK process's lcore threads
    (/proc/PID/task/TID/schedstat): what a worker really ran, whatever
    shared its core."""
    out = {}
    base = f"/proc/{pid}/task"
    for tid in os.listdir(base):
        try:
            with open(f"{base}/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"{base}/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
        except OSError:
            continue
        if name.startswith("rte-worker"):
            out[name] = ns
    return out


class Meter:
    """Appliance counters and worker CPU time between start() and stop().
    cycles per packet = sum over workers of busy TSC cycles x the share of
    the wall clock the worker really had its CPU, per sealed packet; io_cpp
    the same for the cycles inside the ports' RX/TX bursts (memif copies)."""

    def __init__(self, ap, proc):
        self.ap, self.proc = ap, proc

    def start(self):
        self.s0, self.c0, self.t0 = self.ap.stats(), worker_cpu(self.proc.p.pid), time.monotonic()

    def stop(self):
        s1, c1, t1 = self.ap.stats(), worker_cpu(self.proc.p.pid), time.monotonic()
        wall_ns = (t1 - self.t0) * 1e9
        workers = []
        for i, w in enumerate(s1["workers"]):
            busy = w["busy_cycles"] - self.s0["workers"][i]["busy_cycles"]
            io = w["io_cycles"] - self.s0["workers"][i]["io_cycles"]
            name = f"rte-worker-{w['lcore']}"
            share = (c1.get(name, 0) - self.c0.get(name, 0)) / wall_ns if wall_ns else 0
            workers.append({"lcore": w["lcore"], "busy": busy, "io": io, "share": min(share, 1.0)})
        sealed = s1["sealed_pkts"] - self.s0["sealed_pkts"]
        opened = s1["opened_pkts"] - self.s0["opened_pkts"]
        cpu = sum(w["busy"] * w["share"] for w in workers)
        io = sum(w["io"] * w["share"] for w in workers)
        drops = {k: v - self.s0["drops"][k] for k, v in s1["drops"].items() if v - self.s0["drops"][k]}
        return {"sealed": sealed, "opened": opened, "workers": workers,
                "busy_cpp": sum(w["busy"] for w in workers) / sealed if sealed else float("nan"),
                "cpp": cpu / sealed if sealed else float("nan"),
                "io_cpp": io / sealed if sealed else float("nan"), "drops": drops,
                "hz": s1["tsc_hz"]}


def wait_socket(path, timeout=30):
    """A memif server's socket exists (its clients may connect)."""
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise RuntimeError(f"{path} did not appear within {timeout} s")
        time.sleep(0.05)
