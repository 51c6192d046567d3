#!/usr/bin/python3
"""Live-migrate a running QEMU VM between two hypervisor hosts through two
migsec appliances, under a one-shot key from migsecctl.

  migrate-vm.py --src-qmp ADDR --dst-qmp ADDR --src-host IP --dst-host IP \\
      --id ID --source APPLIANCE --destination APPLIANCE \\
      --source-outer IP --destination-outer IP [options]

The destination QEMU must already run with `-incoming defer` and the same
machine type, devices and memory size as the source (as for any QEMU
migration). Then, in order:

 1. both QMP monitors are checked (source running or paused, destination
    waiting for an incoming migration);
 2. migration capabilities and parameters are set on both (multifd,
    bandwidth, downtime, TLS credentials when asked);
 3. `migsecctl start` on both appliances (policy `required` by default):
    they seal the migration's TCP connections, selector
    src=SRC_HOST,dst=DST_HOST,proto=tcp,dport=PORT (and the replies);
 4. `migrate-incoming` on the destination, `migrate` on the source, a
    progress line every second, and once past --rekey-at percent of the
    first pass a `migsecctl rekey` (make-before-break);
 5. once both ends report completion: `migsecctl status` of the migration,
    then `migsecctl end` (the keys are wiped on both appliances).

On failure or Ctrl-C the source migration is cancelled first and the
migration ended on the appliances afterwards, so the key never outlives
it; `--lifetime` (default: --timeout + 60 s) bounds it even if this script
dies. The script never sees a key unless --key-stdin hands one over (80
hex digits: key and nonce, as `migsecctl start --key-stdin`; Python
cannot wipe it afterwards, so leave the key to migsecctl where you can).

QMP addresses: unix:PATH (or a path) or tcp:HOST:PORT. Keep QMP off any
network you do not trust (forward a remote unix socket with
`ssh -L /tmp/src.qmp:/run/vm.qmp host`). migsecctl: --migsecctl gives the
command (default "migsecctl"; its TLS files from --ca/--cert/--key in that
string or $MIGSECCTL_CA, $MIGSECCTL_CERT, $MIGSECCTL_KEY).

Exit status: 0 migrated; 1 the migration failed or was cancelled; 2 usage;
3 migsecctl refused or failed; 4 a QMP monitor unreachable or in the wrong
state.
"""
import argparse
import ipaddress
import json
import shlex
import socket
import subprocess
import sys
import time

MIB = 1 << 20


class QmpError(Exception):
    """A QMP monitor that cannot be reached or refuses a command."""


class Qmp:
    """A minimal QMP client: one command at a time, events skipped."""

    def __init__(self, addr, timeout=30.0):
        self.addr = addr
        try:
            if addr.startswith("tcp:"):
                host, _, port = addr[4:].rpartition(":")
                sock = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
            else:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(timeout)
                sock.connect(addr[5:] if addr.startswith("unix:") else addr)
        except (OSError, ValueError) as e:
            raise QmpError(f"{addr}: cannot connect: {e}") from e
        self.sock = sock
        self.f = sock.makefile("rwb")
        greeting = self._read()
        if "QMP" not in greeting:
            raise QmpError(f"{addr}: not a QMP monitor: {greeting}")
        self.cmd("qmp_capabilities")

    def _read(self):
        while True:
            line = self.f.readline()
            if not line:
                raise QmpError(f"{self.addr}: monitor closed the connection")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def cmd(self, name, timeout=None, **args):
        if timeout is not None:
            self.sock.settimeout(timeout)
        self.f.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        self.f.flush()
        msg = self._read()
        if "error" in msg:
            raise QmpError(f"{self.addr}: {name}: {msg['error'].get('desc', msg['error'])}")
        return msg.get("return")

    def hmp(self, line):
        return self.cmd("human-monitor-command", **{"command-line": line})

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass


class CtlError(Exception):
    """migsecctl refused or failed."""


