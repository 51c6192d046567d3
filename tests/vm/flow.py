"""The VM demo's steps on a running lab: one VM that moves between the
lab's two hypervisor hosts, each move done by scripts/migrate-vm.py.

- checked(): a migration through the appliances under policy `required`,
  with captures of the outer link, a rekey halfway, the memory of both
  ends hashed, the destination resumed, the appliances scanned for keys.
- timed(): a migration measured for the comparison a user makes (MODES):
  on the hosts' direct link without appliances (plaintext, QEMU's TLS,
  QEMU's TLS with multifd) or through migsec (plaintext, multifd, multifd
  with zero-copy-send), CPU seconds split by host.

Every result is a dict; nothing here prints except through `log`.
"""
import json
import os
import time

from guest import params
from qemu import CLK_TCK, Vm, mv

import migsec_lab
from dpdk_capture import DumpCapture
from espscan import scan_pcap
from migsec_lab import DIRECT, HOST, OUTER, appliance, derive, memory_scan

PORT = 4444
SCAN_MIN_BYTES = 1 << 20  # a key scan that read less than this read nothing
OTHER = {"A": "B", "B": "A"}
APP = {"A": "apA", "B": "apB"}
# The comparison's modes: the link (direct: the hosts' own link, no
# appliance on the path; else through both appliances, policy required),
# QEMU's TLS, multifd, zero-copy-send (QEMU allows it only with multifd and
# without TLS).
MODES = {
    "plain": {"direct": True, "tls": False, "multifd": False, "zc": False},
    "tls": {"direct": True, "tls": True, "multifd": False, "zc": False},
    "tls-multifd": {"direct": True, "tls": True, "multifd": True, "zc": False},
    "migsec": {"direct": False, "tls": False, "multifd": False, "zc": False},
    "migsec-multifd": {"direct": False, "tls": False, "multifd": True, "zc": False},
    "migsec-zc": {"direct": False, "tls": False, "multifd": True, "zc": True},
}


