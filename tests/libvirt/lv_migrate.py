#!/usr/bin/python3
"""libvirt: `migsecctl migrate` of a running TCG domain with a qcow2 disk
(--copy-storage-all) through two appliances (lvmig_lab.py: lab policy
discard, B's qemu hook gating, the management plane's hosts map).

- Bad input, each with its message and exit status, and nothing left
  behind (the domain on A only, no migration or SA on either appliance):
  an unknown domain (6), an unknown destination host (2), a destination
  without appliance (2), an invalid policy in the domain's metadata (1),
  an option without the one it needs (2), a destination appliance that
  does not answer (3: A's start rolled back).
- The migration (policy required from the domain's metadata, the key on
  stdin so that the test can derive the SAs, --rekey-bytes 1 MiB so that
  the appliances rekey during it): exit 0; JSON lines started
  (sealed), progress, ended, result (completed); the domain runs on B, not
  on A; the disk on B hashes like the source's content; the appliances
  rekeyed; both outer captures hold only ARP and ESP-in-UDP that scapy
  opens with the derived keys of every generation (the first frames also by the pure-Python AES-GCM), the disk's
  marker in the opened plaintext and never on the wire; the migsec
  migration ended on both appliances (no migration, no SA left), and none
  of its keys in the memory of either data plane or migsec-control; B's
  hook allowed it, naming the migration. The guest's memory crossed: A's
  loader put 2 MiB of random bytes into its RAM, B's loader file at the
  same path holds other bytes, and B's RAM (pmemsave) holds A's.
- libvirt refusing after the migsec migration started (B defines a
  domain of that name with another UUID): exit 1, outcome failed, the
  migsec migration ended on both appliances, nothing left behind.
- --postcopy while QEMU runs as libvirt-qemu, without userfaultfd: libvirt
  fails it with QEMU's "Postcopy is not supported", exit 1, the migsec
  migration ended on both appliances, nothing left behind.
- --tunnelled (memory inside libvirtd's connection) of a domain without
  disk: libvirtd's port the one selector, appliance B opened the memory,
  the domain runs on B, no migration or SA left.
- A direct migration (no --p2p: migsecctl opens B's libvirtd itself and
  calls virDomainMigrate3) of a domain whose RAM holds 1 MiB of blocks
  that start with the marker: B's socket is where only migsecctl sees it
  (its own mount namespace), so a peer-to-peer migration could not reach
  it; B is libvirt's hostname for that socket; sealed, the migration port
  range the one selector; the domain runs on B; both outer captures only
  ARP and ESP-in-UDP that opens, the marker in the plaintext and never on
  the wire; no migration, SA or key left; B's hook allowed it. Before,
  among the bad input: direct to qemu+tcp://B, which the management
  network cannot reach: the start rolled back (exit 3), nothing left; and
  --tunnelled without --p2p refused (2).
"""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lvmig_lab import (MARKER, disk_hash, hosts_conf, lvmig, make_disk,  # noqa: E402
                       precreate)
from libvirt_hosts import domain_xml  # noqa: E402
from migsec_lab import HOST, check, derive, log, memory_hits, verify_esp_capture  # noqa: E402

DISK_MIB = 2


def bad(m, args, rc, text, what, conf=None, domain="lv-disk"):
    r = m.migsecctl(*args, conf=conf)
    check(r.returncode == rc and text in r.stderr,
          f"{what}: exit {rc} with its message ({r.returncode}: {r.stderr.strip()})")
    m.nothing_left(domain, what)


