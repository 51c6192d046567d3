"""What the sources say, for the ops tests: drop reasons, audit events,
configuration settings, telemetry endpoints, the systemd units'
capabilities. Each is read from the code itself, so that documentation
that falls behind the code fails a test."""
import os
import re

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(rel):
    with open(os.path.join(TOP, rel)) as f:
        return f.read()


def strip_comments(c):
    return re.sub(r"/\*.*?\*/", " ", re.sub(r"//[^\n]*", "", c), flags=re.S)


def _xmacro(name):
    """The X(...) rows of the X-macro table '#define NAME(X)' of common/ms_counters.h,
    each as its list of arguments (strings still quoted), in order."""
    h = read("common/ms_counters.h")
    block = h[h.index(f"#define {name}(X)"):]
    block = block[:block.index("\n\n")]
    return [[a.strip() for a in re.findall(r'\s*("(?:[^"\\]|\\.)*"|[^,]+)', row)]
            for row in re.findall(r"\bX\((.*?)\)\s*(?:\\\n|$)", block, flags=re.M)]


def drop_reasons():
    """The names of common/ms_counters.h's MS_DROP_REASONS X-macro, in order."""
    names = [row[1].strip('"') for row in _xmacro("MS_DROP_REASONS")]
    if len(names) < 10 or not all(re.fullmatch(r"[a-z0-9_]+", n) for n in names):
        raise AssertionError(f"cannot read MS_DROP_REASONS ({names})")
    return names


def tamper_reasons():
    """The drop reasons whose tamper column in MS_DROP_REASONS is 1: the ones
    migsec-control audits as tamper_drops."""
    rows = _xmacro("MS_DROP_REASONS")
    if not all(row[2].strip() in ("0", "1") for row in rows):
        raise AssertionError(f"cannot read the tamper column of MS_DROP_REASONS ({rows})")
    return {row[1].strip('"') for row in rows if row[2].strip() == "1"}


def _call_args(text, start):
    """Top-level arguments of the call whose '(' is at text[start]."""
    depth, args, cur = 0, [], ""
    for ch in text[start:]:
        if ch == "(":
            depth += 1
            if depth == 1:
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append(cur.strip())
                return args
        elif ch == "," and depth == 1:
            args.append(cur.strip())
            cur = ""
            continue
        cur += ch
    raise AssertionError("unbalanced call")


def _literals(arg):
    """"x" -> {x}; cond ? "a" : "b" -> {a, b}; None if not made of literals."""
    m = re.fullmatch(r'"([a-z_]+)"', arg)
    if m:
        return {m.group(1)}
    m = re.fullmatch(r'[^?"]+\?\s*"([a-z_]+)"\s*:\s*"([a-z_]+)"', arg, flags=re.S)
    if m:
        return {m.group(1), m.group(2)}
    return None


def audit_events():
    """Every event name control/*.c can pass to mc_audit(), directly or
    through a helper that forwards its 'const char *event' parameter. A call
    whose event is neither literals nor such a forwarded parameter fails:
    this reader would otherwise miss events."""
    events, where = set(), {}
    for fn in sorted(os.path.relpath(os.path.join(d, f), os.path.join(TOP, "control"))
                     for d, _, fs in os.walk(os.path.join(TOP, "control")) for f in fs):
        if not fn.endswith(".c"):
            continue
        code = strip_comments(read(os.path.join("control", fn)))
        # Forwarders defined in this file: name -> index of the event parameter.
        fwd = {"mc_audit": 0}
        for m in re.finditer(r"\n(?:static\s+)?\w[\w\s\*]*?\b(\w+)\s*\(([^)]*)\)\s*\{", code):
            params = [p.strip() for p in m.group(2).split(",")]
            for i, p in enumerate(params):
                if re.fullmatch(r"const\s+char\s*\*\s*event", p) and m.group(1) != "mc_audit":
                    fwd[m.group(1)] = i
        for name, idx in fwd.items():
            for m in re.finditer(r"\b%s\s*\(" % re.escape(name), code):
                args = _call_args(code, m.end() - 1)
                if any(re.match(r"(const\s+)?(char|struct|json_t)\b", a) for a in args):
                    continue  # the definition or a declaration
                arg = args[idx]
                if arg == "event":
                    continue  # inside a forwarder: its callers are read
                lits = _literals(arg)
                line = code[:m.start()].count("\n") + 1
                if lits is None:
                    raise AssertionError(f"control/{fn}:{line}: cannot tell which audit event "
                                         f"{name}({arg}, ...) emits; pass a literal")
                for e in lits:
                    events.add(e)
                    where.setdefault(e, f"control/{fn}:{line}")
    if len(events) < 10:
        raise AssertionError(f"too few audit events found: {sorted(events)}")
    return events, where


