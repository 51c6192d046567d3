"""The comparison a user makes, shared by the VM demo (tests/demo.py, its
short form) and perf/vm-bench: the same VM, in one run, migrated

  (a) plaintext on the hosts' direct link, no appliance,
  (b) with QEMU's TLS on the direct link,
  (c) with QEMU's TLS and multifd on the direct link,
  (d) plaintext through migsec,
  (e) multifd through migsec,
  (f) multifd with zero-copy-send through migsec (QEMU refuses zero-copy
      with TLS, so there is no direct-link twin),

with per migration: time, Gbit/s, downtime, QEMU CPU seconds (without the
vCPU threads), the appliances' busy seconds (and without their port I/O),
total CPU seconds per GiB sent, and per host as an operator sizing one
reads it: the source host = its QEMU + its appliance, the destination host
likewise. Flow.timed() measures; this module runs, summarizes, formats.
"""
import statistics

from flow import MODES, OTHER, qemu_words
from qemu import mv

MIB, GIB = 1 << 20, 1 << 30
ORDER = tuple(MODES)
LETTER = dict(zip(ORDER, "abcdef"))
TEXT = {"plain": "plaintext, direct link",
        "tls": "QEMU TLS, direct link",
        "tls-multifd": "QEMU TLS multifd, direct link",
        "migsec": "plaintext through migsec",
        "migsec-multifd": "multifd through migsec",
        "migsec-zc": "multifd + zero-copy-send through migsec"}
# the per-migration figures, in the CSV's column order; None: not on the path
FIELDS = ("mib", "seconds", "gbps", "downtime_ms", "qemu_cpu", "app_busy", "app_busy_noio",
          "total_cpu", "cpu_per_gib", "src_host", "dst_host", "src_per_gib", "dst_per_gib",
          "qemu_src", "qemu_dst", "app_src", "app_dst", "dp_cpu")


def parse_modes(text):
    """A comma list of mode names (or letters a..f, or "all") in ORDER."""
    want = set()
    for w in text.split(","):
        w = w.strip()
        if w == "all":
            want |= set(ORDER)
        elif w in MODES:
            want.add(w)
        elif w in LETTER.values():
            want.add(next(m for m, x in LETTER.items() if x == w))
        else:
            raise ValueError(f"unknown mode {w!r}: one of {', '.join(ORDER)} (or a..f, all)")
    return [m for m in ORDER if m in want]


def run(flow, modes, rounds, channels, say, tag="cmp"):
    """Each round one migration per mode (the VM moves to the other host
    each time; every other round in reverse order, so that each mode goes
    both ways). Returns (runs {mode: [result]}, refused {mode: QEMU's
    words}): zero-copy-send, if QEMU refuses or fails it, is tried once,
    reported and skipped; any other mode's failure is the run's failure."""
    runs, refused = {m: [] for m in modes}, {}
    for rnd in range(rounds):
        for mode in (modes if rnd % 2 == 0 else modes[::-1]):
            if mode in refused:
                continue
            say(f"  ({LETTER[mode]}) {TEXT[mode]}: host {flow.host} -> {OTHER[flow.host]}")
            try:
                r = flow.timed(mode, f"{tag}-{mode}-{rnd}", channels)
            except (mv.QmpError, RuntimeError) as e:
                if not MODES[mode]["zc"]:
                    raise
                refused[mode] = qemu_words(e)
                say(f"    not possible here: {e}")
                continue
            if not r["runs"]:
                raise RuntimeError(f"{mode}: the VM does not run after the migration")
            runs[mode].append(r)
    return {m: rs for m, rs in runs.items() if rs}, refused


