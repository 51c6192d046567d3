#!/usr/bin/python3
"""Run one libFuzzer harness the way the fuzz test suite does.

  fz_run.py HARNESS NAME

1. Replay: every input in tests/fuzz/regress/NAME/ (crashes found before,
   each fixed) and the seed corpus tests/fuzz/corpus/NAME/ runs once.
2. Fuzz for MIGSEC_FUZZ_SECONDS (default 15) from the seeds plus the
   corpus the previous runs grew in BUILD/fuzz/corpus/NAME/ (never written
   back into the source tree). MIGSEC_FUZZ_JOBS=N runs N fuzzers at once
   (longer campaigns; see docs/hardening.md).
A crash, a sanitizer report, a leak, a timeout or a failed check fails the
test; the input that did it is saved as BUILD/fuzz/crash-NAME-* with the
command to reproduce it. So does a run that executed fewer inputs than
FLOOR[NAME] per second fuzzed: a harness that got slow (or stopped
reaching its code) would otherwise pass having tested little.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(os.environ.get("BUILD", os.getcwd()))
# libconfig leaks a string on most syntax errors (lsan.supp); a leak check
# after every such input made the conf harness ten times slower. Its leaks
# are looked for once, when the run ends (LeakSanitizer at exit).
EXTRA = {"conf": ["-detect_leaks=0"]}
# Inputs per second at least, about a tenth of what each harness runs on
# this 2-core machine while other tests share it (docs/hardening.md).
FLOOR = {"mgmt_msg": 1000, "conf": 25, "inbound": 100}


def env():
    e = dict(os.environ)
    # UBSan reports are crashes; ASan keeps no core (keys never in a core).
    e.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    e.setdefault("ASAN_OPTIONS", "abort_on_error=1:detect_leaks=1:disable_coredump=1")
    e.setdefault("LSAN_OPTIONS", f"suppressions={os.path.join(HERE, 'lsan.supp')}"
                 ":print_suppressions=0")
    return e


def files_in(d):
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, f) for f in os.listdir(d) if not f.startswith("."))


def run(cmd, what, cwd=None):
    print(f"$ {' '.join(cmd)}", flush=True)
    r = subprocess.run(cmd, env=env(), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace")
    tail = "\n".join(r.stdout.splitlines()[-60:])
    print(tail, flush=True)
    if r.returncode != 0:
        print(f"FAIL: {what} (exit {r.returncode})", flush=True)
        sys.exit(1)
    return r.stdout


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    exe, name = os.path.abspath(sys.argv[1]), sys.argv[2]
    seeds = os.path.join(HERE, "corpus", name)
    regress = files_in(os.path.join(HERE, "regress", name))
    if not files_in(seeds):
        print(f"FAIL: no seed corpus in {seeds}")
        return 1
    out = os.path.join(BUILD, "fuzz")
    work = os.path.join(out, "corpus", name)
    os.makedirs(work, exist_ok=True)
    artifacts = os.path.join(out, f"crash-{name}-")
    common = ["-timeout=10", "-rss_limit_mb=4096", f"-artifact_prefix={artifacts}"]

    inputs = regress + files_in(seeds)
    run([exe, *common, "-runs=1", *inputs], f"replay of {len(regress)} regression and "
        f"{len(inputs) - len(regress)} seed inputs")
    print(f"ok: {len(regress)} regression and {len(inputs) - len(regress)} seed inputs replayed",
          flush=True)

    seconds = int(os.environ.get("MIGSEC_FUZZ_SECONDS", "15"))
    jobs = int(os.environ.get("MIGSEC_FUZZ_JOBS", "1"))
    cmd = [exe, *common, *EXTRA.get(name, []), f"-max_total_time={seconds}", "-print_final_stats=1",
           "-max_len=4096", work, seeds]
    if jobs > 1:  # each job logs into fuzz-N.log in the working directory: out
        cmd[1:1] = [f"-jobs={jobs}", f"-workers={jobs}"]
        for f in files_in(out):
            if os.path.basename(f).startswith("fuzz-") and f.endswith(".log"):
                os.unlink(f)
    log = run(cmd, f"{seconds} s of fuzzing; reproduce with: {exe} {artifacts}<file> "
              f"(job logs: {out}/fuzz-N.log)", cwd=out)
    if jobs > 1:
        for f in files_in(out):
            if os.path.basename(f).startswith("fuzz-") and f.endswith(".log"):
                with open(f, errors="replace") as j:
                    log += j.read()
    execs = sum(int(ln.split(":")[-1]) for ln in log.splitlines()
                if "stat::number_of_executed_units" in ln)
    cov = [ln for ln in log.splitlines() if " cov: " in ln]
    floor = FLOOR.get(name, 1) * seconds
    print(f"{name}: {execs} inputs run in {seconds} s ({execs // max(seconds, 1)}/s; floor "
          f"{floor}); corpus {len(files_in(work))} in {work}; last: "
          f"{cov[-1].strip() if cov else '?'}", flush=True)
    if execs < floor:
        print(f"FAIL: {name}: {execs} inputs in {seconds} s, below the floor of {floor} "
              f"({FLOOR.get(name, 1)}/s)", flush=True)
        return 1
    print(f"ok: {name}: {seconds} s fuzzed, no finding, {execs} inputs", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
