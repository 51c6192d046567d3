#!/usr/bin/python3
"""ops: the Debian package.

1. `dpkg-buildpackage -us -uc -b` builds it from a copy of the source tree
   (DEB_BUILD_OPTIONS=nocheck noddebs parallel=N: the package build compiles
   the project again, without tests or migsec-pktgen).
2. `dpkg -x` unpacks it into a fresh directory: the expected files are there
   and every binary's --help (and --version where it has one) runs from
   there; the data plane validates the packaged example configuration with
   the packaged crypto profile (--check).
3. `dpkg -i` installs it, maintainer scripts included, into a copy-on-write
   clone of this system (deb_install.sh: an overlay of / on a tmpfs, in a
   private mount namespace, chrooted): the postinst creates the migsec user
   and enables both units; `systemd-analyze verify` is clean there; the
   binaries and man pages work. Then systemd itself boots in the clone (PID 1
   of its own PID and network namespaces) and runs both units: the data
   plane as root with exactly the unit's capabilities, migsec-control as
   migsec with none, both with no-new-privs and a seccomp filter; they talk,
   migsecctl reaches migsec-control over TLS, telemetry answers, the
   confined data plane seals packets, both stop with exit 0. `dpkg --purge`
   removes it all. The clone and everything in it vanish with the
   namespaces.
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
from ops_src import cap_mask, unit_caps  # noqa: E402
failures = []
EXPECTED = ["./usr/sbin/migsec-dataplane", "./usr/sbin/migsec-control", "./usr/bin/migsecctl",
            "./usr/bin/migsec-dpctl", "./lib/systemd/system/migsec-dataplane.service",
            "./lib/systemd/system/migsec-control.service", "./usr/lib/sysusers.d/migsec.conf",
            "./lib/systemd/system/migsec-libvirt-watch.service",
"./usr/share/migsec/pmd-profiles/aesni_gcm.conf",
            "./usr/share/doc/migsec/migsec.conf.example", "./usr/share/doc/migsec/deploy.md",
            "./usr/share/doc/migsec/troubleshooting.md", "./usr/share/man/man5/migsec.conf.5.gz",
            "./usr/share/man/man8/migsec-dataplane.8.gz", "./usr/share/man/man8/migsecctl.8.gz",
            "./usr/share/man/man8/migsec-control.8.gz", "./usr/share/man/man8/migsec-dpctl.8.gz",
            "./etc/migsec/"]
BINARIES = {"usr/sbin/migsec-dataplane": True, "usr/sbin/migsec-control": True,
            "usr/bin/migsecctl": False, "usr/bin/migsec-dpctl": False}  # has --version


def check(cond, what):
    print(f"{'ok' if cond else 'FAIL'}: {what}", flush=True)
    if not cond:
        failures.append(what)
    return cond


def copy_source(dst):
    """The tracked and new files of the checkout, without build directories."""
    r = subprocess.run(["git", "-C", TOP, "ls-files", "-z", "-co", "--exclude-standard"],
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        shutil.copytree(TOP, dst, ignore=shutil.ignore_patterns("build*", ".git"))
        return
    for rel in r.stdout.decode().split("\0"):
        if not rel or rel.split("/")[0].startswith("build") or not os.path.isfile(
                os.path.join(TOP, rel)):
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
        shutil.copy2(os.path.join(TOP, rel), os.path.join(dst, rel))


def build(scratch):
    src = os.path.join(scratch, "migsec")
    copy_source(src)
    env = dict(os.environ, DEB_BUILD_OPTIONS=f"nocheck noddebs parallel={os.cpu_count() or 2}")
    r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env,
                       capture_output=True, text=True, timeout=900)
    debs = glob.glob(os.path.join(scratch, "migsec_*.deb"))
    if not check(r.returncode == 0 and len(debs) == 1,
                 f"dpkg-buildpackage -us -uc -b built {[os.path.basename(d) for d in debs]}"):
        print((r.stdout + r.stderr)[-4000:], flush=True)
        return None
    return debs[0]


def unpacked(deb, scratch):
    contents = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                              timeout=60).stdout
    paths = {line.split()[-1] for line in contents.splitlines()}
    check(not [p for p in EXPECTED if p not in paths],
          f"the .deb holds {len(paths)} paths, all expected ones "
          f"(missing: {[p for p in EXPECTED if p not in paths]})")
    info = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True, text=True,
                          timeout=60).stdout
    check(all(d in info for d in ("dpdk", "librte-crypto-ipsec-mb23", "librte-eal23",
                                  "systemd-sysusers")),
          f"Depends names DPDK, the crypto PMD and sysusers: {info.strip()[:200]}...")
    root = os.path.join(scratch, "x")
    os.makedirs(root)
    subprocess.run(["dpkg", "-x", deb, root], check=True, timeout=60)
    for rel, has_version in BINARIES.items():
        exe = os.path.join(root, rel)
        r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and r.stdout.startswith("Usage:"),
              f"{rel} --help runs from the unpacked package")
        if has_version:
            v = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
            check(v.returncode == 0 and re.match(r"migsec-\w+ \d+\.\d+\.\d+", v.stdout),
                  f"{rel} --version: {v.stdout.strip()}")
    # The packaged example, read by the packaged binary with the packaged profile.
    conf = os.path.join(scratch, "example.conf")
    text = open(os.path.join(root, "usr/share/doc/migsec/migsec.conf.example")).read()
    prof = os.path.join(root, "usr/share/migsec/pmd-profiles")
    text = text.replace('  profile = "aesni_gcm";',
                        f'  profile = "aesni_gcm";\n  profile_dir = "{prof}";', 1)
    open(conf, "w").write(text)
    r = subprocess.run([os.path.join(root, "usr/sbin/migsec-dataplane"), "-c", conf, "--check"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and "configuration OK" in r.stdout,
          f"the packaged data plane validates the packaged example: {(r.stdout + r.stderr).strip()}")


CHROOT_OKS = 25  # "ok:" lines of deb_install.sh when all is well


def installed(deb, scratch):
    """deb_install.sh: dpkg -i into a clone of this system, then the units under systemd."""
    had_user = subprocess.run(["getent", "passwd", "migsec"], capture_output=True).returncode
    caps = cap_mask(unit_caps("migsec-dataplane.service"))
    p = subprocess.Popen(["unshare", "-m", "--propagation", "private", "bash",
                          os.path.join(TOP, "tests", "ops", "deb_install.sh"), deb, scratch],
                         env=dict(os.environ, DP_CAPS=caps), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGTERM)  # the script's trap kills what it started
        try:
            out, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
        err += "\n(timed out)"
    print(out.strip(), flush=True)
    oks = sum(line.startswith("ok: ") for line in out.splitlines())
    check(p.returncode == 0 and oks == CHROOT_OKS and "FAIL" not in out,
          f"installed into a copy-on-write clone of this system and ran under systemd: "
          f"{oks}/{CHROOT_OKS} checks (rc {p.returncode}) {err.strip()[-800:]}")
    check(subprocess.run(["getent", "passwd", "migsec"], capture_output=True).returncode
          == had_user and not os.path.exists("/lib/systemd/system/migsec-control.service"),
          "the real system is untouched (no migsec user or unit appeared)")


def main():
    with tempfile.TemporaryDirectory(prefix="migsec-op-deb-", ignore_cleanup_errors=True) as scratch:
        deb = build(scratch)
        if deb:
            unpacked(deb, scratch)
            installed(deb, scratch)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