def bad_input(m):
    bad(m, m.migrate_args("no-such-vm"), 6, "no domain 'no-such-vm'", "an unknown domain")
    bad(m, m.migrate_args("lv-disk", dest="qemu+tcp://198.51.100.77/system"), 2,
        "unknown destination host '198.51.100.77'", "an unknown destination host")
    bad(m, m.migrate_args("lv-disk", dest="qemu+tcp://192.0.2.3/system"), 2,
        "destination host hostC has no migsec appliance", "a destination without appliance")
    bad(m, m.migrate_args("lv-disk", "--parallel-connections", "4"), 2,
        "--parallel-connections needs --parallel", "an option without the one it needs")
    bad(m, m.migrate_args("lv-disk", "--tunnelled", p2p=False), 2, "--tunnelled needs --p2p",
        "--tunnelled without --p2p")
    bad(m, m.migrate_args("lv-disk", "--migrateuri", "tcp://198.51.100.9:49200"), 2,
        "is not hostB's migration address", "a --migrateuri past the appliances")
    ns = "http://migsec.org/xmlns/libvirt/1"
    m.a.virsh("metadata", "lv-disk", ns, "--key", "migsec", "--live", "--set",
              "<policy>sometimes</policy>")
    bad(m, m.migrate_args("lv-disk"), 1, "is not a policy", "an invalid policy in the metadata")
    r = m.migsecctl("policy", "lv-disk", "required", "--connect", m.a.local_uri)
    check(r.returncode == 0, f"policy required set ({r.stdout.strip()} {r.stderr.strip()})")
    # Direct, DEST-URI named by its host: opened after the start (its connection may cross
    # the appliances); B's address is not reachable from the management network.
    r = m.migsecctl("--json", *m.migrate_args("lv-disk", p2p=False))
    ev, _ = events(r.stdout)
    check(r.returncode == 3 and "cannot connect to the destination's libvirt" in r.stderr
          and "started" in ev and set(ev["ended"]["appliances"]) == {"apA", "apB"},
          f"direct, destination's libvirt unreachable: exit 3, the migsec migration ended on "
          f"both ({r.returncode}: {r.stderr.strip()})")
    m.nothing_left("lv-disk", "direct, destination's libvirt unreachable")
    silent_b = hosts_conf(os.path.dirname(m.conf), "mgmt-bad-port.conf", b_port=7444)
    bad(m, m.migrate_args("lv-disk"), 3, "cannot connect", "destination appliance not answering",
        conf=silent_b)


def events(out):
    ev = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {e["event"]: e for e in ev}, [e for e in ev if e["event"] == "progress"]


def sealed_migration(m, src_hash):
    secret = os.urandom(40)
    precreate(m.b, "lvd.qcow2", DISK_MIB)
    with m.lab.capture("apB", 200000, seconds=120) as cap_b, \
            m.lab.capture("apA", 200000, seconds=120) as cap_a:
        r = m.migsecctl("--json", *m.migrate_args("lv-disk", "--copy-storage-all", "--id", "lvd1",
                                                  "--rekey-bytes", str(1 << 20), "--key-stdin"),
                        stdin=secret.hex() + "\n")
    log(r.stdout.strip())
    ev, prog = events(r.stdout)
    check(r.returncode == 0 and ev.get("result", {}).get("outcome") == "completed",
          f"migsecctl migrate: exit 0, outcome completed ({r.returncode}: {r.stderr.strip()})")
    st = ev["started"]
    check(st["sealed"] and st["policy"] == "required" and st["policy_source"] == "metadata"
          and st["migrate_uri"] == f"tcp://{HOST['B'][4]}",
          f"started sealed, policy required from the metadata, over {st['migrate_uri']}")
    check(any(s.endswith("dport=49152-49215") for s in st["selectors"])
          and any(s.endswith("dport=16509") for s in st["selectors"]),
          f"selectors: the migration port range (memory and NBD), libvirtd's port: {st['selectors']}")
    check(len(prog) >= 1, f"{len(prog)} progress line(s) from the job statistics")
    check(set(ev["ended"]["appliances"]) == {"apA", "apB"}
          and all(a.get("ended") for a in ev["ended"]["appliances"].values()),
          f"ended on both appliances ({ev['ended']['why']})")
    check(ev["result"]["disk_bytes"] >= DISK_MIB << 20,
          f"libvirt copied {ev['result']['disk_bytes']} bytes of disk")
    check(m.b.virsh("domstate", "lv-disk").stdout.strip() == "running"
          and "lv-disk" not in m.a.domains(), "lv-disk runs on B, not on A")
    check(disk_hash(m.b, "lvd.qcow2") == src_hash, "B's disk hashes like the source's content")
    rekeys = ev["ended"]["appliances"]["apA"]["rekeys"]
    check(rekeys >= 1, f"the appliances rekeyed {rekeys} time(s) at --rekey-bytes 1 MiB")
    sas = {}
    for d in ("s2d", "d2s"):
        for gen in range(rekeys + 1):
            k = derive(secret, "lvd1", d, gen)
            sas[k["spi"]] = (k["key"] + k["salt"], 4)
    wire_and_keys(m, {"apB": cap_b, "apA": cap_a}, sas, (DISK_MIB << 20) // 4096, "the disk",
                  "lvd1")