class Migsec:
    """migsecctl for one migration."""

    def __init__(self, a):
        self.cmd = shlex.split(a.migsecctl)
        self.a = a
        self.apps = [a.source, a.destination]

    def run(self, *args, stdin=None, timeout=60):
        r = subprocess.run([*self.cmd, *args], input=stdin, capture_output=True, timeout=timeout)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    def start(self, selector, secret=None):
        a = self.a
        args = ["start", "--id", a.id, "--vm", a.vm or a.id, "--policy", a.policy,
                "--source", a.source, "--destination", a.destination,
                "--source-outer", a.source_outer, "--destination-outer", a.destination_outer,
                "--sel", selector, "--lifetime", str(a.lifetime or int(a.timeout) + 60)]
        if secret is not None:
            args.append("--key-stdin")
        rc, out, err = self.run(*args, stdin=(secret.hex().encode() + b"\n") if secret else None)
        if rc not in (0, 4):  # 4: opportunistic, downgraded (migsecctl says so)
            raise CtlError(f"migsecctl start ({rc}): {err.strip() or out.strip()}")
        return rc, out.strip()

    def rekey(self):
        rc, out, err = self.run("rekey", "--id", self.a.id, *self.apps)
        if rc != 0:
            raise CtlError(f"migsecctl rekey ({rc}): {err.strip()}")
        return "; ".join(out.split("\n")).strip("; ")

    def status(self):
        rc, out, err = self.run("--json", "status", "--id", self.a.id, *self.apps)
        if rc != 0:
            raise CtlError(f"migsecctl status ({rc}): {err.strip()}")
        return json.loads(out)

    def end(self):
        rc, out, err = self.run("end", "--id", self.a.id, *self.apps)
        if rc != 0:
            raise CtlError(f"migsecctl end ({rc}): {err.strip()}")
        return "; ".join(out.split("\n")).strip("; ")


def selector(a):
    net = ipaddress.ip_address(a.src_host)
    plen = 32 if net.version == 4 else 128
    return f"src={a.src_host}/{plen},dst={a.dst_host}/{plen},proto=tcp,dport={a.port}"


def uri(host, port):
    return f"tcp:[{host}]:{port}" if ":" in host else f"tcp:{host}:{port}"


def prepare(src, dst, a):
    """Capabilities and parameters on both ends; checks their states."""
    st = src.cmd("query-status")["status"]
    if st not in ("running", "paused"):
        raise QmpError(f"source VM is {st}, not running or paused")
    st = dst.cmd("query-status")["status"]
    if st != "inmigrate":
        raise QmpError(f"destination QEMU is {st}: start it with -incoming defer")
    caps = [{"capability": "multifd", "state": a.multifd > 0}]
    for q in (src, dst):
        q.cmd("migrate-set-capabilities", capabilities=caps)
    common = {"tls-creds": ""}
    if a.multifd:
        common["multifd-channels"] = a.multifd
    s_par = dict(common, **{"max-bandwidth": a.max_bandwidth, "downtime-limit": a.downtime_ms})
    d_par = dict(common)
    if a.tls_creds_source or a.tls_creds_destination:
        s_par["tls-creds"] = a.tls_creds_source
        s_par["tls-hostname"] = a.tls_hostname or a.dst_host
        d_par["tls-creds"] = a.tls_creds_destination
    src.cmd("migrate-set-parameters", **s_par)
    dst.cmd("migrate-set-parameters", **d_par)


def progress_line(info, t0):
    ram = info.get("ram", {})
    total, done = ram.get("total", 0), ram.get("transferred", 0)
    return (f"  {time.monotonic() - t0:6.1f} s  {info.get('status', '?'):10s} "
            f"sent {done / MIB:8.1f} MiB  remaining {ram.get('remaining', 0) / MIB:7.1f} MiB "
            f"of {total / MIB:.0f}  {ram.get('mbps', 0):7.1f} Mbit/s  "
            f"dirty {ram.get('dirty-pages-rate', 0)} pages/s  pass {ram.get('dirty-sync-count', 0)}")


def wait_completion(src, dst, a, mig, log, hooks):
    """Polls the source until the migration ends; rekeys once. Returns the
    source's final query-migrate."""
    t0 = time.monotonic()
    deadline = t0 + a.timeout
    rekeyed = a.rekey_at <= 0
    last = 0.0
    while True:
        info = src.cmd("query-migrate")
        status = info.get("status")
        now = time.monotonic()
        if status in ("completed", "failed", "cancelled"):
            break
        if now - last >= a.progress:
            log(progress_line(info, t0))
            last = now
            if hooks.get("progress"):
                hooks["progress"](info)
        ram = info.get("ram", {})
        if (not rekeyed and ram.get("total") and mig is not None
                and ram.get("transferred", 0) * 100 >= a.rekey_at * ram["total"]):
            rekeyed = True
            log(f"  rekey at {ram['transferred'] / MIB:.0f} MiB: {mig.rekey()}")
        if now > deadline:
            raise TimeoutError(f"migration not done after {a.timeout:.0f} s")
        time.sleep(0.1)
    if status != "completed":
        raise RuntimeError(f"migration {status}: {info.get('error-desc', 'no reason given')}")
    # QEMU (7.2) reports "completed" a moment before it fills in the totals
    # (migration_calculate_complete() runs after the state change): ask again,
    # for at most 2 s, until total-time is there.
    settle = time.monotonic() + 2
    while not info.get("total-time") and time.monotonic() < settle:
        time.sleep(0.02)
        info = src.cmd("query-migrate")
    if not info.get("total-time"):
        raise RuntimeError("QEMU reported the migration completed but no total-time within 2 s")
    # the destination loads the last pages after the source is done
    while True:
        d = dst.cmd("query-migrate").get("status")
        if d == "completed":
            break
        if d in ("failed", "cancelled") or time.monotonic() > deadline:
            raise RuntimeError(f"destination: incoming migration {d}")
        time.sleep(0.05)
    return info


