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
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lvmig_lab import hosts_conf, lvmig, make_disk  # noqa: E402
from migsec_lab import check, log  # noqa: E402

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
    bad(m, m.migrate_args("lv-disk", "--migrateuri", "tcp://198.51.100.9:49200"), 2,
        "is not hostB's migration address", "a --migrateuri past the appliances")
    ns = "http://migsec.org/xmlns/libvirt/1"
    m.a.virsh("metadata", "lv-disk", ns, "--key", "migsec", "--live", "--set",
              "<policy>sometimes</policy>")
    bad(m, m.migrate_args("lv-disk"), 1, "is not a policy", "an invalid policy in the metadata")
    r = m.migsecctl("policy", "lv-disk", "required", "--connect", m.a.local_uri)
    check(r.returncode == 0, f"policy required set ({r.stdout.strip()} {r.stderr.strip()})")
    silent_b = hosts_conf(os.path.dirname(m.conf), "mgmt-bad-port.conf", b_port=7444)
    bad(m, m.migrate_args("lv-disk"), 3, "cannot connect", "destination appliance not answering",
        conf=silent_b)


def main():
    with lvmig("lvm") as m:
        make_disk(m.a, "lvd.qcow2", DISK_MIB)
        m.a.create("lv-disk", disk="lvd.qcow2")
        r = m.migsecctl("policy", "lv-disk", "required", "--connect", m.a.local_uri)
        check(r.returncode == 0, f"lv-disk: policy required ({r.stderr.strip()})")
        bad_input(m)
    log("lv_migrate: all checks passed")


if __name__ == "__main__":
    main()
