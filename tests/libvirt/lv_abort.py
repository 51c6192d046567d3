#!/usr/bin/python3
"""libvirt: a `migsecctl migrate` cut short ends its migsec migration on
both appliances (issue 19, item 4). lvmig_lab.py's lab (policy discard);
a domain with a 4 MiB qcow2 disk and 16 MiB of random data in its RAM
(QEMU's loader device), migrated with --copy-storage-all at --bandwidth 1
(MiB/s: the memory's limit; libvirt copies the disk at full speed), so
that the job is still sending memory when:

- `virsh domjobabort` cancels it on host A: migsecctl exits 1 with
  outcome cancelled, the migsec migration ended on both appliances (its
  `ended` line names both), the domain still runs on A and not on B, no
  migration and no SA on either appliance, and none of its keys (derived
  here from the one-shot secret given on stdin) in the memory of either
  data plane or migsec-control, although the scan found them in A's data
  plane while the migration ran;
- SIGTERM reaches migsecctl itself: it aborts the job (`abort` line),
  then the same;
- SIGKILL: migsecctl dies without a word while `migsecctl watch` (the
  clean-up agent) watches host A: the libvirt job goes on without it, and
  once it is over the agent ends the migsec migration on both appliances
  (its `end` line names it); the domain runs on exactly one host.
- Post-copy (`--postcopy`): QEMU runs as root in this lab (its own
  qemu.conf: user root, capabilities kept), since userfaultfd(2) wants
  CAP_SYS_PTRACE here and QEMU 7.2 does not use /dev/userfaultfd. A
  domain with PC_MIB of random bytes in its RAM (B's loader file holds
  other bytes) migrated at --bandwidth 1, switched to post-copy with
  `virsh migrate-postcopy` while its memory is being sent: migsecctl
  reports libvirt's post-copy event, exits 0 with outcome completed and
  postcopy true, the migsec migration ended on both appliances after the
  destination pulled the rest, no migration or SA left; the domain runs
  on B and its RAM there (pmemsave) holds A's bytes.
"""
import hashlib
import json
import os
import select
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lvmig_lab import lvmig, make_disk, precreate  # noqa: E402
from migsec_lab import check, derive, log, memory_hits  # noqa: E402

DISK_MIB = 4
BLOB_MIB = 16
PC_MIB = 6
QEMU_ROOT = 'user = "root"\ngroup = "root"\nclear_emulator_capabilities = 0\n'


def lines_until(p, pred, seconds):
    """migsecctl's JSON lines until pred(line) holds (bounded in time)."""
    seen, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        r, _, _ = select.select([p.stdout], [], [], 0.5)
        if not r:
            continue
        line = p.stdout.readline()
        if not line:
            break
        ev = json.loads(line)
        seen.append(ev)
        if pred(ev):
            return seen
    raise AssertionError(f"migsecctl never said it (saw {seen[-3:]})")


def sending_memory(ev):
    return (ev["event"] == "progress" and ev["memory_processed"] > 0
            and ev["memory_processed"] < BLOB_MIB << 20)


def drive(p, first, act, label):
    """migsecctl's JSON lines until first(event), then act(), then the rest
    until it exits: {event name: the last event of that name}.
    migsecctl is killed if anything fails on the way."""
    try:
        seen = lines_until(p, first, 60)
        log(f"{label}: sending memory: {seen[-1]}")
        act()
        out, err = p.communicate(timeout=90)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    ev = seen + [json.loads(line) for line in out.splitlines()]
    log(f"{label}: {[e['event'] for e in ev]}; stderr: {err.strip()}")
    return {e["event"]: e for e in ev}


def cut_short(m, how, mig_id):
    secret = os.urandom(40)
    p = m.migsecctl("--json", *m.migrate_args("lv-ab", "--copy-storage-all", "--bandwidth", "1",
                                              "--id", mig_id, "--key-stdin"), popen=True)
    p.stdin.write(secret.hex() + "\n")
    p.stdin.flush()
    # The migration's keys (generation 0, both directions), derived here.
    keys = [derive(secret, mig_id, d, 0)["key"] for d in ("s2d", "d2s")]
    def cut():
        # The scan's own control: while the migration runs, the data plane holds them.
        n = memory_hits(m.lab.pid("apA"), keys)
        check(n >= 1, f"{how}: while it runs, apA's data plane holds the keys ({n} copies)")
        if how == "domjobabort":
            m.a.virsh("domjobabort", "lv-ab")
        else:
            p.send_signal(signal.SIGTERM)

    kinds = drive(p, sending_memory, cut, how)
    res = kinds.get("result", {})
    check(p.returncode == 1 and res.get("outcome") == "cancelled",
          f"{how}: migsecctl exit 1, outcome cancelled ({p.returncode}, {res.get('outcome')}: "
          f"{res.get('error')})")
    if how == "SIGTERM":
        check("abort" in kinds, f"SIGTERM: migsecctl aborted the job ({kinds.get('abort')})")
    ended = kinds.get("ended", {})
    check(set(ended.get("appliances", {})) == {"apA", "apB"}
          and all(a.get("ended") for a in ended["appliances"].values()),
          f"{how}: the migsec migration ended on both appliances ({ended.get('why')})")
    m.nothing_left("lv-ab", how)
    for proc in ("apA", "apB", "apA-control", "apB-control"):
        n = memory_hits(m.lab.pid(proc), keys)
        check(n == 0, f"{how}: none of {mig_id}'s keys left in {proc}'s memory ({n} found)")