def run(a, secret=None, hooks=None, log=None):
    """The whole flow (see the module's doc). Returns a dict of results;
    raises QmpError, CtlError, RuntimeError or TimeoutError."""
    hooks = hooks or {}
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    src = Qmp(a.src_qmp)
    try:
        dst = Qmp(a.dst_qmp)
    except BaseException:
        src.close()
        raise
    mig = None
    result = {"id": a.id, "policy": a.policy, "multifd": a.multifd,
              "tls": bool(a.tls_creds_source)}
    try:
        prepare(src, dst, a)
        if not a.no_migsec:
            m = Migsec(a)
            rc, out = m.start(selector(a), secret)
            result["start"] = out
            mig = m  # from here on, every way out ends it
            log(f"  migsecctl start {a.id} (policy {a.policy}, selector {selector(a)}): "
                + ("DOWNGRADED to plaintext: " + out if rc == 4 else "ok"))
        dst.cmd("migrate-incoming", uri=uri(a.listen or a.dst_host, a.port))
        if hooks.get("started"):
            hooks["started"]()
        t0 = time.monotonic()
        src.cmd("migrate", uri=uri(a.dst_host, a.port))
        info = wait_completion(src, dst, a, mig, log, hooks)
        result["wall_s"] = time.monotonic() - t0
        if hooks.get("completed"):
            hooks["completed"]()
        ram = info.get("ram", {})
        result.update({"total_ms": info.get("total-time"), "downtime_ms": info.get("downtime"),
                       "setup_ms": info.get("setup-time"), "ram_total": ram.get("total"),
                       "ram_transferred": ram.get("transferred"), "mbps": ram.get("mbps"),
                       "passes": ram.get("dirty-sync-count"), "normal_pages": ram.get("normal"),
                       "zero_pages": ram.get("duplicate"),
                       "destination": dst.cmd("query-status")["status"]})
        if mig is not None:
            result["status"] = mig.status()
    except BaseException:
        try:
            if src.cmd("query-migrate").get("status") in ("setup", "active", "device",
                                                          "pre-switchover"):
                src.cmd("migrate_cancel")
                log("  source migration cancelled")
        except (QmpError, OSError):
            pass
        raise
    finally:
        if mig is not None:
            try:
                result["end"] = mig.end()
                log(f"  migsecctl end {a.id}: ended on both appliances"
                    + (", its keys wiped" if a.policy != "disabled" else " (it had no key)"))
            except CtlError as e:
                log(f"  {e}")
                result["end_error"] = str(e)
        src.close()
        dst.close()
    return result


