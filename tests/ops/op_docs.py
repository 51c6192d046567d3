#!/usr/bin/python3
"""ops: the documentation matches the code.

- docs/troubleshooting.md has a row (cause and fix) for every drop reason of
  common/ms_counters.h and every audit event control/ can emit, and none for
  a reason or event that does not exist; the Counters table of
  docs/operations.md and the audit trail of docs/management.md name them all
  too.
- Each man page documents every long option of its binary's --help and the
  same exit statuses; migsec.conf(5) names every setting the parsers accept
  and none they do not; migsec-control(8) lists every audit event.
- The Telemetry table of docs/operations.md and migsec-dataplane(8) list
  exactly the endpoints the data plane registers.
- Every relative link of README.md and docs/*.md leads to a file that exists
  and, for a Markdown file, to a heading it has.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ops_src import (TOP, audit_events, doc_telemetry, drop_reasons, tamper_reasons,  # noqa: E402
                     known_settings, md_section, read, telemetry_endpoints)

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


def table_rows(rel, heading):
    """{name: [cells]} of the table under '## heading' whose first cell is `name`."""
    rows = {}
    for line in md_section(rel, heading).splitlines():
        m = re.match(r"^\| `([a-z0-9_]+)` \|(.*)\|\s*$", line)
        if m:
            rows[m.group(1)] = [c.strip() for c in m.group(2).split("|")]
    return rows


def troubleshooting():
    for heading, names in (("Drop reasons", set(drop_reasons())),
                           ("Audit events", audit_events()[0])):
        rows = table_rows("docs/troubleshooting.md", heading)
        check(not names - rows.keys(),
              f"troubleshooting '{heading}' covers all {len(names)} "
              f"(missing: {sorted(names - rows.keys())})")
        check(not rows.keys() - names,
              f"troubleshooting '{heading}' names nothing the code lacks "
              f"(stale: {sorted(rows.keys() - names)})")
        thin = [n for n, cells in rows.items() if len(cells) < 3 or not all(cells[:3])]
        check(not thin, f"troubleshooting '{heading}': every row has meaning, cause and fix "
                        f"(incomplete: {thin})")
    rows = table_rows("docs/troubleshooting.md", "Drop reasons")
    said = {n for n, cells in rows.items() if "audited as `tamper_drops`" in " ".join(cells)}
    check(said == tamper_reasons(),
          f"troubleshooting says 'audited as tamper_drops' for exactly the tamper reasons of "
          f"common/ms_counters.h (missing: {sorted(tamper_reasons() - said)}, "
          f"stale: {sorted(said - tamper_reasons())})")


def doc_lists():
    documented = set(table_rows("docs/operations.md", "Counters"))
    check(documented == set(drop_reasons()),
          f"docs/operations.md Counters table == MS_DROP_REASONS "
          f"(diff {sorted(documented ^ set(drop_reasons()))})")
    audit = md_section("docs/management.md", "Audit trail")
    events, where = audit_events()
    missing = [f"{e} ({where[e]})" for e in sorted(events) if f"`{e}`" not in audit]
    check(not missing, f"docs/management.md audit trail lists every event (missing: {missing})")


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
    doc = {e.split(",")[0] for e in doc_telemetry()}
    check(doc == code, f"docs/operations.md telemetry table == registered endpoints "
                       f"({sorted(doc ^ code)})")
    man = read("man/migsec-dataplane.8.in")
    missing = sorted(e for e in code if not re.search(r"^\.BI? %s\b" % re.escape(e), man,
                                                        flags=re.M))
    check(not missing, f"migsec-dataplane(8) lists every endpoint (missing: {missing})")


def md_anchor(heading):
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def md_outside_code(md):
    """The lines of md outside fenced code blocks."""
    out, fenced = [], False
    for line in md.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            out.append(line)
    return out


def md_anchors(md):
    """The anchors of md's headings; a repeated heading gets -1, -2, ... as on GitHub."""
    anchors, seen = set(), {}
    for line in md_outside_code(md):
        m = re.match(r"^#{1,6} (.*)$", line)
        if m:
            a = md_anchor(m.group(1))
            n = seen.get(a, 0)
            seen[a] = n + 1
            anchors.add(a if n == 0 else f"{a}-{n}")
    return anchors


def links():
    """Every relative link of README.md and docs/*.md resolves, anchor included."""
    pages = ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(
        os.path.join(TOP, "docs")) if f.endswith(".md"))
    bad, n, anchors = [], 0, {}
    for page in pages:
        text = "\n".join(md_outside_code(read(page)))
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target):
                continue  # http:, https:, mailto:
            n += 1
            path, _, anchor = target.partition("#")
            rel = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            if not os.path.exists(os.path.join(TOP, rel)):
                bad.append(f"{page}: {target} (no file {rel})")
                continue
            if not anchor or not rel.endswith(".md"):
                continue
            if rel not in anchors:
                anchors[rel] = md_anchors(read(rel))
            if anchor not in anchors[rel]:
                bad.append(f"{page}: {target} (no heading #{anchor} in {rel})")
    check(n > 0 and not bad, f"all {n} relative links of README.md and docs/ resolve (broken: {bad})")


def module_map():
    """docs/architecture.md names every source file of the programs, by its
    folder and name (a .c/.h pair may be written ms_x.c/.h), and no file that
    does not exist: the map is how a change finds its folder."""
    doc = read("docs/architecture.md")
    r = subprocess.run(["git", "ls-files", "common", "dataplane", "control", "tools"], cwd=TOP,
                       capture_output=True, text=True)
    files = [f for f in r.stdout.split() if f.endswith((".c", ".h"))]
    if r.returncode != 0 or not files:  # not a git checkout (a source package): walk the tree
        files = [os.path.relpath(os.path.join(d, f), TOP)
                 for top in ("common", "dataplane", "control", "tools")
                 for d, _, fs in os.walk(os.path.join(TOP, top)) for f in fs
                 if f.endswith((".c", ".h"))]
    named = set(re.findall(r"`(?:[\w/]+/)?(\w+)\.c/\.h`", doc))
    named |= {n + ext for n in named for ext in (".c", ".h")}
    named |= set(re.findall(r"`(?:[\w/]+/)?([A-Za-z]\w*\.[ch])`", doc))
    missing = sorted(f for f in files if os.path.basename(f) not in named)
    check(not missing, f"docs/architecture.md's module map names every source file "
                       f"(missing: {missing})")
    every = {os.path.basename(d) for d in subprocess.run(
        ["git", "ls-files"], cwd=TOP, capture_output=True, text=True).stdout.split()} | \
        {os.path.basename(f) for f in files}
    stale = sorted(n for n in re.findall(r"`(?:[\w/]+/)?([A-Za-z]\w*\.[ch])`", doc) if n not in every)
    check(not stale, f"docs/architecture.md names no source file that does not exist (stale: {stale})")


def main():
    module_map()
    troubleshooting()
    doc_lists()
    links()
    man_pages()
    conf_page()
    telemetry_docs()
    if failures:
        print(f"{len(failures)} check(s) failed", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
