#!/usr/bin/python3
"""ops: every man page the build makes renders with man(1) without a single
troff or man warning, at 80 columns, and has a NAME line whatis can index."""
import os
import subprocess
import sys

BUILD = os.environ.get("BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
PAGES = ["migsec-dataplane.8", "migsec-control.8", "migsecctl.8", "migsec-dpctl.8",
         "migsec.conf.5"]


def main():
    bad = []
    env = {k: v for k, v in os.environ.items() if k != "MAN_KEEP_FORMATTING"}
    env["MANWIDTH"] = "80"
    for page in PAGES:
        path = os.path.join(BUILD, "man", page)
        if not os.path.exists(path):
            bad.append(f"{page}: not built ({path})")
            continue
        r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", path], capture_output=True,
                           text=True, timeout=60, env=env)
        name = page.rsplit(".", 1)[0]
        ok = (r.returncode == 0 and not r.stderr.strip() and "NAME" in r.stdout
              and f"{name} -" in r.stdout.replace("\u2010", "-"))
        lex = subprocess.run(["lexgrog", path], capture_output=True, text=True, timeout=30)
        ok = ok and lex.returncode == 0 and f'"{name} - ' in lex.stdout
        width = max((len(line) for line in r.stdout.splitlines()), default=0)
        ok = ok and width <= 80
        print(f"{'ok' if ok else 'FAIL'}: {page} renders ({len(r.stdout.splitlines())} lines, "
              f"widest {width}), whatis: {lex.stdout.strip()}", flush=True)
        if not ok:
            bad.append(f"{page}: rc {r.returncode}, warnings:\n{r.stderr}{lex.stderr}")
    for b in bad:
        print(f"FAIL: {b}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
