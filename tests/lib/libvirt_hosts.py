"""Two libvirt hosts on one machine (LAB-NOTES, "Two libvirt hosts on one
machine"): a libvirtd per network namespace, each in its own mount and UTS
namespace in which /etc/libvirt, /run/libvirt, /var/lib/libvirt,
/var/log/libvirt and /var/cache/libvirt are bind-mounted from a private
tree, with its own host_uuid and hostname. The qemu hook of each host is
$D/etc/hooks/qemu. Clients reach each as qemu+tcp://ADDR/system.

stop() destroys every domain, stops both daemons by their pid files,
kills any qemu left behind (by their pid files) and removes the trees.
"""
import os
import shutil
import signal
import subprocess
import time
import uuid

VIRSH = "/usr/bin/virsh"
QEMU = "/usr/bin/qemu-system-x86_64"
DIRS = {"run": "/run/libvirt", "lib": "/var/lib/libvirt", "etc": "/etc/libvirt",
        "log": "/var/log/libvirt", "cache": "/var/cache/libvirt"}


def domain_xml(name, mem_mib=48, disk=None, ram_blob=None):
    """A small TCG domain without graphics, and without disk unless disk (a
    qcow2 file, as the host's libvirtd sees it) is given: SeaBIOS finds
    nothing to boot and waits; enough to migrate. ram_blob (a file as the
    host sees it): QEMU's loader device puts it into guest RAM at 16 MiB,
    so that the RAM holds that much that is not zero (it must exist on the
    destination too: QEMU starts there with the same arguments)."""
    qemu_ns = " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" if ram_blob else ""
    blob_xml = (f"""  <qemu:commandline>
    <qemu:arg value='-device'/>
    <qemu:arg value='loader,file={ram_blob},addr=0x1000000,force-raw=on'/>
  </qemu:commandline>
""" if ram_blob else "")
    disk_xml = (f"""    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
""" if disk else "")
    return f"""<domain type='qemu'{qemu_ns}>
  <name>{name}</name>
  <memory unit='MiB'>{mem_mib}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{QEMU}</emulator>
{disk_xml}    <serial type='pty'/>
    <memballoon model='none'/>
  </devices>
{blob_xml}</domain>
"""


class Host:
    def __init__(self, name, netns, addr, root, hook=None, qemu_conf=""):
        """qemu_conf: lines appended to this host's own qemu.conf."""
        self.name, self.netns, self.addr = name, netns, addr
        self.dir = os.path.join(root, name)
        self.uri = f"qemu+tcp://{addr}/system"
        self.hook, self.qemu_conf = hook, qemu_conf

    def start(self):
        if os.path.exists(self.dir):
            shutil.rmtree(self.dir)
        for d in DIRS:
            if d != "etc":
                os.makedirs(os.path.join(self.dir, d))
        etc = os.path.join(self.dir, "etc")
        shutil.copytree("/etc/libvirt", etc, symlinks=True)
        shutil.rmtree(os.path.join(etc, "qemu", "networks", "autostart"), ignore_errors=True)
        with open(os.path.join(etc, "libvirtd.conf"), "a") as f:
            f.write(f'listen_tls = 0\nlisten_tcp = 1\nauth_tcp = "none"\n'
                    f'host_uuid = "{uuid.uuid4()}"\n')
        if self.qemu_conf:
            with open(os.path.join(etc, "qemu.conf"), "a") as f:
                f.write(self.qemu_conf)
        os.makedirs(os.path.join(etc, "hooks"), exist_ok=True)
        if self.hook:
            path = os.path.join(etc, "hooks", "qemu")
            with open(path, "w") as f:
                f.write(self.hook)
            os.chmod(path, 0o755)
        # A mount point missing on this machine (/run/libvirt without a
        # running libvirtd) is made empty here and removed again by stop().
        self.made = [m for m in DIRS.values() if not os.path.isdir(m)]
        for m in self.made:
            os.makedirs(m)
        mounts = " && ".join(f"mount --bind {self.dir}/{d} {m}" for d, m in DIRS.items())
        script = (f"set -e; mount --make-rprivate /; {mounts}; hostname {self.name}; "
                  "virtlogd -d -p /run/libvirt/virtlogd.pid && "
                  "libvirtd -d --listen -p /run/libvirt/libvirtd.pid")
        subprocess.run(["ip", "netns", "exec", self.netns, "unshare", "-m", "-u", "sh", "-c",
                        script], check=True, timeout=30)
        for _ in range(100):
            if self.virsh("version", check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: libvirtd does not answer on {self.uri}")

    def virsh(self, *args, check=True, timeout=60, stdin=None):
        r = subprocess.run(["ip", "netns", "exec", self.netns, VIRSH, "-c", self.uri, *args],
                           capture_output=True, text=True, timeout=timeout, input=stdin)
        if check and r.returncode != 0:
            raise RuntimeError(f"{self.name}: virsh {' '.join(args)} ({r.returncode}): "
                               f"{r.stderr.strip()}")
        return r

    def run(self, cmd, check=False, timeout=60):
        return subprocess.run(["ip", "netns", "exec", self.netns, *cmd], capture_output=True,
                              text=True, timeout=timeout, check=check)

    def domains(self):
        r = self.virsh("list", "--name", check=False)
        return [d for d in r.stdout.split() if d]

    def create(self, name, disk=None, ram_blob=None):
        """A running transient domain; disk (a qcow2 file) and ram_blob: names
        of files under images()."""
        path = os.path.join(self.dir, f"{name}.xml")
        img = "/var/lib/libvirt/images"
        with open(path, "w") as f:
            f.write(domain_xml(name, disk=disk and f"{img}/{disk}",
                               ram_blob=ram_blob and f"{img}/{ram_blob}"))
        self.virsh("create", path)

    def images(self):
        """This host's /var/lib/libvirt/images, as seen from outside its mount namespace."""
        d = os.path.join(self.dir, "lib", "images")
        os.makedirs(d, exist_ok=True)
        return d

    @property
    def local_uri(self):
        """libvirtd's UNIX socket, reachable from any network namespace (path-bound)."""
        return f"qemu+unix:///system?socket={self.dir}/run/libvirt-sock"

    def _kill_pidfile(self, path):
        try:
            with open(path) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            return None
        return pid

    def stop(self):
        if not os.path.isdir(self.dir):
            return
        for d in self.domains():
            self.virsh("destroy", d, check=False)
        pids = [self._kill_pidfile(os.path.join(self.dir, "run", f))
                for f in ("libvirtd.pid", "virtlogd.pid")]
        qemu = os.path.join(self.dir, "run", "qemu")
        for f in os.listdir(qemu) if os.path.isdir(qemu) else []:
            if f.endswith(".pid"):
                pids.append(self._kill_pidfile(os.path.join(qemu, f)))
        for pid in [p for p in pids if p]:
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)
        for m in getattr(self, "made", []):
            try:
                os.rmdir(m)
            except OSError:
                pass    # the other host still uses it, or it is not empty