def wire_and_keys(m, caps, sas, blocks, what, mig_id):
    """Both outer captures only ARP and ESP-in-UDP that opens with sas, the
    marker (once per 4 KiB block of what) in the opened plaintext and never
    on the wire; then no migration, SA or key left, and B's hook allowed
    mig_id."""
    pairs = {(HOST["A"][4], HOST["B"][4]), (HOST["B"][4], HOST["A"][4])}
    res = {}
    for name, cap in caps.items():
        res[name] = verify_esp_capture(cap.path, sas, pairs, MARKER.decode())
        cap.remove()
        v = res[name]
        log(f"{name} outer capture: {v['frames']} frames, {v['esp']} ESP, {v['decrypted']} "
            f"opened, {v['control']} ARP; {cap.summary.splitlines()[-1:]} ")
        check(not v["bad"] and v["decrypted"] > 0 and v["marker_on_wire"] == 0,
              f"{mig_id}: {name}'s outer link: only ESP-in-UDP and ARP, every ESP frame "
              f"opened, the marker never on the wire ({v['bad'][:3]})")
    # One marker per 4 KiB block; a marker that a TCP segment boundary cuts
    # is in no single packet, hence 3/4 of the blocks, not all of them.
    check(res["apB"]["marker_in_plaintext"] >= blocks * 3 // 4,
          f"{what} crossed sealed: its marker {res['apB']['marker_in_plaintext']} times in "
          f"the opened plaintext ({blocks} blocks)")
    for app in ("apA", "apB"):
        check(m.migrations(app) == [] and m.lab.sas(app) == {},
              f"{mig_id}: no migration, no SA left on {app}")
    # Once it ended, no key of any generation in any appliance process (each
    # scan must find its positive control, the process's command line).
    keys = [ks[:32] for ks, _ in sas.values()]
    for proc in ("apA", "apB", "apA-control", "apB-control"):
        n = memory_hits(m.lab.pid(proc), keys)
        check(n == 0, f"{mig_id}: {proc}: none of the migration's {len(keys)} keys left in "
                      f"its memory ({n} found)")
    with open(m.hook_audit) as f:
        last = json.loads(f.read().splitlines()[-1])
    check(last["decision"] == "allow" and last.get("migration") == mig_id,
          f"B's hook allowed it, naming the migsec migration ({last})")


def direct(m):
    """A direct (managed, not peer-to-peer) migration: migsecctl opens B's
    libvirtd itself (its UNIX socket here, so B is libvirt's hostname for
    it) and calls virDomainMigrate3. lv-dir's RAM holds DIRECT_MIB of
    blocks that start with the marker (QEMU's loader device)."""
    secret = os.urandom(40)
    # B's socket where only migsecctl sees it: a peer-to-peer migration (A's
    # libvirtd opening DEST-URI) would find nothing there.
    hidden = os.path.join(m.lab.dir, "b-only-for-migsecctl")
    os.makedirs(hidden, exist_ok=True)
    dest = f"qemu+unix:///system?socket={hidden}/libvirt-sock"
    with m.lab.capture("apB", 100000, seconds=120) as cap_b, \
            m.lab.capture("apA", 100000, seconds=120) as cap_a:
        r = m.migsecctl("--json", *m.migrate_args("lv-dir", "--id", "lvdir", "--key-stdin",
                                                  dest=dest, p2p=False),
                        stdin=secret.hex() + "\n", bind=(os.path.join(m.b.dir, "run"), hidden))
    log(r.stdout.strip())
    ev, _ = events(r.stdout)
    check(r.returncode == 0 and ev.get("result", {}).get("outcome") == "completed",
          f"direct: exit 0, outcome completed ({r.returncode}: {r.stderr.strip()})")
    st = ev["started"]
    check(st["mode"] == "direct" and st["sealed"] and st["migrate_uri"] == f"tcp://{HOST['B'][4]}"
          and st["selectors"] == [f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32,proto=tcp,"
                                  "dport=49152-49215"],
          f"direct: started sealed to hostB (libvirt's hostname of B's socket), the migration "
          f"port range the one selector ({st['selectors']})")
    check(set(ev["ended"]["appliances"]) == {"apA", "apB"}
          and all(a.get("ended") for a in ev["ended"]["appliances"].values()),
          f"direct: ended on both appliances ({ev['ended']['why']})")
    check(m.b.virsh("domstate", "lv-dir").stdout.strip() == "running"
          and "lv-dir" not in m.a.domains(), "direct: lv-dir runs on B, not on A")
    sas = {}
    for d in ("s2d", "d2s"):
        k = derive(secret, "lvdir", d, 0)
        sas[k["spi"]] = (k["key"] + k["salt"], 4)
    wire_and_keys(m, {"apB": cap_b, "apA": cap_a}, sas, (DIRECT_MIB << 20) // 4096,
                  "direct: lv-dir's memory", "lvdir")


