"""The guest's floating-point environment (FPCR, FPSR) on the host's MXCSR.

Why MXCSR: x86 SSE has the same four IEEE rounding modes, flush-to-zero (FTZ, with DAZ for
inputs) and sticky exception flags as AArch64, so guest FP code gets the guest's rounding and
its exception flags from the host instructions themselves, at no cost per operation. The entry
trampoline (translator/native.py) loads the MXCSR made from the guest's FPCR before running
translated code and, when it returns, ORs the flags the host raised into the guest's FPSR and
puts Python's own MXCSR back, so Python never computes in the guest's rounding mode.

The instructions that change or read that environment (MSR FPCR, MSR FPSR, MRS FPSR) leave
translated code (EXIT_FPENV) and are done here: the exit is a full barrier, so no FP operation
can be reordered across the mode change or the flag read, which LLVM would otherwise be free
to do (it treats FP arithmetic as not touching the FP environment). Programs change FPCR
rarely (fesetround, fesetenv), so the ~2 us round trip does not matter.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's own, without importing typing (1.8 ms of a warm start)
if TYPE_CHECKING:
    from runtime.cpu_state import CPUState
    from runtime.memory import GuestMemory

# FPCR fields elfjit honours (the trap enables are RAZ/WI on Linux arm64 cores): AHP 26, DN 25,
# FZ 24, RMode 23:22, and FZ16 19 (FEAT_FP16's flush to zero for half precision, which
# translator/isa/fp16_core.py applies itself: it has no MXCSR counterpart).
FPCR_AHP, FPCR_DN, FPCR_FZ, FPCR_FZ16 = 1 << 26, 1 << 25, 1 << 24, 1 << 19
FPCR_RMODE_SHIFT = 22
FPCR_WRITABLE = FPCR_AHP | FPCR_DN | FPCR_FZ | FPCR_FZ16 | (3 << FPCR_RMODE_SHIFT)
# FPSR: IOC 0, DZC 1, OFC 2, UFC 3, IXC 4, IDC 7, QC 27.
FPSR_IOC, FPSR_DZC, FPSR_OFC, FPSR_UFC, FPSR_IXC, FPSR_IDC = 1, 2, 4, 8, 16, 128
FPSR_QC = 1 << 27
FPSR_WRITABLE = FPSR_IOC | FPSR_DZC | FPSR_OFC | FPSR_UFC | FPSR_IXC | FPSR_IDC | FPSR_QC

# MXCSR: flags IE 0, DE 1, ZE 2, OE 3, UE 4, PE 5; DAZ 6; masks 12:7; RC 14:13; FTZ 15.
MXCSR_MASKS = 0x1F80  # every exception masked: flags only, never a trap
MXCSR_DAZ, MXCSR_FTZ = 1 << 6, 1 << 15
# (MXCSR flag bit, FPSR bit) pairs. DE has no partner: x86 sets it for any denormal operand
# when DAZ is off, while Arm's IDC means "a denormal input was flushed" (FZ = 1), and with DAZ
# on x86 does not report the flush at all (checked on the host: DAZ+FTZ, denormal + 1.0 raises
# nothing; FTZ alone raises DE and PE but computes with the denormal). So IDC, and the UFC
# without IXC of a result FTZ flushed (x86 raises UE and PE), are made in translated code
# (translator/lift_context.py: flush_to_zero_fixup), on a path taken only when FZ is set.
# Tininess also differs: Arm detects it before rounding, x86 after, so a product or narrowing
# whose exact value rounds up to the smallest normal is Underflow (and, under FZ, flushed) on
# Arm only; lift_context.fix_tininess makes that result and its UFC, on a cold path.
MXCSR_TO_FPSR = ((0, FPSR_IOC), (2, FPSR_DZC), (3, FPSR_OFC), (4, FPSR_UFC), (5, FPSR_IXC))


def mxcsr_for(fpcr: int) -> int:
    """The MXCSR that computes like a guest with this FPCR (flags clear).

    RMode 0 (nearest) -> RC 0, 1 (towards +inf) -> RC 2 (up), 2 (towards -inf) -> RC 1
    (down), 3 (towards zero) -> RC 3: the two bits swap.
    """
    rmode = (fpcr >> FPCR_RMODE_SHIFT) & 3
    rc = ((rmode & 1) << 1) | (rmode >> 1)
    mx = MXCSR_MASKS | (rc << 13)
    if fpcr & FPCR_FZ:
        mx |= MXCSR_FTZ | MXCSR_DAZ
    return mx


def fpsr_flags(mxcsr: int) -> int:
    """The FPSR cumulative flags the host's MXCSR flags stand for."""
    out = 0
    for mbit, fbit in MXCSR_TO_FPSR:
        if mxcsr >> mbit & 1:
            out |= fbit
    return out


MSR_FPCR, MSR_FPSR, MRS_FPSR = 0xD51B4400, 0xD51B4420, 0xD53B4420  # with Rt = 0


def execute(cpu: CPUState, mem: GuestMemory) -> bool:
    """Do the FPCR/FPSR access at cpu.pc and step past it; False if it is not one."""
    raw = mem.read(cpu.pc, 4)
    if raw is None:
        return False
    w = int.from_bytes(raw, "little")
    rt, op = w & 0x1F, w & ~0x1F
    if op == MSR_FPCR:
        cpu.fpcr = (cpu.get_x(rt) if rt != 31 else 0) & FPCR_WRITABLE
    elif op == MSR_FPSR:
        cpu.fpsr = (cpu.get_x(rt) if rt != 31 else 0) & FPSR_WRITABLE
    elif op == MRS_FPSR:
        if rt != 31:
            cpu.set_x(rt, cpu.fpsr)
    else:
        return False
    cpu.pc += 4
    return True
