#!/usr/bin/python3
"""Hardening at start (suite "hostile"): each daemon started alone, with a
small configuration (no lab, no network namespace), must refuse to start
where it could not keep its keys safe:
  1. the data plane with its control socket in a directory others may
     write: exit 3, the directory named, no socket made;
  2. the data plane unable to lock its memory (run without CAP_IPC_LOCK
     and with RLIMIT_MEMLOCK 64 KiB, so mlockall fails for real): exit 3,
     "refusing to hold keys", no socket; with hardening.required = false
     it starts, says why it should not have, and answers on its socket;
  3. hardening.required that is not a boolean: exit 1, file:line:setting;
  4. migsec-control started as root without mgmt.user, or with mgmt.user
     root: exit 1 (with --check too), saying so;
  5. migsec-control started as root with mgmt.user: it runs as that user
     with every page locked (VmLck about VmSize) and of root's
     capabilities only CAP_IPC_LOCK (so that the locked memory may grow).
The data plane's ports are net_null: no packet moves, nothing is shared
with a lab (its EAL prefix carries MIGSEC_LAB_PREFIX).
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import BUILD, DPCTL, TOP, check, log  # noqa: E402

DP = os.path.join(BUILD, "dataplane", "migsec-dataplane")
CONTROL = os.path.join(BUILD, "control", "migsec-control")
PREFIX = os.environ.get("MIGSEC_LAB_PREFIX", "") + "ithard"
CAP_IPC_LOCK = 14


def dp_conf(d, sock, extra=""):
    path = os.path.join(d, "dp.conf")
    with open(path, "w") as f:
        f.write('name = "hard";\n'
                f'eal: {{ lcores = "0@0,1@1"; main_lcore = 0; file_prefix = "{PREFIX}"; '
                'memory_mb = 128; hugepages = "no"; };\n'
                f'crypto: {{ profile = "aesni_gcm"; profile_dir = "{TOP}/pmd-profiles"; '
                'sessions = 64; };\n'
                'inner: { device = "net_null0"; ipv4 = "192.0.2.253/24"; };\n'
                'outer: { device = "net_null1"; ipv4 = "203.0.113.1/24"; };\n'
                'limits: { mbufs = 2048; max_sa = 16; };\n'
                'poll: { mode = "adaptive"; };\n'
                f'control: {{ socket = "{sock}"; }};\n' + extra)
    return path


def run_dp(conf, wrap=(), timeout=20):
    """A data plane that must refuse to start: its exit, or None (and stopped) if it runs."""
    try:
        return subprocess.run(list(wrap) + [DP, "-c", conf], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(e.cmd, None, "", (e.stderr or b"").decode())


def socket_dir(d):
    bad = os.path.join(d, "open")
    os.mkdir(bad)
    os.chmod(bad, 0o777)
    sock = os.path.join(bad, "dp.sock")
    r = run_dp(dp_conf(d, sock))
    msg = [ln for ln in r.stderr.splitlines() if ln.startswith("migsec-dataplane:")]
    check(r.returncode == 3 and any(f"control socket directory {bad}" in m and "refused" in m
                                    for m in msg),
          f"socket directory mode 0777: exit 3, refused ({r.returncode}: {msg})")
    check(not os.path.exists(sock), "no socket was made there")


# Without CAP_IPC_LOCK (gone from the bounding set, so from root's
# capabilities after exec) and with 64 KiB of lockable memory: mlockall fails.
NO_LOCK = ("prlimit", "--memlock=65536:65536", "setpriv", "--inh-caps=-ipc_lock",
           "--bounding-set=-ipc_lock")


def unlocked(d):
    sock = os.path.join(d, "dp.sock")
    r = run_dp(dp_conf(d, sock), NO_LOCK)
    msg = [ln for ln in r.stderr.splitlines() if ln.startswith("migsec-dataplane:")]
    check(r.returncode == 3 and any("mlockall" in m and "refusing to hold keys" in m
                                    for m in msg),
          f"mlockall failing: exit 3, refusing to hold keys ({r.returncode}: {msg})")
    check(not os.path.exists(sock), "no control socket was opened")
    conf = dp_conf(d, sock, "hardening: { required = false; };\n")
    p = subprocess.Popen(list(NO_LOCK) + [DP, "-c", conf], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    try:
        up = False
        for _ in range(100):
            if subprocess.run([DPCTL, "-s", sock, "ping"], capture_output=True).returncode == 0:
                up = True
                break
            if p.poll() is not None:
                break
            time.sleep(0.2)
        check(up, "hardening.required = false: it starts anyway and answers")
    finally:
        p.send_signal(signal.SIGTERM)
        out = p.communicate(timeout=30)[0]
    check("starting anyway (hardening.required = false)" in out and "mlockall" in out,
          "... and logs why it should not have")


def bad_flag(d):
    conf = dp_conf(d, os.path.join(d, "dp.sock"), 'hardening: { required = "yes"; };\n')
    r = subprocess.run([DP, "-c", conf, "--check"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and f"{conf}:9: setting 'hardening.required'" in r.stderr,
          f"hardening.required = \"yes\": exit 1, file:line:setting ({r.stderr.strip()})")


def tls_files(d):
    key, cert = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-subj", "/CN=hard", "-days", "2"], check=True, capture_output=True,
                   timeout=30)
    return key, cert


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ctl_conf(d, user_line, port):
    key, cert = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
    path = os.path.join(d, "ctl.conf")
    with open(path, "w") as f:
        f.write('name = "hard";\n'
                f'mgmt: {{ listen = "127.0.0.1:{port}"; ca = "{cert}"; cert = "{cert}"; '
                f'key = "{key}"; clients = ( {{ identity = "CN=migsecctl"; role = "operator"; }} ); '
                f'peers = [ "203.0.113.2" ]; {user_line} }};\n'
                f'control: {{ socket = "{d}/none.sock"; }};\n')
    return path


def control_as_root(d):
    tls_files(d)
    port = free_port()
    for line, why in (("", "without mgmt.user"), ('user = "root";', "with mgmt.user root")):
        conf = ctl_conf(d, line, port)
        for args in (["--check"], []):
            r = subprocess.run([CONTROL, "-c", conf] + args, capture_output=True, text=True,
                               timeout=30)
            check(r.returncode == 1 and ("mgmt.user" in r.stderr) and "root" in r.stderr,
                  f"migsec-control as root {why} {' '.join(args)}: exit 1 ({r.stderr.strip()})")
    conf = ctl_conf(d, 'user = "nobody";', port)
    p = subprocess.Popen([CONTROL, "-c", conf], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    try:
        status = {}
        for _ in range(50):
            time.sleep(0.2)
            with open(f"/proc/{p.pid}/status") as f:
                status = dict(ln.split(":", 1) for ln in f if ":" in ln)
            if status.get("Uid", "").split()[:1] == ["65534"]:  # after binding and loading
                break
        kb = {k: int(status.get(k, "0 kB").split()[0]) for k in ("VmLck", "VmSize")}
        check(status.get("Uid", "").split()[0] == "65534", "migsec-control runs as nobody")
        check(kb["VmLck"] >= kb["VmSize"] * 0.9 and kb["VmLck"] > 8 << 10,
              f"every page locked: VmLck {kb['VmLck']} kB of VmSize {kb['VmSize']} kB")
        caps = int(status["CapEff"], 16), int(status["CapPrm"], 16)
        check(caps == (1 << CAP_IPC_LOCK, 1 << CAP_IPC_LOCK),
              f"of root's capabilities only CAP_IPC_LOCK (effective, permitted: "
              f"{caps[0]:#x}, {caps[1]:#x})")
        check(p.poll() is None, "and it keeps running (its locked memory may grow)")
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)


def main():
    if os.geteuid() != 0:
        print("hardening test: needs root")
        return 77
    t0 = time.monotonic()
    d = tempfile.mkdtemp(prefix="migsec-hard-")
    try:
        socket_dir(d)
        unlocked(d)
        bad_flag(d)
        control_as_root(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(f"/var/run/dpdk/{PREFIX}", ignore_errors=True)
    log(f"hardening: {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
