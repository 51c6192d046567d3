#!/usr/bin/python3
"""Secrets (suite "hostile"): where keys must not be, beyond it_control's scan
after `end` and it_lifecycle's after an SA delete.

In the memory of the data plane and of migsec-control (/proc/PID/mem), on
both appliances, no byte string of a migration's keys (the one-shot key and
every ESP key derived from it, docs/management.md, "Key derivation"):
  1. after its lifetime ran out and migsec-control ended it (audited "timeout");
  2. after its lifetime ran out while migsec-control was dead: the data
     plane's own deadline removed its SAs;
  3. after SIGTERM: each process is held at the very end of its exit (a
     preloaded helper stops it after every atexit handler) and scanned
     before it vanishes (appliance A's data plane crashes instead); then no
     hugepage file on the machine holds a key.
Then none in any log or audit file of the lab, in hex or base64 either, and
no core dump: RLIMIT_CORE is 0 in both daemons, and after the limit is
raised from outside (prlimit), a crash (SIGSEGV) still leaves no core
because the process is not dumpable (a plain process crashed the same way
with the same limit does leave one, so the method can tell). And no swap:
every page of both migsec-control is locked (VmLck).
"""
import base64
import glob
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import (BUILD, HOST, Lab, appliance, check, ctl, derive, log,  # noqa: E402
                        memory_hits, start_migration)
from skips import exit_code, skip  # noqa: E402

SEL = f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32"
STOP_LIB = os.environ.get("STOP_AT_EXIT", "")
DAEMONS = ("apA", "apB", "apA-control", "apB-control")


def prk_of(secret):
    """What migsec-control keeps of the one-shot key: HKDF-Extract (docs/management.md)."""
    from cryptography.hazmat.primitives import hashes, hmac

    h = hmac.HMAC(b"migsec-v1" + secret[32:40], hashes.SHA256())
    h.update(secret[:32])
    return h.finalize()


def keys_of(secret, mig):
    """The one-shot key, its PRK, and every ESP key the migration can have derived."""
    ks = [secret[:32], prk_of(secret)]
    for d in ("s2d", "d2s"):
        for g in range(3):
            ks.append(derive(secret, mig, d, g)["key"])
    return ks


def audit(lab, app):
    with open(f"{lab.dir}/{app}-audit.jsonl") as f:
        return [json.loads(line) for line in f]


