"""QEMU processes on the lab's hypervisor hosts (network namespaces) for the
VM demo: start one (as a source or as an incoming destination), read the
guest's status, dump and hash its memory, account its CPU time, stop it.

QMP goes through a unix socket in the run's work directory: the namespaces
share the file system, so no QMP crosses a network here.
"""
import hashlib
import importlib.util
import os
import subprocess
import threading
import time

from guest import STATUS_ADDR, parse_status

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QEMU = "qemu-system-x86_64"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def load_migrate_vm():
    """scripts/migrate-vm.py as a module (the operator script the demo uses)."""
    spec = importlib.util.spec_from_file_location(
        "migrate_vm", os.path.join(TOP, "scripts", "migrate-vm.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


mv = load_migrate_vm()


class Vm:
    """One QEMU process. `incoming`: started with -incoming defer (and -S
    when `paused`, so that it stays stopped after the migration)."""

    def __init__(self, lab, host, name, workdir, guest, params_file, mem_mib, accel,
                 incoming=False, paused=False, tls_dir=None):
        self.lab, self.host, self.name = lab, host, name
        self.qmp_path = os.path.join(workdir, f"{name}.qmp")
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.mem = mem_mib << 20
        # debug-threads: QEMU names its threads ("CPU 0/TCG", "CPU 0/KVM"),
        # else all are "qemu-system-x86" and cpu() cannot tell the vCPUs apart
        cmd = [QEMU, "-name", f"{name},debug-threads=on", "-M", f"q35,accel={accel}", "-m", str(mem_mib), "-smp", "1",
               "-nodefaults", "-no-user-config", "-display", "none", "-serial", "none",
               "-monitor", "none", "-kernel", guest,
               "-device", f"loader,file={params_file},addr=0x200000,force-raw=on",
               "-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        if tls_dir:
            # both ends of QEMU's own TLS: it accepts (server) and, once it
            # runs the VM, migrates it away (client)
            cmd += ["-object", f"tls-creds-x509,id=tls-in,dir={tls_dir},endpoint=server,"
                    "verify-peer=on",
                    "-object", f"tls-creds-x509,id=tls-out,dir={tls_dir},endpoint=client"]
        if incoming:
            cmd += ["-incoming", "defer"]
        if paused:
            cmd.append("-S")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(["ip", "netns", "exec", lab.ns(host), *cmd],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.pid = self.proc.pid  # ip netns exec execs QEMU in place
        self._wait_qmp()

    def _wait_qmp(self, timeout=30):
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.qmp_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: QEMU did not start: {self.log()}")
            time.sleep(0.05)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read().strip()[-2000:]

    def qmp(self):
        """A QMP session (QEMU takes one client at a time: close it)."""
        return mv.Qmp(self.qmp_path, timeout=120)

    def do(self, name, **args):
        q = self.qmp()
        try:
            return q.cmd(name, **args)
        finally:
            q.close()

    def status(self):
        q = self.qmp()
        try:
            st = parse_status(q.hmp(f"xp /4wx {STATUS_ADDR:#x}"))
            st["runstate"] = q.cmd("query-status")["status"]
            return st
        finally:
            q.close()

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if st["fault"]:
                raise RuntimeError(f"{self.name}: the guest stopped: {st['fault']}")
            if st["runstate"] in ("internal-error", "shutdown", "guest-panicked"):
                # e.g. kvm_pvm's instruction emulator cannot run the guest's iret
                raise RuntimeError(f"{self.name}: QEMU stopped the VM ({st['runstate']}): "
                                   f"{self.log()[-600:]}")
            if st["ready"] and st["ticks"] > 2:
                return st
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: guest not ready after {timeout} s ({st})")
            time.sleep(0.5)

    def memory_digest(self, fifo_dir, marker):
        """SHA-256 of all guest RAM (pmemsave into a FIFO, hashed as it
        streams: nothing is written to disk) and how often the marker occurs."""
        fifo = os.path.join(fifo_dir, f"{self.name}.mem")
        os.mkfifo(fifo, 0o600)
        out = {}

        def reader():
            h, count, tail = hashlib.sha256(), 0, b""
            with open(fifo, "rb") as f:
                while True:
                    chunk = f.read(1 << 20)
                    if not chunk:
                        break
                    h.update(chunk)
                    buf = tail + chunk
                    count += buf.count(marker)
                    # keep a tail shorter than the marker: no match counted twice
                    tail = buf[-(len(marker) - 1):]
            out.update(sha256=h.hexdigest(), markers=count)

        t = threading.Thread(target=reader)
        t.start()
        try:
            self.do("pmemsave", val=0, size=self.mem, filename=fifo)
        finally:
            t.join(timeout=300)
            os.unlink(fifo)
        return out

    def cpu(self):
        """(all threads, vCPU threads) CPU seconds so far. Exited threads
        (QEMU's migration threads end with the migration) stay counted in
        the process's total."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / CLK_TCK
        vcpu, found = 0.0, 0
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            try:
                with open(f"/proc/{self.pid}/task/{tid}/comm") as f:
                    if not f.read().startswith("CPU "):
                        continue
                with open(f"/proc/{self.pid}/task/{tid}/stat") as f:
                    tf = f.read().rsplit(")", 1)[1].split()
                vcpu += (int(tf[11]) + int(tf[12])) / CLK_TCK
                found += 1
            except FileNotFoundError:
                continue
        if not found:  # the split would silently count the guest as QEMU's overhead
            raise RuntimeError(f"{self.name}: no vCPU thread (\"CPU n/...\") in QEMU {self.pid}")
        return total, vcpu

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.do("quit")
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 - whatever happened, it must go
                self.proc.kill()
                self.proc.wait()
        if os.path.exists(self.qmp_path):
            os.unlink(self.qmp_path)


def make_tls_pki(workdir, hosts):
    """QEMU's TLS material, made now with the openssl CLI (never kept): a CA
    and, per host, a server certificate naming the host's address (or
    each of a list of them: the hosts' link through the appliances and the
    direct one) and a client certificate, in the file names tls-creds-x509
    expects. Returns {host: directory}."""
    ca_dir = os.path.join(workdir, "qemu-ca")
    os.makedirs(ca_dir, mode=0o700)
    ca_key, ca_pem = os.path.join(ca_dir, "ca.key"), os.path.join(ca_dir, "ca.pem")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", "-new", *ec, "-keyout", ca_key, "-out", ca_pem, "-days", "2",
             "-subj", "/CN=migsec demo QEMU TLS CA")
    dirs = {}
    for host, addr in hosts.items():
        d = os.path.join(workdir, f"qemu-tls-{host}")
        os.makedirs(d, mode=0o700)
        with open(ca_pem, "rb") as src, open(os.path.join(d, "ca-cert.pem"), "wb") as dst:
            dst.write(src.read())
        san = ",".join(f"IP:{x}" for x in ([addr] if isinstance(addr, str) else addr))
        for role, ext in (("server", f"subjectAltName={san}\nextendedKeyUsage=serverAuth"),
                          ("client", "extendedKeyUsage=clientAuth")):
            key, csr = os.path.join(d, f"{role}-key.pem"), os.path.join(d, f"{role}.csr")
            extf = os.path.join(d, f"{role}.ext")
            with open(extf, "w") as f:
                f.write(ext + "\nkeyUsage=digitalSignature\n")
            _openssl("req", "-new", *ec, "-keyout", key, "-out", csr,
                     "-subj", f"/CN=host-{host}-{role}")
            _openssl("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key,
                     "-CAcreateserial", "-out", os.path.join(d, f"{role}-cert.pem"),
                     "-days", "2", "-extfile", extf)
            os.unlink(csr)
            os.unlink(extf)
        dirs[host] = d
    return dirs


def _openssl(*args):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {args[0]}: {r.stderr.strip()}")
