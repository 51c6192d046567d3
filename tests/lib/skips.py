"""Checks that could not run, reported instead of passed (docs/tests.md,
"Skips").

A test calls skip(tag, reason) for each check it could not run here and
ends with sys.exit(exit_code()): 77 (meson's SKIP) when anything was
skipped, after every other check ran. Each skip prints one line

  SKIP[tag]: reason

which scripts/setup.sh reads back from meson's test log: a skip fails the
test run unless MIGSEC_ALLOW_SKIPS lists its tag (or the machine provably
cannot do it; see setup.sh).
"""
import json
import os
import re
import sys

SKIPPED = []


def skip(tag, reason):
    SKIPPED.append((tag, reason))
    print(f"SKIP[{tag}]: {reason}", flush=True)


def exit_code(code=0):
    if code or not SKIPPED:
        return code
    print(f"{len(SKIPPED)} check(s) could not run here: "
          f"{', '.join(sorted({t for t, _ in SKIPPED}))}", file=sys.stderr, flush=True)
    return 77


def machine_cannot():
    """Tags of checks this machine provably cannot run, whatever is set up:
    no CAP_SYS_RESOURCE in the bounding set (a container withholds it), or
    cores piped to a handler instead of written where the crash happened."""
    tags = set()
    with open("/proc/self/status") as f:
        bnd = [int(ln.split()[1], 16) for ln in f if ln.startswith("CapBnd:")]
    if bnd and not bnd[0] >> 24 & 1:  # CAP_SYS_RESOURCE
        tags.add("cap-sys-resource")
    with open("/proc/sys/kernel/core_pattern") as f:
        if f.read().startswith("|"):
            tags.add("core-pattern")
    return tags


def verdict(testlog, allowed):
    """The skipped tests of one meson test run (meson-logs/testlog.json)
    with their tags; returns the lines that make it fail."""
    bad = []
    with open(testlog) as f:
        for line in f:
            t = json.loads(line)
            if t["result"] != "SKIP":
                continue
            tags = re.findall(r"^SKIP\[([a-z0-9-]+)\]: (.*)$", t.get("stdout") or "", re.M)
            if not tags and "all" not in allowed:
                bad.append(f"{t['name']}: skipped without saying why (exit 77, no SKIP[tag] line)")
            for tag, why in tags:
                state = "allowed" if "all" in allowed or tag in allowed else "NOT ALLOWED"
                print(f"skip: {t['name']}: [{tag}] {why} ({state})")
                if state != "allowed":
                    bad.append(f"{t['name']}: [{tag}] {why}")
    return bad


def main():
    """skips.py BUILDDIR: fail (exit 1) if the last meson test run there
    skipped a check that MIGSEC_ALLOW_SKIPS does not allow."""
    allowed = {t.strip() for t in os.environ.get("MIGSEC_ALLOW_SKIPS", "").split(",") if t.strip()}
    allowed |= machine_cannot()
    bad = verdict(os.path.join(sys.argv[1], "meson-logs", "testlog.json"), allowed)
    for b in bad:
        print(f"FAIL: skipped: {b}", file=sys.stderr)
    if bad:
        print("A check that this machine can run was skipped. Fix the cause, or allow the skip "
              "with MIGSEC_ALLOW_SKIPS=TAG[,TAG...] (docs/tests.md, \"Skips\").", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
