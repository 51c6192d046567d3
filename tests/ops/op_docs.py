#!/usr/bin/python3
"""ops: the documentation matches the code.

- docs/troubleshooting.md has a row (cause and fix) for every drop reason of
  common/ms_counters.h and every audit event control/ can emit, and none for
  a reason or event that does not exist; the README's Counters table and
  audit event list name them all too.
- Each man page documents every long option of its binary's --help and the
  same exit statuses; migsec.conf(5) names every setting the parsers accept
  and none they do not; migsec-control(8) lists every audit event.
- The README's telemetry table and migsec-dataplane(8) list exactly the
  endpoints the data plane registers.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ops_src import (audit_events, drop_reasons, known_settings, read,  # noqa: E402
                     readme_telemetry, telemetry_endpoints)

BUILD = os.environ.get("BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
BINS = {"migsec-dataplane": ("dataplane/migsec-dataplane", "man/migsec-dataplane.8.in"),
        "migsec-control": ("control/migsec-control", "man/migsec-control.8.in"),
        "migsecctl": ("control/migsecctl", "man/migsecctl.8.in"),
        "migsec-dpctl": ("tools/migsec-dpctl", "man/migsec-dpctl.8.in")}
failures = []


def check(cond, what):
    if cond:
        print(f"ok: {what}", flush=True)
    else:
        print(f"FAIL: {what}", flush=True)
        failures.append(what)


def table_rows(md, heading):
    """{name: [cells]} of the table under '## heading' whose first cell is `name`."""
    start = md.find(f"\n## {heading}\n")
    if start < 0:
        return {}
    sec = md[start + 1:]
    end = sec.find("\n## ")
    sec = sec if end < 0 else sec[:end]
    rows = {}
    for line in sec.splitlines():
        m = re.match(r"^\| `([a-z0-9_]+)` \|(.*)\|\s*$", line)
        if m:
            rows[m.group(1)] = [c.strip() for c in m.group(2).split("|")]
    return rows


def troubleshooting():
    md = read("docs/troubleshooting.md")
    for heading, names in (("Drop reasons", set(drop_reasons())),
                           ("Audit events", audit_events()[0])):
        rows = table_rows(md, heading)
        check(not names - rows.keys(),
              f"troubleshooting '{heading}' covers all {len(names)} "
              f"(missing: {sorted(names - rows.keys())})")
        check(not rows.keys() - names,
              f"troubleshooting '{heading}' names nothing the code lacks "
              f"(stale: {sorted(rows.keys() - names)})")
        thin = [n for n, cells in rows.items() if len(cells) < 3 or not all(cells[:3])]
        check(not thin, f"troubleshooting '{heading}': every row has meaning, cause and fix "
                        f"(incomplete: {thin})")


def readme_lists():
    r = read("README.md")
    counters = r[r.index("\n## Counters\n"):]
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", counters[:counters.index("###")],
                                flags=re.M))
    check(documented == set(drop_reasons()),
          f"README Counters table == MS_DROP_REASONS (diff {sorted(documented ^ set(drop_reasons()))})")
    audit = r[r.index("### Audit trail"):]
    audit = audit[:audit.index("\n### ")]
    events, where = audit_events()
    missing = [f"{e} ({where[e]})" for e in sorted(events) if f"`{e}`" not in audit]
    check(not missing, f"README audit trail lists every event (missing: {missing})")


def help_text(rel):
    r = subprocess.run([os.path.join(BUILD, rel), "--help"], capture_output=True, text=True,
                       timeout=10)
    check(r.returncode == 0, f"{rel} --help exits 0")
    return r.stdout


def section(man, name):
    m = re.search(r"^\.SH %s\n(.*?)(?=^\.SH )" % re.escape(name), man, flags=re.M | re.S)
    return m.group(1) if m else ""


def man_pages():
    for prog, (binary, page) in BINS.items():
        helptext, man = help_text(binary), read(page)
        opts = set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", helptext))
        missing = sorted(o for o in opts if f"\\-\\-{o.replace('-', chr(92) + '-')}" not in man)
        check(opts and not missing, f"{prog}(8) documents its {len(opts)} long options "
                                    f"(missing: {missing})")
        # Commands ("  sa add OPTIONS", "  crypto failover", "  top [--interval ...").
        cmds = set(re.findall(r"^  ([a-z]+(?: (?:list|add|del|failover))?)(?=\s|$)", helptext,
                              flags=re.M))
        commands = section(man, "COMMANDS")
        missing = sorted(c for c in cmds if not re.search(
            r'^\.(?:BR?|BI) "?%s(?:\s|"|$)' % re.escape(c).replace("\\ ", " "),
            commands, flags=re.M))
        check(not missing, f"{prog}(8) COMMANDS documents its {len(cmds)} commands "
                           f"(missing: {missing})")
        if prog in ("migsec-dataplane", "migsec-control"):
            man_opts = set(re.findall(r"\\-\\-([a-z][a-z\\-]*)", section(man, "OPTIONS")))
            man_opts = {o.replace("\\-", "-") for o in man_opts}
            check(man_opts == opts, f"{prog}(8) OPTIONS == --help ({sorted(man_opts ^ opts)})")
        st = helptext[helptext.index("Exit status:"):]
        codes = set(re.findall(r"(?:^|[\s;:,])([0-9])(?= )", st))
        man_codes = set(re.findall(r"^\.B ([0-9])$", section(man, "EXIT STATUS"), flags=re.M))
        check(codes and codes == man_codes,
              f"{prog}(8) EXIT STATUS {sorted(man_codes)} == --help {sorted(codes)}")


def conf_page():
    man = read("man/migsec.conf.5.in")
    known = known_settings()
    missing = sorted(s for s in known if not re.search(r"\b%s\b" % re.escape(s), man))
    check(not missing, f"migsec.conf(5) documents all {len(known)} settings (missing: {missing})")
    groups = "eal|crypto|inner|outer|remote|policy|limits|poll|control|mgmt|profile"
    named = set(re.findall(r"\b((?:%s)\.[a-z][a-z0-9_]*)\b" % groups, man))
    check(not named - known, f"migsec.conf(5) names no setting the parsers reject "
                             f"({sorted(named - known)})")
    events = audit_events()[0]
    ctl = read("man/migsec-control.8.in")
    missing = sorted(e for e in events if not re.search(r"^\.BR? %s\b" % e, ctl, flags=re.M))
    check(not missing, f"migsec-control(8) lists every audit event (missing: {missing})")


def telemetry_docs():
    code = set(telemetry_endpoints())
    readme = {e.split(",")[0] for e in readme_telemetry()}
    check(readme == code, f"README telemetry table == registered endpoints "
                          f"({sorted(readme ^ code)})")
    man = read("man/migsec-dataplane.8.in")
    missing = sorted(e for e in code if not re.search(r"^\.BI? %s\b" % re.escape(e), man,
                                                        flags=re.M))
    check(not missing, f"migsec-dataplane(8) lists every endpoint (missing: {missing})")


def main():
    troubleshooting()
    readme_lists()
    man_pages()
    conf_page()
    telemetry_docs()
    if failures:
        print(f"{len(failures)} check(s) failed", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
