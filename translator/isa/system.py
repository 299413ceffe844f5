"""System instructions: SVC/BRK/UDF, hints, barriers, CLREX, MRS/MSR, cache maintenance.

System register values follow what arm64 Linux shows an EL0 process: the ID registers are the
kernel's emulated, sanitized view and advertise only the features elfjit implements, so libc
never picks a code path (SVE, MTE, SHA3 ...) that would stop with SIGILL.
"""

from __future__ import annotations

from runtime.cpu_state import EXIT_FPENV
from translator.ir import Val, const
from translator.isa.registry import bits, insn
from translator.lift_context import LiftContext, Unallocated

CNTFRQ_HZ = 1_000_000_000  # CNTVCT_EL0 counts nanoseconds of CLOCK_MONOTONIC
DCZID_VALUE = 4  # DC ZVA zeroes 2^4 words = 64 bytes, and is permitted
DC_ZVA_BYTES = 4 << DCZID_VALUE
CTR_VALUE = 0x8444C004  # 64-byte I and D cache lines, PIPT I-cache (a Cortex-A72-like value)
MIDR_VALUE = 0x410FD083  # Arm Cortex-A72 r0p3
# EL0 and EL1 AArch64-only; FP = 1 and AdvSIMD = 1: implemented, with half precision (FP16)
ID_AA64PFR0_VALUE = 0x11 | (1 << 16) | (1 << 20)
# Instruction-set attributes, matching the HWCAPs runtime/loader.py advertises: AES = 2 (AES
# and PMULL .1Q), SHA1 = 1, SHA2 = 2 (SHA256 and SHA512), CRC32 = 1, Atomic = 2 (LSE),
# RDM = 1, SHA3 = 1, SM3 = 1, SM4 = 1, DP = 1, FHM = 1.
ID_AA64ISAR0_VALUE = ((2 << 4) | (1 << 8) | (2 << 12) | (1 << 16) | (2 << 20) | (1 << 28)
                      | (1 << 32) | (1 << 36) | (1 << 40) | (1 << 44) | (1 << 48))
# JSCVT = 1 (FJCVTZS), FCMA = 1 (FCADD/FCMLA), LRCPC = 1 (LDAPR*), FRINTTS = 1 (FRINT32/64),
# BF16 = 1 (FEAT_BF16 without EBF16)
ID_AA64ISAR1_VALUE = (1 << 12) | (1 << 16) | (1 << 20) | (1 << 32) | (1 << 44)


def sysreg(op0: int, op1: int, crn: int, crm: int, op2: int) -> int:
    """The 16-bit system-register number MRS/MSR carry in bits 20:5 (op0 in 2 bits)."""
    return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2


NZCV = sysreg(3, 3, 4, 2, 0)
FPCR = sysreg(3, 3, 4, 4, 0)
FPSR = sysreg(3, 3, 4, 4, 1)
TPIDR_EL0 = sysreg(3, 3, 13, 0, 2)
TPIDRRO_EL0 = sysreg(3, 3, 13, 0, 3)
CNTFRQ_EL0 = sysreg(3, 3, 14, 0, 0)
CNTPCT_EL0 = sysreg(3, 3, 14, 0, 1)
CNTVCT_EL0 = sysreg(3, 3, 14, 0, 2)
DCZID_EL0 = sysreg(3, 3, 0, 0, 7)
CTR_EL0 = sysreg(3, 3, 0, 0, 1)
MIDR_EL1 = sysreg(3, 0, 0, 0, 0)
MPIDR_EL1 = sysreg(3, 0, 0, 0, 5)
REVIDR_EL1 = sysreg(3, 0, 0, 0, 6)
ID_AA64PFR0_EL1 = sysreg(3, 0, 0, 4, 0)
ID_AA64ISAR0_EL1 = sysreg(3, 0, 0, 6, 0)
ID_AA64ISAR1_EL1 = sysreg(3, 0, 0, 6, 1)

# Constant-valued registers an EL0 program may read.
CONSTANT_SYSREGS = {
    CNTFRQ_EL0: CNTFRQ_HZ,
    DCZID_EL0: DCZID_VALUE,
    CTR_EL0: CTR_VALUE,
    MIDR_EL1: MIDR_VALUE,
    MPIDR_EL1: 0x80000000,
    REVIDR_EL1: 0,
    TPIDRRO_EL0: 0,
    ID_AA64PFR0_EL1: ID_AA64PFR0_VALUE,
    ID_AA64ISAR0_EL1: ID_AA64ISAR0_VALUE,
    ID_AA64ISAR1_EL1: ID_AA64ISAR1_VALUE,
}
STATE_SYSREGS = {FPCR: "fpcr", FPSR: "fpsr", TPIDR_EL0: "tpidr"}