def killed(m):
    """migsecctl migrate killed mid-migration; migsecctl watch cleans up."""
    w = m.migsecctl("--json", "watch", "--connect", m.a.local_uri, "--interval", "1", popen=True)
    p = m.migsecctl("--json", *m.migrate_args("lv-ab", "--copy-storage-all", "--bandwidth", "4",
                                              "--id", "lva3"), popen=True)
    try:
        lines_until(w, lambda e: e["event"] == "watching", 30)
        seen = lines_until(p, sending_memory, 60)
        log(f"SIGKILL: sending memory: {seen[-1]}")
        p.kill()
        p.wait()
        ended = lines_until(w, lambda e: e["event"] == "end" and "lva3" in e["what"], 90)
        log(f"SIGKILL: migsecctl watch: {ended[-1]}")
        w.send_signal(signal.SIGTERM)
        out, err = w.communicate(timeout=30)
        check(w.returncode == 0, f"migsecctl watch ends on SIGTERM with 0 ({w.returncode}: {err})")
    finally:
        for q in (p, w):
            if q.poll() is None:
                q.kill()
                q.wait()
    for app in ("apA", "apB"):
        check(m.migrations(app) == [] and m.lab.sas(app) == {},
              f"SIGKILL: the agent ended lva3: no migration, no SA left on {app}")
    on = [h.name for h in (m.a, m.b) if "lv-ab" in h.domains()]
    check(len(on) == 1, f"SIGKILL: lv-ab runs on exactly one host ({on}: the job "
          f"{'completed' if on == ['hostB'] else 'was cancelled'} without migsecctl)")


def postcopy(m):
    """--postcopy, switched by virsh migrate-postcopy while memory is sent."""
    blob = os.urandom(PC_MIB << 20)
    for h, data in ((m.a, blob), (m.b, os.urandom(PC_MIB << 20))):
        with open(os.path.join(h.images(), "lvpc.blob"), "wb") as f:
            f.write(data)
    m.a.create("lv-pc", ram_blob="lvpc.blob")
    r = m.migsecctl("policy", "lv-pc", "required", "--connect", m.a.local_uri)
    check(r.returncode == 0, f"lv-pc: policy required ({r.stderr.strip()})")
    p = m.migsecctl("--json", *m.migrate_args("lv-pc", "--postcopy", "--bandwidth", "1",
                                              "--id", "lvpc"), popen=True)
    kinds = drive(p, lambda e: e["event"] == "progress" and
                        0 < e["memory_processed"] < PC_MIB << 20,
                        lambda: m.a.virsh("migrate-postcopy", "lv-pc"), "post-copy")
    res = kinds.get("result", {})
    check(p.returncode == 0 and res.get("outcome") == "completed" and res.get("postcopy") is True
          and "started" in kinds.get("postcopy", {}).get("what", ""),
          f"post-copy: libvirt's post-copy event reported, exit 0, completed "
          f"({p.returncode}: {kinds.get('postcopy')}, {res.get('error')})")
    ended = kinds.get("ended", {})
    check(set(ended.get("appliances", {})) == {"apA", "apB"}
          and all(a.get("ended") for a in ended["appliances"].values())
          and ended["appliances"]["apB"]["in_bytes"] > PC_MIB << 20,
          f"post-copy: ended on both appliances once it was over ({ended.get('why')}), apB "
          f"opened {ended.get('appliances', {}).get('apB', {}).get('in_bytes')} bytes")
    for app in ("apA", "apB"):
        check(m.migrations(app) == [] and m.lab.sas(app) == {},
              f"post-copy: no migration, no SA left on {app}")
    check(m.b.virsh("domstate", "lv-pc").stdout.strip() == "running"
          and "lv-pc" not in m.a.domains(), "post-copy: lv-pc runs on B, not on A")
    out = "/var/lib/libvirt/images/lvpc.ram"
    m.b.virsh("qemu-monitor-command", "lv-pc", "--hmp",
              f"pmemsave 0x1000000 {PC_MIB << 20} \"{out}\"")
    with open(os.path.join(m.b.images(), "lvpc.ram"), "rb") as f:
        got = hashlib.sha256(f.read()).hexdigest()
    check(got == hashlib.sha256(blob).hexdigest(),
          f"post-copy: lv-pc's RAM on B holds A's {PC_MIB} MiB (sha256 {got[:16]})")


def main():
    with lvmig("lva", qemu_conf=QEMU_ROOT) as m:
        make_disk(m.a, "lva.qcow2", DISK_MIB)
        precreate(m.b, "lva.qcow2", DISK_MIB)
        blob = os.urandom(BLOB_MIB << 20)
        for h in (m.a, m.b):
            with open(os.path.join(h.images(), "lva.blob"), "wb") as f:
                f.write(blob)
        m.a.create("lv-ab", disk="lva.qcow2", ram_blob="lva.blob")
        r = m.migsecctl("policy", "lv-ab", "required", "--connect", m.a.local_uri)
        check(r.returncode == 0, f"lv-ab: policy required ({r.stderr.strip()})")
        cut_short(m, "domjobabort", "lva1")
        cut_short(m, "SIGTERM", "lva2")
        killed(m)
        postcopy(m)
    log("lv_abort: all checks passed")


if __name__ == "__main__":
    main()