def libvirt_fails(m):
    """The migsec migration runs, then libvirt refuses (the destination already
    defines a domain of that name with another UUID): rolled back."""
    path = os.path.join(m.b.dir, "lv-tun-other.xml")
    with open(path, "w") as f:
        f.write(domain_xml("lv-tun"))
    m.b.virsh("define", path)
    r = m.migsecctl("--json", *m.migrate_args("lv-tun", "--id", "lvt0"))
    failed_after_start(m, r, "lv-tun", "libvirt fails after the start", "already exists")
    m.b.virsh("undefine", "lv-tun")


def failed_after_start(m, r, dom, label, reason, on_stderr=False):
    """migsecctl started the migsec migration, then libvirt failed the job:
    exit 1, outcome failed with libvirt's reason (also on stderr, if asked),
    the migsec migration ended on both appliances, nothing left."""
    ev, _ = events(r.stdout)
    res = ev.get("result", {})
    check(r.returncode == 1 and res.get("outcome") == "failed" and "started" in ev
          and reason in (res.get("error") or "") and (not on_stderr or reason in r.stderr),
          f"{label}: exit 1, outcome failed with libvirt's reason shown ({r.returncode}: "
          f"{res.get('error')})")
    ended = ev.get("ended", {}).get("appliances", {})
    check(set(ended) == {"apA", "apB"} and all(a.get("ended") for a in ended.values()),
          f"{label}: the migsec migration ended on both appliances")
    m.nothing_left(dom, label)


def postcopy_refused(m):
    """--postcopy where QEMU cannot do post-copy: here it runs as libvirt-qemu,
    and userfaultfd(2) wants CAP_SYS_PTRACE (vm.unprivileged_userfaultfd = 0;
    QEMU 7.2 does not use /dev/userfaultfd). B's QEMU refuses, libvirt says
    so: exit 1, outcome failed, the migsec migration ended on both, nothing
    left. (lv_abort.py runs QEMU as root, and there post-copy works.)"""
    r = m.migsecctl("--json", *m.migrate_args("lv-tun", "--postcopy", "--id", "lvpc0"))
    failed_after_start(m, r, "lv-tun", "--postcopy without userfaultfd",
                       "Postcopy is not supported", on_stderr=True)