def wait_for(pred, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def pid(lab, name):
    return lab.pid(name)


def start_control(lab, app, env):
    logf = open(os.path.join(lab.dir, f"{app}-control.log"), "a")
    p = subprocess.Popen(["ip", "netns", "exec", lab.ns(app),
                          os.path.join(BUILD, "control", "migsec-control"), "-c",
                          os.path.join(lab.dir, f"{app}.conf")], stdout=logf, stderr=logf,
                         start_new_session=True, env=dict(os.environ, **env))
    with open(os.path.join(lab.dir, f"{app}-control.pid"), "w") as f:
        f.write(str(p.pid))
    lab.procs.append(p)
    check(wait_for(lambda: ctl(lab, "--timeout", "2", "health", appliance(app),
                               check=False).returncode == 0, 20), f"{app}'s migsec-control is back")


def scan_all(lab, needles, names=DAEMONS):
    return {n: memory_hits(pid(lab, n), needles) for n in names}


def expiry_with_control(lab):
    secret = os.urandom(40)
    # Long enough for the scan below to finish before the lifetime ends: two
    # data planes of ~400 MiB each take seconds to read on a loaded machine
    # (with 8 s, a CI rehearsal once scanned apB after its SAs had expired).
    r = start_migration(lab, "t1", [SEL], secret=secret, extra=("--lifetime", "20"))
    check(r.returncode == 0, "migration t1 started with a 20 s lifetime")
    lab.ping("A", HOST["B"][4], count=2)
    keys = keys_of(secret, "t1")
    before = scan_all(lab, keys, ("apA", "apB"))
    check(before["apA"] > 0 and before["apB"] > 0,
          f"while t1 runs its keys are in both data planes ({before}): the scan finds them")
    check(wait_for(lambda: all(any(e["event"] == "timeout" and e.get("migration") == "t1"
                                   for e in audit(lab, a)) for a in ("apA", "apB")), 45),
          "both migsec-control ended t1 at its lifetime (audited: timeout)")
    after = scan_all(lab, keys)
    check(not any(after.values()), f"after the timeout no key of t1 in any process ({after})")
    return keys


def expiry_without_control(lab, env):
    secret = os.urandom(40)
    # Long enough for the kills below to come first on a loaded machine.
    r = start_migration(lab, "t2", [SEL], secret=secret, extra=("--lifetime", "8"))
    check(r.returncode == 0, "migration t2 started with an 8 s lifetime")
    keys = keys_of(secret, "t2")
    for app in ("apA", "apB"):
        os.kill(pid(lab, f"{app}-control"), signal.SIGKILL)
    log("killed both migsec-control (SIGKILL): only the data planes' own deadline is left")
    check(lab.sas("apA") and lab.sas("apB"), "t2's SAs were still there when they died")
    check(scan_all(lab, keys, ("apB",))["apB"] > 0, "t2's keys are in the data plane")
    check(wait_for(lambda: not lab.sas("apA") and not lab.sas("apB"), 30),
          "the data planes removed t2's SAs at its deadline, without migsec-control")
    after = scan_all(lab, keys, ("apA", "apB"))
    check(not any(after.values()), f"no key of t2 in either data plane ({after})")
    for app in ("apA", "apB"):
        start_control(lab, app, env)
    return keys


def state(p):
    """The process's state letter; "gone" when it no longer exists."""
    try:
        with open(f"/proc/{p}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def held_at_exit(lab, name, timeout=60):
    """Wait until the process stopped itself at the end of exit (state T)."""
    return wait_for(lambda: state(pid(lab, name)) == "T", timeout)


def exited(p):
    """Gone, or a zombie of ours (a migsec-control this test restarted)."""
    return state(p) in ("gone", "Z", "X")


def hugepage_files():
    """Every hugepage file on the machine (other DPDK processes' too)."""
    return sorted(p for p in glob.glob("/dev/hugepages/**", recursive=True) if os.path.isfile(p))


def on_hugepages(p):
    """Does the process map hugepages (unlinked ones show as '(deleted)')?"""
    with open(f"/proc/{p}/maps") as f:
        return any("/dev/hugepages/" in line for line in f)


def file_hits(paths, needles):
    hits = 0
    for p in paths:
        try:
            with open(p, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        hits += sum(data.count(n) for n in needles)
    return hits


def exit_and_crash(lab, cwd):
    """Keys everywhere (migration t3); then apA's data plane crashes (SIGSEGV)
    and the other three processes get SIGTERM, each scanned as it exits.
    Afterwards no hugepage file holds a key (eal.huge_unlink, the default,
    unlinks them once mapped; with it off the crashed data plane's files
    held its session keys, three copies here)."""
    secret = os.urandom(40)
    r = start_migration(lab, "t3", [SEL], secret=secret)
    check(r.returncode == 0, "migration t3 started")
    lab.ping("A", HOST["B"][4], count=2)
    keys = keys_of(secret, "t3")
    procs = {n: pid(lab, n) for n in DAEMONS}
    before = scan_all(lab, keys)
    check(all(before.values()), f"t3's keys are in all four processes ({before})")
    huge = {a: on_hugepages(procs[a]) for a in ("apA", "apB")}
    crash(lab, cwd)
    for name in ("apB", "apA-control", "apB-control"):
        os.kill(procs[name], signal.SIGTERM)
        check(held_at_exit(lab, name), f"{name}: SIGTERM, held at the end of its exit")
        n = memory_hits(procs[name], keys)
        check(n == 0, f"{name}: no key of t3 in its memory as it exits ({n})")
        os.kill(procs[name], signal.SIGCONT)
        check(wait_for(lambda: exited(procs[name]), 30), f"{name}: exited")
    if not all(huge.values()):
        skip("no-hugepages", f"the data planes ran without hugepages (on hugepages: {huge}; "
             f"none free): the hugepage files could not be scanned for t3's keys")
        return keys
    files = hugepage_files()
    mine = [f for f in files if os.path.basename(f).startswith(f"{lab.name}-")]
    n = file_hits(files, keys)
    check(not mine, f"the crashed and exited data planes left no hugepage file ({mine}): "
          f"eal.huge_unlink unlinked them once mapped")
    check(n == 0, f"after the crash (apA) and the exits (both on hugepages) no key of t3 in "
          f"any of the {len(files)} hugepage files on this machine ({n})")
    return keys


class SyslogCatcher:
    """Where migsec-control's syslog lines go when this machine has no
    journal: with no /dev/log at all (no syslog daemon, as in a container)
    the test binds one itself before the lab starts and keeps every line
    (glibc's syslog() connects again at each call until it succeeds)."""

    PATH = "/dev/log"

    def __init__(self):
        self.lines, self.sock = [], None
        if os.path.exists(self.PATH):
            return
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.PATH)
        os.chmod(self.PATH, 0o666)  # migsec-control runs as nobody
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        while True:
            try:
                self.lines.append(self.sock.recv(65536))
            except OSError:
                return

    def close(self):
        if self.sock is not None:
            os.unlink(self.PATH)
            self.sock.close()


def journal_lines():
    j = subprocess.run(["journalctl", "--no-pager", "-o", "cat", "-t", "migsec-control"],
                       capture_output=True, timeout=60)
    return [ln for ln in j.stdout.splitlines() if ln and not ln.startswith(b"-- ")] \
        if j.returncode == 0 else []


def logs_and_audit(lab, keys, catcher):
    texts = []
    for k in keys:
        texts += [k, k.hex().encode(), k.hex().upper().encode(), base64.b64encode(k),
                  base64.b64encode(k).rstrip(b"=")]
    files = [p for p in glob.glob(os.path.join(lab.dir, "*")) if os.path.isfile(p)]
    n = file_hits(files, texts)
    check(n == 0, f"no key, raw, hex or base64, in the lab's {len(files)} logs, audit files and "
          f"configurations ({n})")
    lines, where = journal_lines(), "the system journal"
    if catcher.sock is not None:
        lines = [ln for ln in catcher.lines if b"migsec-control[" in ln]
        where = "syslog (caught on /dev/log)"
    if not lines:
        skip("no-syslog", "no journal and a /dev/log this test does not own: migsec-control's "
             "syslog lines could not be read (the audit file has the same lines)")
        return
    audits = sum(b"audit {" in ln for ln in lines)
    check(audits > 0, f"{where}: {len(lines)} migsec-control lines, {audits} of them audit lines")
    n = sum(ln.count(t) for ln in lines for t in texts)
    check(n == 0, f"no key in {where}'s migsec-control lines ({n})")


def proc_owner(p):
    return os.stat(f"/proc/{p}/status").st_uid


def check_locked(lab, name):
    """Every page of migsec-control locked (mlockall): no copy of a key it
    handles (TLS records, JSON, its connection buffer, stacks) can be swapped."""
    with open(f"/proc/{pid(lab, name)}/status") as f:
        kb = {ln.split(":")[0]: int(ln.split()[1]) for ln in f if ln.startswith("Vm")}
    check(kb["VmLck"] >= kb["VmSize"] * 0.9,
          f"{name}: its memory is locked (VmLck {kb['VmLck']} kB of VmSize {kb['VmSize']} kB)")


def core_dumps(lab):
    """RLIMIT_CORE 0, and not dumpable (PR_SET_DUMPABLE 0), each shown by an
    effect that a plain process in the same place does not have."""
    for name in DAEMONS:
        with open(f"/proc/{pid(lab, name)}/limits") as f:
            line = [ln for ln in f if ln.startswith("Max core file size")][0]
        check(line.split()[4:6] == ["0", "0"], f"{name}: core dumps off (RLIMIT_CORE 0/0)")
    # migsec-control runs as its own user: the kernel hands the /proc files of
    # a non-dumpable process to root (a plain process of that user owns its own).
    plain = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                              "sleep", "60"])
    time.sleep(0.3)
    nobody = proc_owner(plain.pid)
    plain.kill()
    plain.wait()
    check(nobody != 0, "a plain process of user nobody owns its /proc files")
    for app in ("apA", "apB"):
        name = f"{app}-control"
        with open(f"/proc/{pid(lab, name)}/status") as f:
            uid = int([ln for ln in f if ln.startswith("Uid:")][0].split()[1])
        check(uid == nobody and proc_owner(pid(lab, name)) == 0,
              f"{name} runs as nobody and is not dumpable (its /proc files are root's)")
        check_locked(lab, name)
        h = json.loads(ctl(lab, "--json", "health", appliance(app)).stdout)[app]
        check(h.get("dumpable") is False, f"{name} says so too (health: dumpable false)")
        # The data plane runs as root, where /proc shows nothing: it says what
        # prctl(PR_GET_DUMPABLE) and getrlimit() return now.
        ping = json.loads(lab.dpctl(app, "ping").stdout)
        check(ping.get("dumpable") is False and ping.get("core_limit") == 0,
              f"{app}'s data plane: not dumpable, core limit 0 (ping)")


