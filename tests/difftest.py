"""Per-instruction differential testing: the same code and state in elfjit and in Unicorn.

`compare(asm_or_words, state)` assembles (Keystone) or takes raw words, appends `brk #0`, runs
the snippet in both from identical registers, flags and memory, and returns a list of
differences (empty when they agree). The register layout comes from runtime.cpu_state, so the
oracle compares exactly what the lifter owns (DESIGN invariant 3).
"""

from __future__ import annotations

import os
import random
import struct
from dataclasses import dataclass, field
from functools import lru_cache

from runtime.cpu_state import EXIT_BRK, EXIT_NAMES

CODE = 0x10000
DATA = 0x80000
DATA_SIZE = 0x10000
STACK = 0xA0000
STACK_SIZE = 0x10000


@dataclass
class State:
    x: list[int] = field(default_factory=lambda: [0] * 31)
    sp: int = STACK + STACK_SIZE // 2
    nzcv: int = 0
    v: list[int] = field(default_factory=lambda: [0] * 32)
    data: bytes = b"\0" * DATA_SIZE
    fpcr: int = 0

    @classmethod
    def random(cls, rng: random.Random, data_ptrs: tuple[int, ...] = ()) -> State:
        """Random registers; registers in data_ptrs point into the middle of the data area."""
        s = cls()
        edges = [0, 1, 2**63, 2**64 - 1, 2**31, 2**32 - 1, 2**31 - 1]
        s.x = [rng.choice([rng.getrandbits(64), rng.getrandbits(32),
                           rng.randrange(-64, 64) & (2**64 - 1), rng.choice(edges)])
               for _ in range(31)]
        for r in data_ptrs:
            s.x[r] = DATA + DATA_SIZE // 2 + rng.randrange(-256, 256)
        s.nzcv = rng.getrandbits(4) << 28
        s.v = [rng.getrandbits(128) for _ in range(32)]
        s.data = rng.randbytes(DATA_SIZE)
        return s


@lru_cache(maxsize=1)
def _ks():  # type: ignore[no-untyped-def]
    from keystone import KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN, Ks

    return Ks(KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN)


def assemble(asm: str, addr: int = CODE) -> bytes:
    enc, _ = _ks().asm(asm, addr)
    return bytes(enc)


def _machine():  # type: ignore[no-untyped-def]
    """The shared snippet machine, made again when another test's Machine (or GuestMemory)
    took the process's one guest window over since: the old one's pages are gone."""
    m = _shared_machine()
    if not m.mem.owns_window:
        _shared_machine.cache_clear()
        m = _shared_machine()
    return m


@lru_cache(maxsize=1)
def _shared_machine():  # type: ignore[no-untyped-def]
    from runtime.machine import Machine
    from runtime.memory import PROT_EXEC, PROT_READ, PROT_WRITE

    m = Machine()
    m.mem.map(CODE, 0x10000, PROT_READ | PROT_EXEC)
    m.mem.map(DATA, DATA_SIZE, PROT_READ | PROT_WRITE)
    m.mem.map(STACK, STACK_SIZE, PROT_READ | PROT_WRITE)
    return m


BRK0 = struct.pack("<I", 0xD4200000)


TIERS = ("baseline", "optimized")


def run_elfjit(code: bytes, st: State, tier: str = "baseline") -> dict[str, object]:
    """Run in elfjit's baseline tier (state in memory) or optimized tier (state in SSA, O2)."""
    m = _machine()
    code = code + BRK0
    m.mem.write_force(CODE, code)  # re-protecting the page drops stale translations
    m.translator.invalidate(CODE, CODE + 0x10000)  # and units of the other tier
    m.translator.policy.start_optimized = tier == "optimized"
    m.mem.write(DATA, st.data)
    m.mem.write(STACK, b"\0" * STACK_SIZE)
    cpu = m.cpu
    for i in range(31):
        cpu.set_x(i, st.x[i])
    for i in range(32):
        cpu.set_v(i, st.v[i])
    cpu.sp = st.sp
    cpu.nzcv = st.nzcv
    cpu.fpcr = st.fpcr
    cpu.fpsr = 0
    cpu.excl_addr = (1 << 64) - 1
    cpu.pc = CODE
    try:
        reason = m.run_raw()
    finally:
        # The machine is shared: tests that run their own snippets on it (test_core) expect
        # the default baseline tier, whose faults name the faulting instruction's pc.
        m.translator.policy.start_optimized = False
    out = _collect(cpu.get_x, cpu.get_v, cpu.sp, cpu.nzcv, cpu.pc)
    out["exit"] = EXIT_NAMES.get(reason, str(reason))
    if reason != EXIT_BRK:
        out["exit_info"] = cpu.exit_info
    out["data"] = m.mem.read(DATA, DATA_SIZE)
    out["stack"] = m.mem.read(STACK, STACK_SIZE)
    out["fpsr"] = cpu.fpsr
    return out


