"""The migsec lab from Python: tests/lab.sh, SAs through migsec-dpctl,
transfers between the hosts, captures of the outer link and their
independent decryption with scapy.

Keys exist only in this process's memory and on migsec-dpctl's stdin.
Run with Debian's /usr/bin/python3 (scapy, cryptography).
"""
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
DPCTL = os.path.join(BUILD, "tools", "migsec-dpctl")
XFER = os.path.join(TOP, "tests", "lib", "xfer.py")
PY = "/usr/bin/python3"

HOST = {"A": {4: "192.0.2.1", 6: "2001:db8:1::1"}, "B": {4: "192.0.2.2", 6: "2001:db8:1::2"}}
OUTER = {"A": {4: "203.0.113.1", 6: "2001:db8:ff::1"}, "B": {4: "203.0.113.2", 6: "2001:db8:ff::2"}}
PLEN = {4: 32, 6: 128}
# the hosts' link that bypasses the appliances (Lab(direct=True))
DIRECT = {"A": "203.0.113.101", "B": "203.0.113.102"}
LOG_TAIL = 30  # lines of each appliance log shown when a lab test fails


def log(msg):
    print(msg, flush=True)


class Lab:
    """Two hosts, two appliances; a context manager that always cleans up."""

    def __init__(self, name, policy="discard", workers=1, mtu=1500, env=None, poll="busy",
                 profile="aesni_gcm", members=None, direct=False, inner="af_packet",
                 outer="af_packet"):
        """mtu: of every link (each test picks; tests/lab.sh and the demo default
        to 9000, the tests to 1500, it_jumbo runs 9000);
        poll: poll.mode of both appliances; profile: their crypto profile;
        members: (primary, secondary) for the failover profile;
        direct: also a link between the hosts without appliances (DIRECT);
        inner, outer: the port kinds (tests/lab.sh --inner/--outer).
        MIGSEC_LAB_PREFIX in the environment (a letter or two) is put in
        front of name (namespaces, EAL file prefixes, state directory), to
        keep test runs from several checkouts on one machine apart."""
        name = os.environ.get("MIGSEC_LAB_PREFIX", "") + name
        if len(name) > 8:
            raise ValueError(f"lab name {name} is longer than 8 characters")
        self.name, self.policy, self.workers, self.mtu = name, policy, workers, mtu
        self.poll, self.profile, self.members = poll, profile, members
        self.direct, self.inner, self.outer = direct, inner, outer
        self.dir = f"/run/migsec-lab/{name}"
        self.env = dict(os.environ, LAB=name, BUILD=BUILD, LAB_DIR=self.dir, **(env or {}))
        self.procs = []

    # ---- life cycle
    def __enter__(self):
        self.lab("down", check=False, quiet=True)
        crypto = ["--profile", self.profile]
        if self.members:
            crypto += ["--members", ",".join(self.members)]
        self.lab("up", "--policy", self.policy, "--workers", str(self.workers), "--mtu", str(self.mtu),
                 "--poll", self.poll, "--inner", self.inner, "--outer", self.outer, *crypto, *(["--direct"] if self.direct else []))
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.keep_logs(failed=exc[0] is not None)
        self.lab("down", check=False, quiet=True)
        return False

    LOGS = ("apA", "apB", "apA-control", "apB-control")

    def keep_logs(self, failed):
        """Before the lab (and its state directory) goes: on a failure, the
        last lines of each appliance's logs go to stderr, which meson's
        test log keeps; with MIGSEC_LAB_LOGS=DIR, every log is copied to
        DIR/<lab>/ too. The logs hold no keys (docs/architecture.md;
        it_secrets checks)."""
        keep = os.environ.get("MIGSEC_LAB_LOGS")
        for name in self.LOGS:
            path = os.path.join(self.dir, name + ".log")
            try:
                with open(path, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            if failed:
                tail = text.splitlines()[-LOG_TAIL:]
                print(f"--- {self.name} {name}.log, last {len(tail)} lines ---", file=sys.stderr)
                print("\n".join(tail), file=sys.stderr, flush=True)
            if keep:
                os.makedirs(os.path.join(keep, self.name), exist_ok=True)
                with open(os.path.join(keep, self.name, name + ".log"), "w") as f:
                    f.write(text)

    def lab(self, *args, check=True, quiet=False):
        r = subprocess.run([os.path.join(TOP, "tests", "lab.sh"), *args], env=self.env,
                           capture_output=True, text=True, timeout=120)
        if not quiet:
            out = (r.stdout + r.stderr).strip()
            if out:
                log(out)
        if check and r.returncode != 0:
            raise RuntimeError(f"lab.sh {' '.join(args)} failed:\n{r.stdout}{r.stderr}")
        return r

    def ns(self, who):
        return {"A": f"{self.name}-hA", "B": f"{self.name}-hB",
                "apA": f"{self.name}-apA", "apB": f"{self.name}-apB",
                "mg": f"{self.name}-mg", "ow": f"{self.name}-ow"}[who]

    def sock(self, app):
        return os.path.join(self.dir, f"{app}.sock")

    def pid(self, app):
        with open(os.path.join(self.dir, f"{app}.pid")) as f:
            return int(f.read())

    def run(self, who, cmd, timeout=60, check=True, **kw):
        r = subprocess.run(["ip", "netns", "exec", self.ns(who), *cmd], capture_output=True,
                           text=True, timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise RuntimeError(f"{who}: {' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def popen(self, who, cmd, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(who), *cmd], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, **kw)
        self.procs.append(p)
        return p

    # ---- data plane control
    def dpctl(self, app, *args, stdin=None, check=True):
        r = subprocess.run([DPCTL, "-s", self.sock(app), *args], input=stdin, capture_output=True,
                           timeout=30)
        if check and r.returncode != 0:
            raise RuntimeError(f"migsec-dpctl {' '.join(args)}: {r.stderr.decode().strip()}")
        return r

    def crypto(self, app):
        """The appliance's crypto profile and devices, with their counters."""
        return json.loads(self.dpctl(app, "crypto", "--json").stdout)

    def stats(self, app):
        return json.loads(self.dpctl(app, "stats", "--json").stdout)

    def port_mac(self, app, side):
        """The MAC address app's port on side ("inner", "outer") sends from, lower case."""
        return self.stats(app)["ports"][side]["mac"].lower()

    def kernel_ip_in(self, app):
        """IP packets the kernel of app's namespace has taken in (Ip: InReceives)."""
        lines = [ln.split() for ln in self.run(app, ["cat", "/proc/net/snmp"]).stdout.splitlines()
                 if ln.startswith("Ip:")]
        return int(lines[1][lines[0].index("InReceives")])

    def sas(self, app):
        return {s["id"]: s for s in json.loads(self.dpctl(app, "sa", "list", "--json").stdout)}

    def add_sa(self, app, sa_id, direction, spi, local, peer, sels, keysalt, **opt):
        args = ["sa", "add", "--id", str(sa_id), "--dir", direction, "--spi", hex(spi),
                "--local", local, "--peer", peer]
        for s in sels:
            args += ["--sel", s]
        for k, v in opt.items():
            args += [f"--{k}", str(v)]
        # key and salt go through stdin only; the bytes object is dropped after
        self.dpctl(app, *args, stdin=keysalt.hex().encode() + b"\n")

    def install_pair(self, inner=4, outer=4, spi_ab=0x1001, spi_ba=0x2001, id_base=1, **opt):
        """A->B and B->A SAs for all traffic between the two hosts. Returns
        {spi: (keysalt, outer family)} for decrypting captures."""
        a, b = HOST["A"][inner], HOST["B"][inner]
        sel_ab = f"src={a}/{PLEN[inner]},dst={b}/{PLEN[inner]}"
        sel_ba = f"src={b}/{PLEN[inner]},dst={a}/{PLEN[inner]}"
        k_ab, k_ba = os.urandom(36), os.urandom(36)
        oa, ob = OUTER["A"][outer], OUTER["B"][outer]
        tag = opt.pop("tag", f"v{inner}-in-v{outer}")
        self.add_sa("apA", id_base, "out", spi_ab, oa, ob, [sel_ab], k_ab, tag=tag + " A>B", **opt)
        self.add_sa("apB", id_base, "in", spi_ab, ob, oa, [sel_ab], k_ab, tag=tag + " A>B", **opt)
        self.add_sa("apB", id_base + 1, "out", spi_ba, ob, oa, [sel_ba], k_ba, tag=tag + " B>A", **opt)
        self.add_sa("apA", id_base + 1, "in", spi_ba, oa, ob, [sel_ba], k_ba, tag=tag + " B>A", **opt)
        return {spi_ab: (k_ab, outer), spi_ba: (k_ba, outer)}

    def del_sa(self, app, sa_id):
        self.dpctl(app, "sa", "del", "--id", str(sa_id))

    # ---- traffic
    def ping(self, frm, to_addr, count=3, check=True):
        r = self.run(frm, ["ping", "-c", str(count), "-i", "0.2", "-W", "1", to_addr], check=False,
                     timeout=30)
        if check and r.returncode != 0:
            raise RuntimeError(f"ping {to_addr} from {frm} failed:\n{r.stdout}{r.stderr}")
        return r.returncode == 0

    def start_transfer(self, nbytes, family=4, port=5201, marker="MIGSEC-PLAINTEXT-MARKER",
                       timeout=120, rate_mbps=0, rcvbuf=0):
        """Start host A sending nbytes to host B over TCP; finish with finish().
        rcvbuf: host B's SO_RCVBUF (bounds the data in flight; 0: autotuned)."""
        dst = HOST["B"][family]
        recv = self.popen("B", [PY, XFER, "recv", "--bind", dst, "--port", str(port),
                                "--timeout", str(timeout)] +
                          (["--rcvbuf", str(rcvbuf)] if rcvbuf else []))
        time.sleep(0.3)
        cmd = [PY, XFER, "send", "--to", dst, "--port", str(port), "--bytes", str(nbytes),
               "--marker", marker, "--timeout", str(timeout)]
        if rate_mbps:
            cmd += ["--rate-mbps", str(rate_mbps)]
        return (self.popen("A", cmd), recv, timeout)

    @staticmethod
    def finish(handle):
        """Wait for a started transfer; returns (sent, received) dicts."""
        out = []
        send, recv, timeout = handle
        for p in (send, recv):
            try:
                o, e = p.communicate(timeout=timeout + 30)
            except subprocess.TimeoutExpired:
                p.kill()
                o, e = p.communicate()
            out.append(json.loads(o) if o.strip() else {"error": e.strip() or "no output"})
        return out[0], out[1]

    def transfer(self, nbytes, **kw):
        """Host A sends nbytes to host B over TCP; returns (sent, received) dicts."""
        return self.finish(self.start_transfer(nbytes, **kw))

    def capture(self, who, count, seconds=30, iface="outer", bpf=None, buffer_kib=0):
        return Capture(self, who, count, seconds, iface, bpf, buffer_kib)


def stop_capture(p):
    """Stop a capture started in its own session: half a second for the
    last frames on their way, then SIGINT (it writes its summary), SIGKILL
    if it has not exited 10 s later."""
    time.sleep(0.5)
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGINT)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


class Capture:
    """tcpdump in a namespace, by default on an appliance's outer veth: what
    crosses the migration network towards that appliance (af_packet's own
    transmissions bypass the sender's qdisc, so each side sees what it
    receives)."""

    def __init__(self, lab, who, count, seconds, iface, bpf, buffer_kib=0):
        self.lab, self.app, self.count, self.seconds = lab, who, count, seconds
        self.iface, self.bpf, self.buffer_kib = iface, bpf, buffer_kib
        self.summary = ""  # tcpdump's closing lines: captured, dropped by kernel
        fd, self.path = tempfile.mkstemp(prefix="migsec-", suffix=".pcap")
        os.close(fd)

    def __enter__(self):
        cmd = ["timeout", str(self.seconds), "tcpdump", "-i", self.iface, "--immediate-mode",
               "-U", "-s", "0", "-c", str(self.count), "-w", self.path]
        if self.buffer_kib:
            cmd[3:3] = ["-B", str(self.buffer_kib)]
        self.p = self.lab.popen(self.app, cmd + ([self.bpf] if self.bpf else []),
                                start_new_session=True)
        # tcpdump says "listening on ..." once it captures; wait for that (bounded)
        deadline = time.monotonic() + 10
        line = ""
        while "listening" not in line and time.monotonic() < deadline and self.p.poll() is None:
            line = self.p.stderr.readline()
        return self

    def __exit__(self, *exc):
        stop_capture(self.p)
        self.summary = self.p.stderr.read().strip()
        return False

    def remove(self):
        os.unlink(self.path)


ORACLE_FRAMES = 4  # ESP frames of each capture also opened by tests/lib/aes_gcm.py


def oracle_open(esp, ks, inner):
    """Open one ESP packet (bytes from the SPI) with the pure-Python AES-GCM,
    which shares no code with OpenSSL (ESN high half 0, as scapy's SAs here);
    None if its plaintext is not the inner packet scapy found."""
    import aes_gcm

    pt = aes_gcm.open_(ks[:32], ks[32:36] + esp[8:16], esp[16:], esp[:4] + bytes(4) + esp[4:8])
    if pt is None or len(pt) < 2 or pt[-2] + 2 > len(pt):
        return None
    return pt if pt[:len(pt) - 2 - pt[-2]] == inner else None


def verify_esp_capture(path, sas, inner_pairs, marker):
    """Every frame is ARP, neighbour discovery or ESP-in-UDP that scapy
    decrypts with the given SAs; returns counts. The marker must never be
    in the raw capture and must be in the decrypted data. The first
    ORACLE_FRAMES ESP frames are also opened by the pure-Python AES-GCM
    (checked first against its known answers): under the openssl profile
    scapy (python3-cryptography) and the appliance share libcrypto."""
    from scapy.all import ARP, IP, UDP, IPv6, rdpcap, raw
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS
    from scapy.layers.ipsec import ESP, SecurityAssociation
    import aes_gcm

    aes_gcm.known_answers()
    res = {"frames": 0, "esp": 0, "decrypted": 0, "control": 0, "marker_in_plaintext": 0,
           "marker_on_wire": 0, "oracle_opened": 0, "bad": []}
    mk = marker.encode()
    with open(path, "rb") as f:
        res["marker_on_wire"] = f.read().count(mk)
    # esn=0: the ESN high half is fixed at 0, which is right only because a
    # lab's SAs are new and carry far fewer than 2^32 packets; the high half
    # past 2^32 is checked by the unit tests and the inbound fuzz harness.
    sa_objs = {spi: SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=ks,
                                        esn_en=True, esn=0)
               for spi, (ks, _) in sas.items()}
    for pkt in rdpcap(path):
        res["frames"] += 1
        if ARP in pkt or ICMPv6ND_NS in pkt or ICMPv6ND_NA in pkt:
            res["control"] += 1
            continue
        ip = pkt[IP] if IP in pkt else (pkt[IPv6] if IPv6 in pkt else None)
        if ip is None or UDP not in pkt or pkt[UDP].dport != 4500:
            res["bad"].append(pkt.summary())
            continue
        esp = ESP(raw(pkt[UDP].payload))
        res["esp"] += 1
        sa = sa_objs.get(esp.spi)
        if sa is None:
            res["bad"].append(f"unknown SPI {esp.spi:#x}")
            continue
        outer = (IP(src=ip.src, dst=ip.dst, proto=50) if IP in pkt
                 else IPv6(src=ip.src, dst=ip.dst, nh=50)) / esp
        try:
            inner = sa.decrypt(outer)
        except Exception as e:  # noqa: BLE001 - any failure is a finding
            res["bad"].append(f"decrypt failed spi {esp.spi:#x} seq {esp.seq}: {e}")
            continue
        inner_ip = inner.payload
        if (inner_ip.src, inner_ip.dst) not in inner_pairs:
            res["bad"].append(f"unexpected inner {inner_ip.src} > {inner_ip.dst}")
            continue
        res["decrypted"] += 1
        res["marker_in_plaintext"] += raw(inner_ip).count(mk)
        if res["oracle_opened"] < ORACLE_FRAMES:
            if oracle_open(raw(esp), sas[esp.spi][0], raw(inner_ip)) is None:
                res["bad"].append(f"spi {esp.spi:#x} seq {esp.seq}: the pure-Python AES-GCM "
                                  f"does not open it to what scapy found")
            res["oracle_opened"] += 1
    if res["decrypted"] and not res["oracle_opened"]:
        res["bad"].append("no frame opened by the pure-Python AES-GCM")
    return res


def cpu_seconds(pid):
    """utime + stime of a process so far (/proc/PID/stat), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    log(f"ok: {what}")


# ---- the management plane -------------------------------------------------

MGMT = {"apA": "198.51.100.2", "apB": "198.51.100.6"}
MIGSECCTL = os.path.join(BUILD, "control", "migsecctl")
TLSPROBE = os.path.join(TOP, "tests", "lib", "tlsprobe.py")


def appliance(app):
    return f"{app}={MGMT[app]}:7443"


def ctl(lab, *args, stdin=None, check=True, timeout=60):
    """migsecctl from the management namespace, with the lab's client certificate."""
    pki = os.path.join(lab.dir, "pki")
    r = subprocess.run(["ip", "netns", "exec", f"{lab.name}-mg", MIGSECCTL,
                        "--ca", f"{pki}/ca.pem", "--cert", f"{pki}/mgmt.pem", "--key",
                        f"{pki}/mgmt.key", *args], input=stdin, capture_output=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"migsecctl {' '.join(args)} ({r.returncode}): "
                           f"{r.stderr.decode().strip()}")
    return r


def start_migration(lab, mig_id, sels, policy="required", secret=None, extra=()):
    """migsecctl start across both appliances. secret: 40 bytes (key || nonce)
    fed on stdin, so that the test can derive the ESP keys itself."""
    args = ["start", "--id", mig_id, "--vm", f"vm-{mig_id}", "--policy", policy,
            "--source", appliance("apA"), "--destination", appliance("apB"),
            "--source-outer", OUTER["A"][4], "--destination-outer", OUTER["B"][4], *extra]
    for s in sels:
        args += ["--sel", s]
    if secret is not None:
        args.append("--key-stdin")
    return ctl(lab, *args, stdin=(secret.hex().encode() + b"\n") if secret else None,
               check=False)


def derive(secret, mig_id, direction, gen, lane=0):
    """The key derivation of docs/management.md, done independently (python3-cryptography)."""
    import struct
    from cryptography.hazmat.primitives import hashes, hmac
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    h = hmac.HMAC(b"migsec-v1" + secret[32:40], hashes.SHA256())
    h.update(secret[:32])
    prk = h.finalize()
    info = (b"migsec-v1 esp\0" + direction.encode() + b"\0" + mig_id.encode() + b"\0"
            + struct.pack(">II", gen, lane))
    okm = HKDFExpand(hashes.SHA256(), 40, info).derive(prk)
    return {"key": okm[:32], "salt": okm[32:36],
            "spi": 256 + int.from_bytes(okm[36:40], "big") % (2 ** 32 - 256)}


def hugepage_hits(lab, app, keys):
    """Key copies in the hugepage files of the lab's appliance (its EAL file
    prefix), and how many such files there are."""
    files = [p for p in glob.glob(f"/dev/hugepages/{lab.name}-{app}map_*") if os.path.isfile(p)]
    hits = 0
    for p in files:
        with open(p, "rb") as f:
            data = f.read()
        hits += sum(data.count(k) for k in keys)
    return hits, len(files)


def memory_scan(pid, needles):
    """A key scan of the process's readable memory: copies of any needle
    ("hits"), the bytes read ("bytes") and the positive control ("control"),
    copies of the process's command line, which the kernel keeps in its
    stack: a scan that found no control or read nothing has seen nothing."""
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        control = f.read()
    if not control:
        raise RuntimeError(f"pid {pid}: no command line, no positive control for a key scan")
    res = {"hits": 0, "control": 0, "bytes": 0}
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            if f[1][0] != "r" or "[vvar" in line or "[vsyscall]" in line or hi - lo >= 4 << 30:
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except OSError:
                continue
            res["hits"] += sum(data.count(n) for n in needles)
            res["control"] += data.count(control)
            res["bytes"] += len(data)
    return res


def memory_hits(pid, needles):
    """How many times any needle occurs in the process's readable memory.
    Raises if the scan read nothing or missed its positive control: then a
    zero would only mean that the scan saw nothing."""
    scan = memory_scan(pid, needles)
    if scan["bytes"] == 0 or scan["control"] == 0:
        raise RuntimeError(f"pid {pid}: the key scan read {scan['bytes']} bytes and found its "
                           f"positive control {scan['control']} times: it proves nothing")
    return scan["hits"]


def wait_for(pred, seconds, step=0.1):
    """Poll pred until it is true or seconds have passed (instead of sleeping
    a guessed time and checking once); returns its last value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()
