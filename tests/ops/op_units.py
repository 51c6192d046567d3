#!/usr/bin/python3
"""ops: `meson install` lays out binaries, profiles, example configuration,
guides, man pages, systemd units and the sysusers.d file, and the
installed units pass `systemd-analyze verify` with nothing to say (unknown
settings, missing binaries or man pages all print something).

verify wants the units' ExecStart= binaries and Documentation= man pages
where the units say they are. Rather than install into the live system, a
private mount namespace lays the install over the real directory
(read-only overlay), and MANPATH points man at the installed pages; both
vanish with the namespace. The sysusers.d file creates the migsec user in
a scratch root, and `systemd-analyze security` must rate both units no
worse than their bounds below (a guard against lost hardening). Every unit
keeps keys out of swap and core dumps (MemorySwapMax=0, LimitCORE=0), and
migsec-control's LimitMEMLOCK= leaves room for its mlockall(). Built with
libvirt, migsec-libvirt-watch.service (migsecctl watch, its binary in bin
rather than sbin) is checked the same way.
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

BUILD = os.environ.get("BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
UNITS = ["migsec-dataplane.service", "migsec-control.service"]
# migsecctl watch's unit, built with libvirt (as migsecctl's watch is).
with open(os.path.join(BUILD, "meson-info", "intro-dependencies.json")) as f:
    if any(d["name"] == "libvirt" for d in json.load(f)):
        UNITS.append("migsec-libvirt-watch.service")
# Overall exposure ("systemd-analyze security", 0 best .. 10 worst) at most:
EXPOSURE_MAX = {"migsec-dataplane.service": 3.5, "migsec-control.service": 2.0,
                "migsec-libvirt-watch.service": 2.0}
failures = []


def check(cond, what):
    print(f"{'ok' if cond else 'FAIL'}: {what}", flush=True)
    if not cond:
        failures.append(what)


def layout(dest):
    files = {os.path.relpath(p, dest) for p in glob.glob(f"{dest}/**", recursive=True)
             if os.path.isfile(p)}
    want = [r"sbin/migsec-dataplane$", r"sbin/migsec-control$", r"bin/migsecctl$",
            r"bin/migsec-dpctl$", r"lib/systemd/system/migsec-dataplane\.service$",
            r"lib/systemd/system/migsec-control\.service$", r"lib/sysusers\.d/migsec\.conf$",
            r"share/man/man8/migsec-dataplane\.8$",
            r"share/man/man8/migsec-control\.8$", r"share/man/man8/migsecctl\.8$",
            r"share/man/man8/migsec-dpctl\.8$", r"share/man/man5/migsec\.conf\.5$",
            r"share/migsec/pmd-profiles/aesni_gcm\.conf$",
            r"share/doc/migsec/migsec\.conf\.example$", r"share/doc/migsec/deploy\.md$",
            r"share/doc/migsec/troubleshooting\.md$"]
    want += [r"lib/systemd/system/%s$" % re.escape(u) for u in UNITS[2:]]
    missing = [w for w in want if not any(re.search(w, f) for f in files)]
    check(not missing, f"meson install laid out {len(files)} files, all expected ones "
                       f"(missing: {missing})")


def unit_paths(dest):
    units = {u: glob.glob(f"{dest}/**/lib/systemd/system/{u}", recursive=True) for u in UNITS}
    check(all(len(v) == 1 for v in units.values()), f"units installed: {units}")
    return [v[0] for v in units.values() if v]


def verify(dest, units):
    # Where the units expect their binaries (sbin, and bin for migsecctl): the install's,
    # overlaid on the real ones.
    bins = sorted({os.path.dirname(p) for u in units
                   for p in re.findall(r"^ExecStart=(\S+)", open(u).read(), flags=re.M)})
    check(bins and all(os.path.isdir(dest + b) for b in bins),
          f"the ExecStart= directories are the install's ({bins})")
    mandir = glob.glob(f"{dest}/**/share/man", recursive=True)[0]
    mounts = "".join(f"mount -t overlay overlay -o lowerdir={dest}{b}:{b} {b}\n" for b in bins)
    script = (f"set -e; {mounts}"
              f"MANPATH={mandir}: systemd-analyze verify {' '.join(units)}\n"
              f"for u in {' '.join(units)}; do systemd-analyze security --offline=yes $u "
              f"| tail -1; done\n")
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=120)
    lines = r.stdout.strip().splitlines()
    verify_out = r.stderr.strip()
    check(r.returncode == 0 and not verify_out,
          f"systemd-analyze verify: clean (rc {r.returncode}){': ' + verify_out if verify_out else ''}")
    for u in UNITS:
        lvl = [float(m.group(1)) for line in lines
               for m in [re.search(r"exposure level for %s: ([0-9.]+)" % re.escape(u), line)] if m]
        check(lvl and lvl[0] <= EXPOSURE_MAX[u],
              f"{u}: systemd-analyze security exposure {lvl[0] if lvl else '?'} "
              f"<= {EXPOSURE_MAX[u]}")


def memory_settings(units):
    """Keys out of swap and core dumps: settings every unit must keep."""
    for u in units:
        text = open(u).read()
        name = os.path.basename(u)
        for want in ("MemorySwapMax=0", "LimitCORE=0"):
            check(re.search(r"^%s$" % want, text, flags=re.M), f"{name}: {want}")
        if name == "migsec-control.service":
            m = re.search(r"^LimitMEMLOCK=(\d+)M$", text, flags=re.M)
            check(m and int(m.group(1)) >= 32,
                  f"{name}: LimitMEMLOCK= at least 32M for mlockall() "
                  f"({m.group(0) if m else 'missing'})")


def sysusers(dest, scratch):
    conf = glob.glob(f"{dest}/**/lib/sysusers.d/migsec.conf", recursive=True)[0]
    root = os.path.join(scratch, "root")
    os.makedirs(os.path.join(root, "etc"))
    r = subprocess.run(["systemd-sysusers", f"--root={root}", conf], capture_output=True,
                       text=True, timeout=60)
    passwd = open(os.path.join(root, "etc", "passwd")).read() if r.returncode == 0 else ""
    check(re.search(r"^migsec:x:\d+:\d+:[^:]*:[^:]*:/usr/sbin/nologin$", passwd, flags=re.M),
          f"sysusers.d/migsec.conf creates a system user migsec with no login ({r.stderr.strip()})")


def main():
    with tempfile.TemporaryDirectory(prefix="migsec-op-units-", ignore_cleanup_errors=True) as scratch:
        dest = os.path.join(scratch, "dest")
        r = subprocess.run(["meson", "install", "-C", BUILD, "--destdir", dest, "--no-rebuild",
                            "--quiet"], capture_output=True, text=True, timeout=300)
        check(r.returncode == 0, f"meson install --destdir ({r.stderr.strip()[-300:]})")
        if r.returncode == 0:
            layout(dest)
            units = unit_paths(dest)
            memory_settings(units)
            if len(units) == len(UNITS):
                verify(dest, units)
            sysusers(dest, scratch)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