def tunnelled(m):
    """--tunnelled: memory inside libvirtd's connection, whose port is the one
    selector. (A disk copy inside the tunnel, --copy-storage-all, libvirt 9.0
    here refuses by itself: "argument key 'host' must not have null value".)"""
    r = m.migsecctl("--json", *m.migrate_args("lv-tun", "--tunnelled", "--id", "lvt1"))
    ev, _ = events(r.stdout)
    check(r.returncode == 0 and ev.get("result", {}).get("outcome") == "completed",
          f"--tunnelled: exit 0, completed ({r.returncode}: {r.stderr.strip()})")
    sel = ev["started"]["selectors"]
    check(ev["started"]["sealed"] and ev["started"]["migrate_uri"] == "tunnelled" and
          sel == [f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32,proto=tcp,dport=16509"],
          f"--tunnelled: sealed, libvirtd's port the one selector ({sel})")
    opened = ev["ended"]["appliances"]["apB"]["in_bytes"]
    # 48 MiB of guest RAM, mostly zero pages that QEMU sends as flags only (as lv_gate).
    check(opened > 256 << 10, f"--tunnelled: apB opened {opened} bytes")
    check(m.b.virsh("domstate", "lv-tun").stdout.strip() == "running"
          and "lv-tun" not in m.a.domains(), "--tunnelled: lv-tun runs on B, not on A")
    for app in ("apA", "apB"):
        check(m.migrations(app) == [] and m.lab.sas(app) == {},
              f"--tunnelled: no migration, no SA left on {app}")


RAM_MIB = 2
DIRECT_MIB = 1
RAM_ADDR = 0x1000000     # where QEMU's loader device puts the blob (libvirt_hosts.domain_xml)


def ram_blobs(m):
    """A's blob goes into lv-disk's RAM at boot. B's file at the same path is
    other random bytes: the destination's loader writes those at its reset,
    so after the migration B's RAM holds A's bytes only if the migration
    carried them. Returns A's blob."""
    blob = os.urandom(RAM_MIB << 20)
    for h, data in ((m.a, blob), (m.b, os.urandom(RAM_MIB << 20))):
        with open(os.path.join(h.images(), "lvd.blob"), "wb") as f:
            f.write(data)
    return blob


def ram_check(m, blob):
    """lv-disk's RAM on B at the blob's place, saved by QEMU (pmemsave)."""
    out = "/var/lib/libvirt/images/lvd.ram"
    os.chmod(m.b.images(), 0o777)     # the test's own directory: QEMU writes the file
    # The file name quoted: unquoted, HMP reads its "/" as a division of the size.
    r = m.b.virsh("qemu-monitor-command", "lv-disk", "--hmp",
                  f"pmemsave {RAM_ADDR:#x} {RAM_MIB << 20} \"{out}\"")
    saved = os.path.join(m.b.images(), "lvd.ram")
    check(os.path.exists(saved), f"QEMU on B saved lv-disk's RAM ({r.stdout.strip()!r})")
    with open(saved, "rb") as f:
        got = f.read()
    check(hashlib.sha256(got).digest() == hashlib.sha256(blob).digest(),
          f"lv-disk's RAM on B holds the {RAM_MIB} MiB A's loader put there (sha256 "
          f"{hashlib.sha256(got).hexdigest()[:16]}, A's {hashlib.sha256(blob).hexdigest()[:16]}): "
          f"the memory crossed, not B's own file")


def main():
    with lvmig("lvm") as m:
        src_hash = make_disk(m.a, "lvd.qcow2", DISK_MIB)
        blob = ram_blobs(m)
        m.a.create("lv-disk", disk="lvd.qcow2", ram_blob="lvd.blob")
        m.a.create("lv-tun")
        blocks = os.urandom(DIRECT_MIB << 20)
        with open(os.path.join(m.a.images(), "lvdir.blob"), "wb") as f:
            f.write(b"".join(MARKER + blocks[i + len(MARKER):i + 4096]
                             for i in range(0, len(blocks), 4096)))
        with open(os.path.join(m.b.images(), "lvdir.blob"), "wb") as f:
            f.write(os.urandom(DIRECT_MIB << 20))    # B's own: no marker
        m.a.create("lv-dir", ram_blob="lvdir.blob")
        for name in ("lv-disk", "lv-tun", "lv-dir"):
            r = m.migsecctl("policy", name, "required", "--connect", m.a.local_uri)
            check(r.returncode == 0, f"{name}: policy required ({r.stderr.strip()})")
        bad_input(m)
        sealed_migration(m, src_hash)
        ram_check(m, blob)
        libvirt_fails(m)
        postcopy_refused(m)
        tunnelled(m)
        direct(m)
    log("lv_migrate: all checks passed")


if __name__ == "__main__":
    main()