def _known_arrays(code):
    """[(enclosing function, array name, [names])] of 'static const char *const known...[]'."""
    out = []
    for m in re.finditer(r"static const char \*const (known\w*)\[\] = \{(.*?)\};", code, flags=re.S):
        fn = re.findall(r"\n(\w+)\(", code[:m.start()])
        out.append((fn[-1] if fn else "", m.group(1), re.findall(r'"([a-z0-9_]+)"', m.group(2))))
    return out


def known_settings():
    """group.setting for every setting the parsers accept (their known[] lists). An
    array this reader cannot place in a group fails: it would otherwise miss settings."""
    out = set()
    groups = {"load_eal": "eal", "load_remote": "remote", "load_policy": "policy",
              "load_poll": "poll", "load_crypto": "crypto", "known_limits": "limits",
              "known_ctl": "control", "known_inner": "inner", "known_outer": "outer",
              "load_hardening": "hardening"}
    # The schema is split by group: ms_conf.c, ms_conf_net.c, ... (every ms_conf*.c).
    schema = sorted(f for f in os.listdir(os.path.join(TOP, "dataplane/setup"))
                    if re.fullmatch(r"ms_conf\w*\.c", f))
    for src in schema:
        for fn, arr, names in _known_arrays(strip_comments(read("dataplane/setup/" + src))):
            if fn == "ms_conf_load":
                out.update(n for n in names if n == "name")  # the rest are groups
                continue
            grp = groups.get(arr) or groups.get(fn)
            if grp is None:
                raise AssertionError(f"{src}: {fn}() {arr}[]: which group is that?")
            out.update(f"{grp}.{n}" for n in names)
    for fn, arr, names in _known_arrays(strip_comments(read("control/daemon/mc_conf.c"))):
        grp = "mgmt.clients" if arr == "known_client" else "mgmt"  # an entry of the list
        out.update(f"{grp}.{n}" for n in names)
    for fn, arr, names in _known_arrays(strip_comments(read("dataplane/setup/ms_profile.c"))):
        out.update(f"profile.{n}" for n in names)
    if "name" not in out or len(out) < 50:
        raise AssertionError(f"cannot read the settings ({len(out)})")
    return out


def telemetry_endpoints():
    """The commands dataplane/ctl/ms_telemetry.c registers."""
    c = read("dataplane/ctl/ms_telemetry.c")
    eps = re.findall(r'rte_telemetry_register_cmd\("(/migsec/[a-z/_]+)"', c)
    if len(eps) < 5:
        raise AssertionError(f"cannot read the telemetry endpoints ({eps})")
    return eps


def md_section(rel, heading):
    """The text of the section '## heading' of Markdown file rel, up to the next
    '## ' heading. A missing section fails: the docs were moved or renamed."""
    md = read(rel)
    start = md.find(f"\n## {heading}\n")
    if start < 0:
        raise AssertionError(f"{rel}: no section '## {heading}'")
    sec = md[start + 1:]
    end = sec.find("\n## ", 1)
    return sec if end < 0 else sec[:end]


def doc_telemetry():
    """Endpoints in the Telemetry table of docs/operations.md, as written
    (/migsec/sa/info,<id>)."""
    return re.findall(r"^\| `(/migsec/[^`]+)` \|", md_section("docs/operations.md", "Telemetry"),
                      flags=re.M)




def unit_caps(unit):
    """CapabilityBoundingSet= of a unit template in systemd/, as setpriv wants it."""
    t = read(os.path.join("systemd", unit + ".in"))
    caps = re.findall(r"^CapabilityBoundingSet=(.*)$", t, flags=re.M)
    if len(caps) != 1:
        raise AssertionError(f"{unit}: expected one CapabilityBoundingSet= line")
    return [c.lower().replace("cap_", "") for c in caps[0].split()]


def cap_mask(caps):
    """The capability set of those names (setpriv style, "net_raw") as /proc/PID/status shows it."""
    with open("/usr/include/linux/capability.h") as f:
        nums = {m.group(1).lower(): int(m.group(2))
                for m in re.finditer(r"^#define CAP_([A-Z_]+)\s+(\d+)\s*$", f.read(), flags=re.M)}
    return f"{sum(1 << nums[c] for c in caps):016x}"
