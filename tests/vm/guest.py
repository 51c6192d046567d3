"""The demo guest (tests/vm/guest.asm) from Python: its parameter block,
its status words, and the choice of accelerator.

Keep the constants in step with guest.asm.
"""
import os
import struct

PARAMS_ADDR = 0x200000
PARAMS_MAGIC = 0x4d534750
STATUS_ADDR = 0x1ff000
READY_MAGIC = 0x59444552
FILL_START = 0x400000
MARKER_LEN = 32
FAULTS = {1: "no parameter block (the -device loader blob)", 2: "no memory size from multiboot",
          3: "CPU exception"}


def params(marker, pages_per_tick, seed):
    """The 64-byte parameter block the guest reads at PARAMS_ADDR."""
    if len(marker) != MARKER_LEN:
        raise ValueError(f"the marker must be {MARKER_LEN} bytes")
    if not 0 <= pages_per_tick <= 1 << 20 or not 0 < seed < 1 << 32:
        raise ValueError("pages per tick 0..2^20, seed 1..2^32-1")
    return marker + struct.pack("<III", pages_per_tick, PARAMS_MAGIC, seed) + bytes(20)


def new_marker():
    """A marker unique to this run: text a reader recognises, then random."""
    m = b"MIGSEC-VM-MARKER-" + os.urandom(8).hex().encode()
    return m[:MARKER_LEN]


def parse_status(xp_output):
    """The four status words from HMP `xp /4wx STATUS_ADDR`."""
    words = [int(w, 16) for w in xp_output.split(":", 1)[1].split()]
    if len(words) != 4:
        raise ValueError(f"unexpected xp output: {xp_output!r}")
    return {"ready": words[0] == READY_MAGIC, "ticks": words[1], "passes": words[2],
            "fault": FAULTS.get(words[3], f"code {words[3]}") if words[3] else None}


def choose_accel(want):
    """('kvm' or 'tcg', why). auto: KVM when /dev/kvm opens and the CPU has
    hardware virtualisation (vmx/svm); a /dev/kvm without it (e.g. kvm_pvm,
    which emulates a non-paravirtual guest instruction by instruction) is
    slower than TCG for this guest."""
    if want == "tcg":
        return "tcg", "asked for"
    ok = os.access("/dev/kvm", os.R_OK | os.W_OK)
    with open("/proc/cpuinfo") as f:
        flags = next((ln.split(":", 1)[1].split() for ln in f if ln.startswith("flags")), [])
    hw = "vmx" in flags or "svm" in flags
    if want == "kvm":
        if not ok:
            raise RuntimeError("--accel kvm: /dev/kvm is not usable here")
        return "kvm", "asked for"
    if ok and hw:
        return "kvm", "/dev/kvm with hardware virtualisation"
    if not ok:
        return "tcg", "no usable /dev/kvm"
    mods = os.listdir("/sys/module")
    kind = next((m for m in mods if m.startswith("kvm_")), "kvm")
    return "tcg", (f"/dev/kvm is {kind} without vmx/svm: it would emulate this guest "
                   f"instruction by instruction, slower than TCG")