def figures(r):
    """The per-migration figures (FIELDS) of one Flow.timed() result."""
    c, sent = r["cpu"], r["ram_transferred"]
    direct = r["direct"]
    app = {k: (None if direct else c[k]) for k in ("app_src", "app_dst", "appliances",
                                                   "appliances_noio")}
    src = c["qemu_src"] + (app["app_src"] or 0)
    dst = c["qemu_dst"] + (app["app_dst"] or 0)
    return {"mib": sent / MIB, "seconds": r["wall_s"], "gbps": sent * 8 / r["wall_s"] / 1e9,
            "downtime_ms": r["downtime_ms"], "qemu_cpu": c["qemu"],
            "app_busy": app["appliances"], "app_busy_noio": app["appliances_noio"],
            "total_cpu": src + dst, "cpu_per_gib": (src + dst) / (sent / GIB),
            "src_host": src, "dst_host": dst, "src_per_gib": src / (sent / GIB),
            "dst_per_gib": dst / (sent / GIB), "qemu_src": c["qemu_src"],
            "qemu_dst": c["qemu_dst"], "app_src": app["app_src"], "app_dst": app["app_dst"],
            "dp_cpu": c["dp"]}


def summarize(runs):
    """Per mode the median of each figure over its migrations."""
    rows = {}
    for mode, rs in runs.items():
        per = [figures(r) for r in rs]
        row = {k: (None if per[0][k] is None else statistics.median(p[k] for p in per))
               for k in FIELDS}
        row.update(mode=mode, migrations=len(rs),
                   zero_copy=all(r["zero_copy"] for r in rs),
                   zero_copy_missed=sum(r["zero_copy_missed"] or 0 for r in rs))
        rows[mode] = row
    return rows


def _f(v, fmt):
    return "-" if v is None else format(v, fmt)


def table(rows, refused):
    """Markdown lines: one row per mode in ORDER, refused modes with QEMU's words."""
    out = ["| mode | MiB sent | time s | Gbit/s | downtime ms | QEMU CPU s | appliances busy s "
           "| busy w/o port I/O s | total CPU s/GiB | source host s (s/GiB) "
           "| destination host s (s/GiB) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for mode in ORDER:
        name = f"({LETTER[mode]}) {TEXT[mode]}"
        if mode in refused:
            out.append(f"| {name} | not possible here: {refused[mode]} |" + " |" * 9)
        if mode not in rows:
            continue
        w = rows[mode]
        out.append(f"| {name} | {w['mib']:.0f} | {w['seconds']:.2f} | {w['gbps']:.2f} | "
                   f"{w['downtime_ms']:.0f} | {w['qemu_cpu']:.2f} | {_f(w['app_busy'], '.2f')} | "
                   f"{_f(w['app_busy_noio'], '.2f')} | {w['cpu_per_gib']:.2f} | "
                   f"{w['src_host']:.2f} ({w['src_per_gib']:.2f}) | "
                   f"{w['dst_host']:.2f} ({w['dst_per_gib']:.2f}) |")
    return out


def ratios(rows):
    """Lines comparing what a user would weigh: QEMU's TLS against migsec,
    per host and in time."""
    out = []
    for tls, ms in (("tls", "migsec"), ("tls-multifd", "migsec-multifd"),
                    ("tls-multifd", "migsec-zc")):
        if tls in rows and ms in rows:
            t, m = rows[tls], rows[ms]
            parts = [f"{what} {t[k] / m[k]:.2f}x" for what, k in
                     (("source host CPU/GiB", "src_per_gib"),
                      ("destination host CPU/GiB", "dst_per_gib"), ("time", "seconds"))
                     if m[k]]
            out.append(f"({LETTER[tls]}) / ({LETTER[ms]}): " + ", ".join(parts))
    return out


NOTES = ("QEMU CPU: both QEMU processes without their vCPU threads (the guest's own work). "
         "Appliances busy: each worker's time on a core times the share of its loop cycles "
         "that moved packets; without port I/O: less the cycles inside the ports' RX/TX "
         "bursts (af_packet copies here, which a NIC's DMA makes). A host: its QEMU plus, "
         "through migsec, its appliance; \"-\": no appliance on the path. Per GiB: of RAM "
         "sent. Time: from `migrate` until both ends say completed.")