class Flow:
    def __init__(self, lab, workdir, guest, mem_mib, accel, marker, dirty, multifd, tls_dirs,
                 log, timeout=600, seed=None):
        self.lab, self.workdir, self.guest = lab, workdir, guest
        self.mem_mib, self.accel, self.marker = mem_mib, accel, marker
        self.multifd, self.tls_dirs, self.log, self.timeout = multifd, tls_dirs, log, timeout
        self.params = os.path.join(workdir, "params.bin")
        with open(self.params, "wb") as f:
            f.write(params(marker, dirty, seed or int.from_bytes(os.urandom(4), "little") | 1))
        self.vm, self.host, self.n = None, None, 0
        self.vms = []

    # ---- VMs
    def _vm(self, host, incoming, paused=False):
        self.n += 1
        vm = Vm(self.lab, host, f"vm{self.n}-{host}", self.workdir, self.guest, self.params,
                self.mem_mib, self.accel, incoming=incoming, paused=paused,
                tls_dir=self.tls_dirs.get(host))
        self.vms.append(vm)
        return vm

    def boot(self, host, timeout):
        self.vm, self.host = self._vm(host, incoming=False), host
        return self.vm.wait_ready(timeout)

    def stop_all(self):
        for vm in self.vms:
            vm.stop()

    # ---- one migration with scripts/migrate-vm.py
    def _args(self, mig_id, policy, tls, rekey_at, multifd, direct):
        pki = os.path.join(self.lab.dir, "pki")
        src, dst = self.host, OTHER[self.host]
        addr = DIRECT if direct else {h: HOST[h][4] for h in HOST}
        ctl = (f"ip netns exec {self.lab.name}-mg {migsec_lab.MIGSECCTL} --ca {pki}/ca.pem "
               f"--cert {pki}/mgmt.pem --key {pki}/mgmt.key")
        argv = ["--src-qmp", self.vm.qmp_path, "--dst-qmp", self.dst.qmp_path,
                "--src-host", addr[src], "--dst-host", addr[dst], "--port", str(PORT),
                "--id", mig_id, "--vm", "demo-vm", "--policy", policy,
                "--source", appliance(APP[src]), "--destination", appliance(APP[dst]),
                "--source-outer", OUTER[src][4], "--destination-outer", OUTER[dst][4],
                "--migsecctl", ctl, "--multifd", str(multifd),
                "--timeout", str(self.timeout), "--rekey-at", str(rekey_at)]
        if direct:
            argv.append("--no-migsec")
        if tls:
            argv += ["--tls-creds-source", "tls-out", "--tls-creds-destination", "tls-in"]
        return mv.parse_args(argv)

    def _migrate(self, mig_id, policy, tls=False, rekey_at=0, paused=False, secret=None,
                 multifd=None, direct=False):
        dst_host = OTHER[self.host]
        self.dst = self._vm(dst_host, incoming=True, paused=paused)
        before = {a: self.lab.stats(a) for a in ("apA", "apB")}
        cpu = {}
        hooks = {"started": lambda: cpu.update(t0=self._cpu()),
                 "completed": lambda: cpu.update(t1=self._cpu())}
        args = self._args(mig_id, policy, tls, rekey_at,
                          self.multifd if multifd is None else multifd, direct)
        try:
            r = mv.run(args, secret=secret, hooks=hooks, log=self.log)
        except BaseException:
            self.dst.stop()  # the source keeps the VM (QEMU resumes it)
            self.vms.remove(self.dst)
            raise
        after = {a: self.lab.stats(a) for a in ("apA", "apB")}
        r["appliances"] = {a: delta(before[a], after[a]) for a in before}
        r["cpu"] = cpu_delta(cpu["t0"], cpu["t1"], APP[self.host], APP[dst_host])
        r["from"], r["to"], r["direct"] = self.host, dst_host, direct
        self.src_vm, self.vm, self.host = self.vm, self.dst, dst_host
        return r

    def _cpu(self):
        """A snapshot for cpu_delta(): QEMU CPU seconds of each end, split
        into vCPU threads (the guest's own work) and the rest, and per
        appliance its process's CPU seconds and per worker its time on a
        core and its busy, idle and port I/O cycles."""
        snap = {"qemu": {}, "vcpu": 0.0, "dp": {}, "workers": {}}
        for end, vm in (("src", self.vm), ("dst", self.dst)):
            total, vcpu = vm.cpu()
            snap["qemu"][end] = total - vcpu
            snap["vcpu"] += vcpu
        for a in ("apA", "apB"):
            s = self.lab.stats(a)
            pid = self.lab.pid(a)
            snap["dp"][a] = proc_cpu_s(pid)
            for w in s["workers"]:
                snap["workers"][(a, w["lcore"])] = (thread_run_s(pid, f"rte-worker-{w['lcore']}"),
                                                    w["busy_cycles"], w["idle_cycles"],
                                                    w["io_cycles"])
        return snap

    def _retire_source(self):
        self.src_vm.stop()
        self.vms.remove(self.src_vm)

    # ---- the checked migration
    def checked(self, mig_id, secret):
        """Migrates the VM to the other host through the appliances (policy
        required), with captures, a rekey at 50 %, memory hashes and the
        key scan. Returns (result, checks) where checks is a list of
        (ok, text)."""
        src_app, dst_app = APP[self.host], APP[OTHER[self.host]]
        # each side's capture sees what arrives on its outer port (a memif
        # link has no veth: dpdk-dumpcap on each side's memif port, which
        # sees what the port sends too)
        if self.lab.outer == "memif":
            c1 = DumpCapture(self.lab, dst_app, count=10 ** 9, seconds=self.timeout)
            c2 = DumpCapture(self.lab, src_app, count=10 ** 9, seconds=self.timeout)
        else:
            c1 = self.lab.capture(dst_app, count=10 ** 9, seconds=self.timeout, buffer_kib=65536)
            c2 = self.lab.capture(src_app, count=10 ** 9, seconds=self.timeout, buffer_kib=16384)
        try:
            return self._checked(mig_id, secret, c1, c2, src_app, dst_app)
        finally:
            for c in (c1, c2):  # a whole migration: up to gigabytes
                if os.path.exists(c.path):
                    os.unlink(c.path)

    def _checked(self, mig_id, secret, c1, c2, src_app, dst_app):
        checks = []
        pids = {n: self.lab.pid(n) for n in ("apA", "apB", "apA-control", "apB-control")}
        with c1, c2:
            r = self._migrate(mig_id, "required", rekey_at=50, paused=True, secret=secret)
        r["captures"] = {dst_app: c1.summary, src_app: c2.summary}

        # (a) the destination holds the source's memory, and runs it
        st = self.vm.status()
        checks.append((st["runstate"] == "paused",
                       f"destination VM paused after the migration (-S): {st['runstate']}"))
        d_src = self.src_vm.memory_digest(self.workdir, self.marker)
        d_dst = self.vm.memory_digest(self.workdir, self.marker)
        r["memory"] = {"source": d_src, "destination": d_dst}
        checks.append((d_src["sha256"] == d_dst["sha256"] and d_src["markers"] > 0,
                       f"guest memory identical on both hosts: SHA-256 {d_dst['sha256'][:16]}... "
                       f"of {self.mem_mib} MiB, marker in {d_dst['markers']} pages"))
        self.vm.do("cont")
        t0 = self.vm.status()
        time.sleep(1.5)
        t1 = self.vm.status()
        r["resumed"] = {"ticks_before": t0["ticks"], "ticks_after": t1["ticks"]}
        checks.append((t1["runstate"] == "running" and t1["ticks"] > t0["ticks"]
                       and not t1["fault"],
                       f"the VM runs on host {self.host} after `cont`: heartbeat {t0['ticks']} -> "
                       f"{t1['ticks']} in 1.5 s"))
        self._retire_source()

        # (b) the outer link: ESP only, all of it opens, no marker
        gens = range(0, 3)  # 0, 1 after the rekey, 2 announced as the next inbound
        lanes = r["status"][src_app]["migrations"][0]["lanes"]
        keys = {(d, g, lane): derive(secret, mig_id, d, g, lane)
                for d in ("s2d", "d2s") for g in gens for lane in range(lanes)}
        sas = {k["spi"]: k["key"] + k["salt"] for k in keys.values()}
        pairs = {(HOST["A"][4], HOST["B"][4]), (HOST["B"][4], HOST["A"][4])}
        r["wire"] = {}
        for app, cap in ((dst_app, c1), (src_app, c2)):
            res = scan_pcap(cap.path, sas, pairs, self.marker)
            os.unlink(cap.path)
            res["received_by_appliance"] = r["appliances"][app]["ports"]["outer"]["rx_pkts"]
            res["per_spi"] = {f"{k:#x}": v for k, v in res["per_spi"].items()}
            r["wire"][app] = res
        w = r["wire"][dst_app]
        back = r["wire"][src_app]
        checks.append((w["bad_count"] == 0 and back["bad_count"] == 0 and w["esp"] > 0
                       and w["opened"] == w["esp"] and back["opened"] == back["esp"],
                       f"outer link: {w['frames'] + back['frames']} frames captured, "
                       f"{w['esp'] + back['esp']} ESP-in-UDP, all opened with keys derived here, "
                       f"{w['control'] + back['control']} ARP, "
                       f"{w['bad_count'] + back['bad_count']} anything else"))
        checks.append((w["marker_on_wire"] == 0 and back["marker_on_wire"] == 0
                       and w["marker_in_plaintext"] > 0,
                       f"the guest's marker: {w['marker_on_wire'] + back['marker_on_wire']} times "
                       f"on the wire, {w['marker_in_plaintext']} times in the opened packets"))
        gens_used = sorted({g for (d, g, _), k in keys.items()
                            if d == "s2d" and f"{k['spi']:#x}" in w["per_spi"]})
        checks.append((gens_used == [0, 1],
                       f"rekey halfway: source-to-destination packets under generations "
                       f"{gens_used}"))

        # (c) after `end`, no key of the migration on either appliance
        # each scan must find its positive control and have read something
        needles = [secret[:32]] + [k["key"] for k in keys.values()]
        scans = {n: memory_scan(pid, needles) for n, pid in pids.items()}
        r["key_hits"] = {n: sc["hits"] for n, sc in scans.items()}
        r["key_scan"] = {n: {"bytes": sc["bytes"], "control": sc["control"]}
                         for n, sc in scans.items()}
        for n, sc in scans.items():
            checks.append((sc["control"] >= 1 and sc["bytes"] >= SCAN_MIN_BYTES,
                           f"key scan of {n}: {sc['bytes'] >> 20} MiB read, its command line "
                           f"found {sc['control']} times"))
            checks.append((sc["hits"] == 0, f"no key of the migration in {n}'s memory after end"))
        checks.append(("end_error" not in r, "migsecctl end done on both appliances"))
        r["audit"] = audit_lines(self.lab, mig_id)
        return r, checks

    # ---- the comparison
    def timed(self, mode, mig_id, channels=2):
        """One measured migration to the other host in one of MODES (multifd
        modes with `channels` channels). Raises mv.QmpError or RuntimeError
        with QEMU's own words when QEMU refuses or fails the mode."""
        m = MODES[mode]
        if m["direct"] and not self.lab.direct:
            raise ValueError(f"mode {mode} needs the lab's direct link (Lab(direct=True))")
        if m["tls"] and not self.tls_dirs:
            raise ValueError(f"mode {mode} needs QEMU's TLS material (make_tls_pki)")
        if m["zc"]:
            self._zero_copy(self.vm, True)
        try:
            r = self._migrate(mig_id, "disabled" if m["direct"] else "required", tls=m["tls"],
                              multifd=channels if m["multifd"] else 0, direct=m["direct"])
        except (mv.QmpError, RuntimeError):
            if m["zc"]:
                self._zero_copy(self.vm, False)
            raise
        caps = {c["capability"]: c["state"] for c in self.src_vm.do("query-migrate-capabilities")}
        r["zero_copy"] = caps.get("zero-copy-send", False)
        r["zero_copy_missed"] = (self.src_vm.do("query-migrate").get("ram", {})
                                 .get("dirty-sync-missed-zero-copy", 0))
        st = self.vm.status()
        r["mode"] = mode
        r["runs"] = st["runstate"] == "running" and not st["fault"]
        self._retire_source()
        return r

    @staticmethod
    def _zero_copy(vm, on):
        """zero-copy-send (it needs multifd) on or off on a source QEMU
        before migrate-vm.py sets its own capabilities; QEMU's refusal
        (mv.QmpError) carries its message. A VM that arrived by a TLS
        migration keeps its tls-creds, which QEMU would refuse zero-copy
        for: cleared first (migrate-vm.py clears it too)."""
        caps = [{"capability": "multifd", "state": on},
                {"capability": "zero-copy-send", "state": on}]
        if on:
            vm.do("migrate-set-parameters", **{"tls-creds": ""})
        vm.do("migrate-set-capabilities", capabilities=caps if on else caps[::-1])

    def zero_copy_with_tls(self):
        """What QEMU says to zero-copy-send with TLS (the source VM's
        tls-creds set, then the capability): its refusal, or None if it
        took it. Leaves both unset."""
        self.vm.do("migrate-set-parameters", **{"tls-creds": "tls-out"})
        caps = [{"capability": "multifd", "state": True},
                {"capability": "zero-copy-send", "state": True}]
        try:
            self.vm.do("migrate-set-capabilities", capabilities=caps)
        except mv.QmpError as e:
            return qemu_words(e)
        finally:
            try:
                self._zero_copy(self.vm, False)
            finally:
                self.vm.do("migrate-set-parameters", **{"tls-creds": ""})
        return None


