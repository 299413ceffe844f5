"""FJCVTZS (FEAT_JSCVT): double -> int32 the way JavaScript's ToInt32 does it.

Truncate toward zero and keep the low 32 bits of the (unbounded) integer: NaN and the
infinities give 0. PSTATE.Z is set only when that result is the exact value of the input
(integral, within int32, and not -0.0); N, C and V are cleared. FPSR: IOC when the input is
NaN, an infinity or out of int32 range, else IXC when it had a fraction. Under FPCR.FZ a
denormal input is flushed first (FPUnpack): the result is still 0 and Z still clear (the
pseudocode's "value == 0.0 but the fraction was not" case), but the flag is IDC, not IXC.
Unicorn's CPU model lacks FEAT_JSCVT, so tests/test_fpenv.py checks this against qemu-aarch64.

Done in integer arithmetic on the double's bits, so no host conversion can saturate or raise
its own flags.
"""

from __future__ import annotations

from runtime.fpenv import FPSR_IDC, FPSR_IOC, FPSR_IXC
from translator.ir import const
from translator.isa.registry import bits, insn
from translator.lift_context import LiftContext, flush_to_zero_mode, raise_fp_bits_rare

I64 = "i64"


@insn("0001 1110 0111 1110 0000 00 xxxxx xxxxx", name="FJCVTZS")
def fjcvtzs(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    x = ctx.vreg_as(bits(w, 9, 5), I64)
    exp = b.and_(b.lshr(x, const(I64, 52)), const(I64, 0x7FF))
    frac = b.and_(x, const(I64, (1 << 52) - 1))
    negative = b.icmp("slt", x, const(I64, 0))
    special = b.icmp("eq", exp, const(I64, 0x7FF))  # NaN or infinity
    normal = b.icmp("ne", exp, const(I64, 0))
    mant = b.or_(frac, b.select(normal, const(I64, 1 << 52), const(I64, 0)))
    # value = mant * 2^(e - 1075) (denormals: exp 0 behaves as 1, and they are < 1 anyway)
    e = b.sub(b.select(normal, exp, const(I64, 1)), const(I64, 1075))
    up = b.icmp("sge", e, const(I64, 0))
    left = b.select(b.icmp("sge", e, const(I64, 64)), const(I64, 0),
                    b.shl(mant, b.select(up, e, const(I64, 0))))
    neg_e = b.sub(const(I64, 0), e)
    big_right = b.icmp("sge", neg_e, const(I64, 64))
    right_amt = b.select(up, const(I64, 0), b.select(big_right, const(I64, 63), neg_e))
    right = b.select(big_right, const(I64, 0), b.lshr(mant, right_amt))
    lost = b.and_(mant, b.sub(b.shl(const(I64, 1), right_amt), const(I64, 1)))
    inexact = b.and_(b.not_(up), b.or_(big_right, b.icmp("ne", lost, const(I64, 0))))
    inexact = b.and_(inexact, b.icmp("ne", mant, const(I64, 0)))
    mag = b.select(up, left, right)
    res = b.select(negative, b.sub(const(I64, 0), mag), mag)
    res = b.select(special, const(I64, 0), res)
    # Out of int32 range: any e >= 0 means a magnitude of at least 2^52
    limit = b.select(negative, const(I64, 1 << 31), const(I64, (1 << 31) - 1))
    overflow = b.or_(up, b.icmp("ugt", right, limit))
    invalid = b.or_(special, b.and_(overflow, b.not_(special)))
    # -0.0 converts to 0 without any exception, but 0 is not its exact value: Z stays clear
    minus_zero = b.icmp("eq", x, const(I64, -(1 << 63)))
    exact = b.and_(b.and_(b.not_(invalid), b.not_(inexact)), b.not_(minus_zero))
    ctx.set_x(bits(w, 4, 0), b.zext(b.trunc(res, "i32"), I64))
    ctx.set_nzcv(const("i1", 0), exact, const("i1", 0), const("i1", 0))
    flushed = b.and_(b.and_(b.not_(normal), b.icmp("ne", frac, const(I64, 0))),
                     flush_to_zero_mode(b))
    flags = b.select(invalid, const(I64, FPSR_IOC),
                     b.select(flushed, const(I64, FPSR_IDC),
                              b.select(inexact, const(I64, FPSR_IXC), const(I64, 0))))
    raise_fp_bits_rare(b, flags)