def summary(r):
    total = r.get("ram_transferred") or 0
    secs = (r.get("total_ms") or 0) / 1000
    lines = [f"migrated {r['id']}: {total / MIB:.1f} MiB in {secs:.2f} s "
             f"({total * 8 / secs / 1e9 if secs else 0:.2f} Gbit/s), downtime "
             f"{r.get('downtime_ms')} ms, {r.get('passes')} passes, destination "
             f"{r.get('destination')}"]
    for app, st in (r.get("status") or {}).items():
        for m in st.get("migrations", []):
            drops = {k: v for k, v in m.get("drops", {}).items() if v}
            lines.append(f"  {app}: {m['role']}, {'sealed' if m['sealed'] else 'NOT sealed'}, "
                         f"generation {m['generation']}, out {m['out_pkts']} packets "
                         f"({m['out_bytes']} B), in {m['in_pkts']} ({m['in_bytes']} B), "
                         f"drops {drops or 'none'}")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("the two hypervisor hosts")
    g.add_argument("--src-qmp", required=True, help="source QEMU's QMP: unix:PATH or tcp:HOST:PORT")
    g.add_argument("--dst-qmp", required=True, help="destination QEMU's QMP (-incoming defer)")
    g.add_argument("--src-host", required=True, help="source host's address on the migration network")
    g.add_argument("--dst-host", required=True, help="destination host's address (QEMU connects to it)")
    g.add_argument("--port", type=int, default=4444, help="migration TCP port (default 4444)")
    g.add_argument("--listen", help="address the destination listens on (default --dst-host)")
    g = p.add_argument_group("QEMU migration")
    g.add_argument("--multifd", type=int, default=0, metavar="N",
                   help="multifd with N channels (default 0: one stream)")
    g.add_argument("--max-bandwidth", type=int, default=10 << 30, metavar="BYTES/S",
                   help="QEMU's bandwidth cap (default 10 GiB/s; QEMU's own is 32 MiB/s)")
    g.add_argument("--downtime-ms", type=int, default=300, help="downtime limit (default 300)")
    g.add_argument("--tls-creds-source", default="", metavar="ID",
                   help="QEMU TLS: id of a tls-creds-x509 object (endpoint=client) on the source")
    g.add_argument("--tls-creds-destination", default="", metavar="ID",
                   help="QEMU TLS: id of a tls-creds-x509 object (endpoint=server) on the destination")
    g.add_argument("--tls-hostname", help="name the destination's certificate must carry (default --dst-host)")
    g.add_argument("--timeout", type=float, default=600, help="give up after S seconds (default 600)")
    g.add_argument("--progress", type=float, default=1.0, help="seconds between progress lines")
    g = p.add_argument_group("migsec")
    g.add_argument("--id", required=True, help="migration id (audit trail, status)")
    g.add_argument("--vm", help="VM name for the audit trail (default: the id)")
    g.add_argument("--source", help="source appliance's migsec-control, [NAME=]HOST:PORT")
    g.add_argument("--destination", help="destination appliance's migsec-control")
    g.add_argument("--source-outer", help="source appliance's outer (ESP) address")
    g.add_argument("--destination-outer", help="destination appliance's outer address")
    g.add_argument("--policy", default="required", choices=("required", "opportunistic", "disabled"))
    g.add_argument("--rekey-at", type=float, default=0, metavar="PCT",
                   help="migsecctl rekey once PCT %% of the RAM was sent (default 0: no rekey)")
    g.add_argument("--lifetime", type=int, help="migsecctl --lifetime (default --timeout + 60)")
    g.add_argument("--migsecctl", default="migsecctl", help="migsecctl command line (default migsecctl)")
    g.add_argument("--key-stdin", action="store_true",
                   help="read the one-shot key and nonce (80 hex digits) from stdin")
    g.add_argument("--no-migsec", action="store_true",
                   help="migrate without migsecctl (appliances elsewhere configured)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON line")
    a = p.parse_args(argv)
    if not a.no_migsec:
        missing = [o for o in ("source", "destination", "source_outer", "destination_outer")
                   if not getattr(a, o)]
        if missing:
            p.error("migsec needs " + ", ".join("--" + m.replace("_", "-") for m in missing)
                    + " (or --no-migsec)")
    for host in (a.src_host, a.dst_host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            p.error(f"{host!r} is not an IP address")
    if (":" in a.src_host) != (":" in a.dst_host):
        p.error("--src-host and --dst-host must be of one family")
    if not 1 <= a.port <= 65535 or a.multifd < 0 or a.multifd > 255:
        p.error("--port must be 1..65535 and --multifd 0..255")
    if bool(a.tls_creds_source) != bool(a.tls_creds_destination):
        p.error("QEMU TLS needs both --tls-creds-source and --tls-creds-destination")
    return a


def read_secret():
    line = sys.stdin.readline().strip()
    if len(line) != 80:
        raise ValueError("--key-stdin: expected 80 hex digits (key and nonce)")
    return bytes.fromhex(line)


def main(argv=None):
    a = parse_args(argv)
    try:
        secret = read_secret() if a.key_stdin else None
    except ValueError as e:
        print(f"migrate-vm: {e}", file=sys.stderr)
        return 2
    try:
        r = run(a, secret)
    except CtlError as e:
        print(f"migrate-vm: {e}", file=sys.stderr)
        return 3
    except (QmpError, OSError) as e:
        print(f"migrate-vm: QMP: {e}", file=sys.stderr)
        return 4
    except (RuntimeError, TimeoutError, KeyboardInterrupt) as e:
        print(f"migrate-vm: {e or 'interrupted'}", file=sys.stderr)
        return 1
    print(json.dumps(r) if a.json else summary(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
