"""The appliances' polling for the tools that bring a lab up (perf/vm-bench,
the demo): their --poll and --sleep-after-us options, and the lab's
environment that sets poll.sleep_after_us (tests/lab.sh SLEEP_AFTER_US).

The default is interrupt polling that waits as soon as a poll finds
nothing (sleep_after_us 0): on this 2-core machine the two QEMUs, their
kernels and both appliances share the cores, and a worker that polls on
between frames takes them from QEMU. It held on memif too, whose queues
cannot end a wait (only its 1 ms timeout does). docs/benchmarks.md has
the runs that chose it."""

MODES = ("busy", "adaptive", "interrupt")
DEFAULT_MODE = "interrupt"
# poll.sleep_after_us when --sleep-after-us is not given: 0 for interrupt,
# the data plane's own default (500) for adaptive; busy never sleeps
DEFAULT_AFTER_US = {"interrupt": 0}
MAX_AFTER_US = 10000000		# migsec.conf's own limit (dataplane/setup/ms_conf.c)


def add_arguments(p, what="the appliances'"):
    p.add_argument("--poll", choices=MODES, default=DEFAULT_MODE,
                   help=f"{what} poll.mode (default {DEFAULT_MODE}: a worker waits in epoll "
                        "for a frame instead of taking the cores QEMU needs; adaptive: "
                        "lib/power, then bounded sleeps; docs/operations.md)")
    p.add_argument("--sleep-after-us", type=int, metavar="US",
                   help="poll.sleep_after_us, how long a worker polls on without work before "
                        "it waits (adaptive, interrupt; default 0 with interrupt, the data "
                        "plane's 500 with adaptive)")


def check(p, a):
    """p.error() for a --sleep-after-us the data plane would refuse or ignore."""
    if a.sleep_after_us is None:
        return
    if a.poll == "busy":
        p.error("--sleep-after-us is for --poll adaptive or interrupt (busy polling never waits)")
    if not 0 <= a.sleep_after_us <= MAX_AFTER_US:
        p.error(f"--sleep-after-us must be 0..{MAX_AFTER_US}")


def resolve(a):
    """The default of --sleep-after-us for a.poll into a.sleep_after_us
    (None: the data plane's). Returns what runs, for the tool to print."""
    if a.sleep_after_us is None:
        a.sleep_after_us = DEFAULT_AFTER_US.get(a.poll)
    return f"polling {describe(a)}"


def after_us(mode, a):
    """poll.sleep_after_us for a lab polling in mode (a's when it is a.poll)."""
    return a.sleep_after_us if mode == a.poll else DEFAULT_AFTER_US.get(mode)


def env(a, base=None, mode=None):
    """The lab's environment for a, or for a lab polling in mode (with
    base's entries)."""
    e = dict(base or {})
    us = after_us(mode or a.poll, a)
    if us is not None:
        e["SLEEP_AFTER_US"] = str(us)
    return e


def describe(a, mode=None):
    """'interrupt, sleep_after_us 0', for reports."""
    mode = mode or a.poll
    if mode == "busy":
        return "busy"
    us = after_us(mode, a)
    return f"{mode}, sleep_after_us {'500 (the default)' if us is None else us}"
