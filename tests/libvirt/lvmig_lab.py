"""What lv_migrate.py and lv_abort.py share: the appliance lab (policy
discard: nothing crosses unsealed) with a libvirtd on each host
(tests/lib/libvirt_hosts.py), B's qemu hook being migsec-libvirt-hook; the
management plane's /etc/migsec/libvirt.conf with its hosts map (A and B
with their appliances, C without one); `migsecctl migrate` run from the
management namespace, speaking to host A's libvirtd over its UNIX socket
and to the appliances over mutual TLS; a qcow2 disk of known content; the
check that nothing of a migration is left behind.
"""
import contextlib
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from libvirt_hosts import Host  # noqa: E402
from migsec_lab import (BUILD, HOST, MGMT, MIGSECCTL, OUTER, Lab, appliance, check,  # noqa: E402
                        ctl)

HOOK = os.path.join(BUILD, "tools", "migsec-libvirt-hook")
DEST = f"qemu+tcp://{HOST['B'][4]}/system"
MARKER = b"MIGSEC-DISK-MARKER-7f3a"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def hosts_conf(root, name="mgmt-libvirt.conf", b_port=7443):
    """The management plane's libvirt.conf: cluster default and hosts."""
    return write(os.path.join(root, name), f'''default_policy = "required";
hosts = (
  {{ name = "hostA"; migration_address = "{HOST['A'][4]}";
     appliance = "apA={MGMT['apA']}:7443"; appliance_outer = "{OUTER['A'][4]}"; }},
  {{ name = "hostB"; aliases = [ "host-b.example" ]; migration_address = "{HOST['B'][4]}";
     appliance = "apB={MGMT['apB']}:{b_port}"; appliance_outer = "{OUTER['B'][4]}"; }},
  {{ name = "hostC"; migration_address = "192.0.2.3"; }}
);
''')


def make_disk(host, name, mib):
    """A qcow2 disk on host of mib MiB: every 4 KiB block starts with MARKER,
    then random bytes. Returns the sha256 of its raw content."""
    raw = os.urandom(mib << 20)
    data = b"".join(MARKER + raw[i + len(MARKER):i + 4096] for i in range(0, len(raw), 4096))
    path = os.path.join(host.images(), name)
    write_raw = path + ".raw"
    with open(write_raw, "wb") as f:
        f.write(data)
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", write_raw, path],
                   check=True, timeout=60)
    os.unlink(write_raw)
    return hashlib.sha256(data).hexdigest()


def precreate(host, name, mib):
    """The destination's empty image of the same size (--copy-storage-all needs it)."""
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2",
                    os.path.join(host.images(), name), f"{mib}M"], check=True, timeout=30)


def disk_hash(host, name):
    """The sha256 of the disk's content (-U: its domain may be running)."""
    out = os.path.join(host.dir, "hash.raw")
    r = subprocess.run(["qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw",
                        os.path.join(host.images(), name), out], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"qemu-img convert {name}: {r.stderr.strip()}")
    with open(out, "rb") as f:
        h = hashlib.sha256(f.read()).hexdigest()
    os.unlink(out)
    return h


class LvMig:
    """lab, a (host A), b (host B), conf, migrate(...)."""

    def __init__(self, lab, a, b, conf, hook_audit):
        self.lab, self.a, self.b, self.conf, self.hook_audit = lab, a, b, conf, hook_audit

    def migsecctl(self, *args, conf=None, stdin=None, timeout=180, popen=False, bind=None):
        """bind (SRC, DST): migsecctl runs in a mount namespace of its own in
        which directory SRC is bind-mounted on DST; nobody else sees it there."""
        pki = os.path.join(self.lab.dir, "pki")
        wrap = (["unshare", "-m", "--propagation", "private", "sh", "-c",
                 'mount --bind "$0" "$1" && shift && exec "$@"', *bind] if bind else [])
        cmd = ["ip", "netns", "exec", self.lab.ns("mg"), *wrap, MIGSECCTL, "--ca",
               f"{pki}/ca.pem", "--cert", f"{pki}/mgmt.pem", "--key", f"{pki}/mgmt.key", *args]
        env = dict(os.environ, MIGSEC_LIBVIRT_CONF=conf or self.conf)
        if popen:
            return subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        return subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True,
                              timeout=timeout)

    def migrate_args(self, domain, *extra, dest=DEST, p2p=True):
        """p2p False: a direct migration (migsecctl opens dest itself)."""
        return ["migrate", domain, dest, "--live", *(["--p2p"] if p2p else []),
                "--connect", self.a.local_uri, *extra]

    def migrations(self, app):
        st = json.loads(ctl(self.lab, "--json", "status", appliance(app)).stdout)[app]
        return [m["migration"] for m in st["migrations"]]

    def nothing_left(self, domain, what):
        """The domain still runs on A only; no migration, no SA on either appliance."""
        check(domain in self.a.domains() and domain not in self.b.domains(),
              f"{what}: {domain} still runs on A, not on B")
        for app in ("apA", "apB"):
            check(self.migrations(app) == [] and self.lab.sas(app) == {},
                  f"{what}: no migration, no SA left on {app}")


@contextlib.contextmanager
def lvmig(name, qemu_conf=""):
    """The lab and both libvirt hosts (qemu_conf: lines for both hosts'
    qemu.conf), torn down whatever happens."""
    with Lab(name, policy="discard", poll="adaptive") as lab:
        root = os.path.join(lab.dir, "libvirt")
        os.makedirs(root, exist_ok=True)
        hook_audit = os.path.join(root, "hostB-hook.jsonl")
        conf_b = write(os.path.join(root, "hostB-libvirt.conf"),
                       f'query_socket = "{lab.dir}/apB-query.sock";\n'
                       f'audit_file = "{hook_audit}";\n')
        wrapper = f'#!/bin/sh\nMIGSEC_LIBVIRT_CONF={conf_b} exec {HOOK} "$@"\n'
        a = Host("hostA", lab.ns("A"), HOST["A"][4], root, qemu_conf=qemu_conf)
        b = Host("hostB", lab.ns("B"), HOST["B"][4], root, hook=wrapper, qemu_conf=qemu_conf)
        try:
            a.start()
            b.start()
            yield LvMig(lab, a, b, hosts_conf(root), hook_audit)
        finally:
            b.stop()
            a.stop()