def qemu_words(e):
    """QEMU's own message in a QmpError ("ADDR: COMMAND: message") or a
    failed migration's RuntimeError ("migration failed: message")."""
    text = str(e)
    if isinstance(e, mv.QmpError) and text.count(": ") >= 2:
        return text.split(": ", 2)[2]
    return text


def thread_run_s(pid, name):
    """Seconds the thread named `name` of process pid spent on a CPU."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip() != name:
                continue
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    raise RuntimeError(f"process {pid} has no thread {name}")


def proc_cpu_s(pid):
    """user + sys CPU seconds of process pid so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_delta(t0, t1, src_app, dst_app):
    """CPU seconds between two snapshots. qemu_src, qemu_dst: each QEMU
    without its vCPU threads; `qemu` both. `dp`: user + sys of both data
    plane processes, what they really took from the machine (a busy-polling
    worker is always on its core). app_src, app_dst (the source host's and
    the destination host's appliance): the part spent on packets, each
    worker's time on a core times the share of its loop cycles that moved
    packets (busy / (busy + idle)); *_noio the same without the cycles
    inside the ports' RX/TX bursts (virtual ports: copies a NIC's DMA
    makes). `appliances`, `appliances_noio`: both appliances."""
    out = {"qemu_src": t1["qemu"]["src"] - t0["qemu"]["src"],
           "qemu_dst": t1["qemu"]["dst"] - t0["qemu"]["dst"], "vcpu": t1["vcpu"] - t0["vcpu"],
           "dp": sum(t1["dp"][a] - t0["dp"][a] for a in t1["dp"])}
    out["qemu"] = out["qemu_src"] + out["qemu_dst"]
    busy = {(a, k): 0.0 for a in (src_app, dst_app) for k in ("busy", "noio")}
    for (app, lcore), (run1, busy1, idle1, io1) in t1["workers"].items():
        run0, busy0, idle0, io0 = t0["workers"][(app, lcore)]
        cycles = (busy1 - busy0) + (idle1 - idle0)
        if cycles > 0:
            busy[(app, "busy")] += (run1 - run0) * (busy1 - busy0) / cycles
            busy[(app, "noio")] += (run1 - run0) * (busy1 - busy0 - (io1 - io0)) / cycles
    for end, app in (("src", src_app), ("dst", dst_app)):
        out[f"app_{end}"], out[f"app_{end}_noio"] = busy[(app, "busy")], busy[(app, "noio")]
    out["appliances"] = out["app_src"] + out["app_dst"]
    out["appliances_noio"] = out["app_src_noio"] + out["app_dst_noio"]
    return out


def delta(a, b):
    """Counter differences between two migsec-dpctl stats --json."""
    out = {k: b[k] - a[k] for k in b if isinstance(b[k], int) and k != "tsc_hz"}
    out["drops"] = {k: b["drops"][k] - a["drops"].get(k, 0) for k in b["drops"]}
    out["ports"] = {p: {k: v - a["ports"][p][k] for k, v in b["ports"][p].items()
                        if isinstance(v, int)} for p in b["ports"]}
    out["tsc_hz"] = b["tsc_hz"]
    return out


def audit_lines(lab, mig_id):
    lines = []
    for app in ("apA", "apB"):
        with open(os.path.join(lab.dir, f"{app}-audit.jsonl")) as f:
            for line in f:
                e = json.loads(line)
                if e.get("migration") == mig_id:
                    lines.append(e)
    return sorted(lines, key=lambda e: e.get("ts", ""))