def no_core_limit():
    """In a child before exec: core dumps as large as they come."""
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def cores_in(d):
    return glob.glob(os.path.join(d, "core*"))


def crash(lab, cwd):
    """End to end: apA's data plane crashes, with its core limit raised from
    outside (prlimit), and leaves no core where a plain process's crash
    with the same limit does: what stops it is that it is not dumpable."""
    plain = subprocess.Popen(["sleep", "60"], cwd=cwd, preexec_fn=no_core_limit)
    time.sleep(0.2)
    plain.send_signal(signal.SIGSEGV)
    plain.wait()
    cores = cores_in(cwd)
    for c in cores:
        os.unlink(c)
    p = pid(lab, "apA")
    where = os.readlink(f"/proc/{p}/cwd")
    try:
        resource.prlimit(p, resource.RLIMIT_CORE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        with open(f"/proc/{p}/limits") as f:
            line = [ln for ln in f if ln.startswith("Max core file size")][0]
        check(line.split()[4:6] == ["unlimited", "unlimited"],
              "apA's data plane: core limit raised from outside (prlimit)")
    except PermissionError:
        # Raising a hard limit takes CAP_SYS_RESOURCE, which some containers
        # withhold: then the crash below shows RLIMIT_CORE 0 at work, and
        # "not dumpable" rests on ping and /proc ownership (core_dumps()).
        skip("cap-sys-resource", "cannot raise apA's core limit from here (no "
             "CAP_SYS_RESOURCE): the crash shows RLIMIT_CORE 0 at work, not PR_SET_DUMPABLE")
    os.kill(p, signal.SIGSEGV)
    check(wait_for(lambda: exited(p), 30), "apA's data plane crashed (SIGSEGV)")
    left = cores_in(where)
    if cores:
        check(where == cwd, f"apA's data plane worked in {cwd}, where the plain process left "
              f"its core")
        check(not left, f"apA's crash left no core where a plain process left one ({left})")
    else:
        pattern = open("/proc/sys/kernel/core_pattern").read().strip()
        skip("core-pattern", f"a plain process left no core in its directory either "
             f"(core_pattern {pattern!r}): the crash's core, if any, is not where this test can "
             f"look; checked only that there is none in {where} ({left})")
        check(not left, "no core in the data plane's directory")


def main():
    if os.environ.get("SANITIZE", "none") not in ("", "none") or not STOP_LIB:
        skip("sanitizer-build", "secrets test: plain build only (it preloads a helper into "
             "the daemons)")
        return exit_code()
    t0 = time.monotonic()
    cwd = tempfile.mkdtemp(prefix="migsec-secrets-")
    os.chmod(cwd, 0o1777)  # the daemons' working directory: a core would land here
    env = {"LD_PRELOAD": STOP_LIB, "MIGSEC_STOP_AT_EXIT": "migsec-dataplane,migsec-control"}
    here = os.getcwd()
    os.chdir(cwd)
    catcher = SyslogCatcher()
    try:
        with Lab("itK", env=env) as lab:
            keys = expiry_with_control(lab)
            keys += expiry_without_control(lab, env)
            core_dumps(lab)
            keys += exit_and_crash(lab, cwd)
            logs_and_audit(lab, keys, catcher)
    finally:
        catcher.close()
        os.chdir(here)
        shutil.rmtree(cwd, ignore_errors=True)
    log(f"secrets: {time.monotonic() - t0:.0f} s")
    return exit_code()


if __name__ == "__main__":
    sys.exit(main())