def _is_id_space(reg: int) -> bool:
    """op0=3, op1=0, CRn=0, CRm=0..7: the ID register space Linux emulates (unknown ones read 0)."""
    return reg >> 7 == sysreg(3, 0, 0, 0, 0) >> 7 and (reg >> 3) & 0xF < 8


@insn("11010100 000 xxxxxxxxxxxxxxxx 00001", name="SVC")
def svc(ctx: LiftContext, w: int) -> None:
    ctx.svc()


@insn("11010100 001 xxxxxxxxxxxxxxxx 00000", name="BRK")
def brk(ctx: LiftContext, w: int) -> None:
    ctx.brk(bits(w, 20, 5))


@insn("0000000000000000 xxxxxxxxxxxxxxxx", name="UDF")
def udf(ctx: LiftContext, w: int) -> None:
    ctx.undefined()


@insn("11010101000000110010 xxxxxxx 11111", name="HINT")
def hint(ctx: LiftContext, w: int) -> None:
    """NOP, YIELD, WFE/WFI/SEV, BTI, PACIASP/AUTIASP and the other hint-space no-ops."""


@insn("11010101000000110011 xxxx 010 11111", name="CLREX")
def clrex(ctx: LiftContext, w: int) -> None:
    ctx.store_state("excl_addr", const("i64", -1))


@insn("11010101000000110011 xxxx 1xx 11111", name="DMB/DSB/ISB/SB")
def barrier(ctx: LiftContext, w: int) -> None:
    op2 = bits(w, 7, 5)
    crm = bits(w, 11, 8)
    if op2 in (0b100, 0b101):  # DSB, DMB
        # x86 keeps every order but store->load; only barriers that order stores before
        # later loads (not the LD-only ones) need a real fence.
        if crm & 3 == 1:
            ctx.b.emit("fence acquire")
        else:
            ctx.b.emit("fence seq_cst")
    # ISB and SB need nothing on a host that already executes translated code in order


@insn("1101010100 0 01 011 0111 0100 001 xxxxx", name="DC ZVA")
def dc_zva(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    addr = b.and_(ctx.x(bits(w, 4, 0)), const("i64", -DC_ZVA_BYTES))
    ctx.store(addr, Val("zeroinitializer", f"<{DC_ZVA_BYTES} x i8>"), align=DC_ZVA_BYTES)


@insn("1101010100 0 01 011 0111 xxxx 001 xxxxx", "1101010100 0 01 011 0111 0101 001 xxxxx",
      name="DC/IC maintenance")
def cache_maint(ctx: LiftContext, w: int) -> None:
    """DC CVAU/CVAC/CIVAC/CVAP, IC IVAU: the host keeps caches coherent."""
    crm = bits(w, 11, 8)
    if crm not in (0b1010, 0b1011, 0b1110, 0b1100, 0b1101, 0b0101):
        raise Unallocated


@insn("1101010100 1 1 x xxx xxxx xxxx xxx xxxxx", name="MRS")
def mrs(ctx: LiftContext, w: int) -> None:
    reg = bits(w, 20, 5)
    rt = bits(w, 4, 0)
    b = ctx.b
    if reg == NZCV:
        v = ctx.nzcv_value()
    elif reg == FPSR:
        # The live flags are in the host's MXCSR: runtime/fpenv.py reads them (see there)
        ctx.exit(EXIT_FPENV, const("i64", ctx.pc))
        return
    elif reg in STATE_SYSREGS:
        v = ctx.load_state(STATE_SYSREGS[reg])
    elif reg in (CNTVCT_EL0, CNTPCT_EL0):
        ts = b.alloca("[2 x i64]")
        b.call("i32", "clock_gettime", [const("i32", 1), ts],
               "declare i32 @clock_gettime(i32, ptr)")
        sec = b.load("i64", ts, align=8)
        nsec = b.load("i64", b.gep(ts, 8), align=8)
        v = b.add(b.mul(sec, const("i64", 1_000_000_000)), nsec)
    elif reg in CONSTANT_SYSREGS:
        v = const("i64", CONSTANT_SYSREGS[reg])
    elif _is_id_space(reg):
        v = const("i64", 0)
    else:
        raise Unallocated
    ctx.set_x(rt, v)


@insn("1101010100 0 1 x xxx xxxx xxxx xxx xxxxx", name="MSR (register)")
def msr(ctx: LiftContext, w: int) -> None:
    reg = bits(w, 20, 5)
    v = ctx.x(bits(w, 4, 0))
    if reg == NZCV:
        ctx.set_nzcv_value(v)
    elif reg in (FPCR, FPSR):
        # Changes the host's MXCSR, which translated code must not do mid-unit (fpenv.py)
        ctx.exit(EXIT_FPENV, const("i64", ctx.pc))
    elif reg in STATE_SYSREGS:
        ctx.store_state(STATE_SYSREGS[reg], v)
    else:
        raise Unallocated