def _collect(get_x, get_v, sp: int, nzcv: int, pc: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    out: dict[str, object] = {f"x{i}": get_x(i) for i in range(31)}
    out.update({f"v{i}": get_v(i) for i in range(32)})
    out["sp"] = sp
    out["nzcv"] = nzcv & 0xF0000000
    out["pc"] = pc
    return out


# Tests of optional extensions switch this on (the default Cortex-A72 model lacks them; "max"
# also implements pointer authentication, which elfjit treats as the hint NOPs of a core
# without it, so it is not the default for everything).
UNICORN_MAX_CPU = [False]


def log_instances(code: bytes) -> None:
    """With $ELFJIT_DIFFTEST_LOG (a directory), append the instruction words each oracle run
    executes to a file per process: `python -m tests.isa_coverage` counts them by form."""
    d = os.environ.get("ELFJIT_DIFFTEST_LOG")
    if d:
        with open(os.path.join(d, f"words-{os.getpid()}.txt"), "a") as f:
            f.write(" ".join(f"{w:08x}" for (w,) in struct.iter_unpack("<I", code)) + "\n")


def run_unicorn(code: bytes, st: State, checks: bytes | None = None) -> dict[str, object]:
    """Unicorn's state after `code`; `checks`: the code this run is the oracle for, when it
    is not `code` itself (an equivalent sequence), for the instance log."""
    from unicorn import UC_ARCH_ARM64, UC_MODE_ARM, Uc, UcError
    from unicorn import arm64_const as a

    log_instances(code if checks is None else checks)

    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    if UNICORN_MAX_CPU[0]:  # the model with every extension (SHA3, SHA512, RDM ...)
        uc.ctl_set_cpu_model(a.UC_CPU_ARM64_MAX)
    code = code + BRK0
    uc.mem_map(CODE, 0x10000)
    uc.mem_map(DATA, DATA_SIZE)
    uc.mem_map(STACK, STACK_SIZE)
    uc.mem_write(CODE, code)
    uc.mem_write(DATA, st.data)
    # FP/SIMD access enabled at EL0/EL1 (CPACR_EL1.FPEN = 0b11)
    uc.reg_write(a.UC_ARM64_REG_CPACR_EL1, 3 << 20)
    xregs = [getattr(a, f"UC_ARM64_REG_X{i}") for i in range(29)] + [a.UC_ARM64_REG_X29,
                                                                      a.UC_ARM64_REG_X30]
    vregs = [getattr(a, f"UC_ARM64_REG_Q{i}") for i in range(32)]
    for i in range(31):
        uc.reg_write(xregs[i], st.x[i])
    for i in range(32):
        uc.reg_write(vregs[i], st.v[i])
    uc.reg_write(a.UC_ARM64_REG_SP, st.sp)
    uc.reg_write(a.UC_ARM64_REG_NZCV, st.nzcv)
    uc.reg_write(a.UC_ARM64_REG_FPCR, st.fpcr)
    end = CODE + len(code) - 4
    exit_name = "brk"
    try:
        uc.emu_start(CODE, end, count=10000)
    except UcError as e:
        exit_name = f"error: {e}"
    pc = uc.reg_read(a.UC_ARM64_REG_PC)
    if exit_name == "brk" and pc != end:
        exit_name = "stopped elsewhere"
    out = _collect(lambda i: uc.reg_read(xregs[i]), lambda i: uc.reg_read(vregs[i]),
                   uc.reg_read(a.UC_ARM64_REG_SP), uc.reg_read(a.UC_ARM64_REG_NZCV), pc)
    out["exit"] = exit_name
    out["data"] = bytes(uc.mem_read(DATA, DATA_SIZE))
    out["stack"] = bytes(uc.mem_read(STACK, STACK_SIZE))
    out["fpsr"] = uc.reg_read(a.UC_ARM64_REG_FPSR)
    return out


def diff(a: dict[str, object], b: dict[str, object]) -> list[str]:
    """Human-readable differences between an elfjit result (a) and a Unicorn result (b)."""
    out = []
    for k in a:
        if k in ("data", "stack"):
            if a[k] != b[k]:
                da, db = a[k], b[k]
                first = next(i for i in range(len(da)) if da[i] != db[i])  # type: ignore[index,arg-type]
                out.append(f"{k}[{first:#x}..]: elfjit {da[first:first+16].hex()} "  # type: ignore[index]
                           f"unicorn {db[first:first+16].hex()}")  # type: ignore[index]
        elif k in b and a[k] != b[k]:
            va, vb = a[k], b[k]
            if isinstance(va, int) and isinstance(vb, int):
                out.append(f"{k}: elfjit {va:#x} unicorn {vb:#x}")
            else:
                out.append(f"{k}: elfjit {va} unicorn {vb}")
    return out


def compare(code: str | bytes, st: State, fpsr: bool = False) -> list[str]:
    """Differences between elfjit (both tiers) and Unicorn for `code` from `st`.

    Both tiers must agree with the oracle: the baseline keeps guest state in memory, the
    optimized tier in SSA registers under O2, and a lifter can be right in one and wrong in
    the other. With `fpsr`, the FPSR cumulative flags (and QC) are compared too.
    """
    if isinstance(code, str):
        code = assemble(code)
    want = run_unicorn(code, st)
    mask = FPSR_COMPARED
    want["fpsr"] = int(want["fpsr"]) & mask  # type: ignore[call-overload]
    if not fpsr:
        del want["fpsr"]
    out = []
    for tier in TIERS:
        got = run_elfjit(code, st, tier)
        got["fpsr"] = int(got["fpsr"]) & mask  # type: ignore[call-overload]
        out += [f"[{tier}] {d}" for d in diff(got, want)]
    return out


# IOC DZC OFC UFC IXC IDC and QC: every FPSR bit Linux arm64 cores implement. (With FPCR.FZ
# the host's DAZ/FTZ neither reports a flushed input nor keeps Inexact out of a flushed result;
# lift_context.flush_to_zero_fixup makes both Arm's.)
FPSR_COMPARED = 0x9F | (1 << 27)


def compare_fp_env(code: str | bytes, st: State) -> list[str]:
    """compare() including the FPSR flags."""
    return compare(code, st, fpsr=True)


def words(*ws: int) -> bytes:
    return b"".join(struct.pack("<I", w) for w in ws)
