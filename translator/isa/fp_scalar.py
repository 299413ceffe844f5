"""Scalar floating point: FMOV, arithmetic, fused multiply-add, min/max, compares, FCSEL, FRINT*.

Single and double precision. Half precision (type = 11, FEAT_FP16) has its own forms in
fp16_scalar, whose patterns fix the type field and so win the lookup; the type = 11 checks
left here only reject what fp16_scalar does not claim. (FCVT to and from half precision is
base Armv8 and lives in fp_convert.)

NaNs are bit-exact with the Arm ARM (FPCR.DN included): x86 SSE does not give the same NaN as
FPProcessNaNs in every case (its generated "indefinite" NaN has the sign bit set while Arm's
default NaN is positive; with a signaling NaN in the second operand and a quiet NaN in the
first, Arm prefers the signaling one). So every operation that can return a NaN computes the
host result and, only if that result is a NaN, replaces it with the NaN the Arm pseudocode
chooses (`process_nans`). The cost is a handful of compares and selects, no branches.

The FP environment (runtime/fpenv.py): FPCR.RMode and FZ are the host MXCSR's rounding mode
and FTZ/DAZ while translated code runs, so hardware operations round and flush as the guest
asked and raise the FPSR flags themselves; the NaN fix-up path applies FPCR.DN and raises IOC
(LLVM may decide a result is NaN without executing the host instruction that would have).
With FPCR.FZ, what DAZ/FTZ do not report as Arm does (IDC for a flushed input; UFC without
IXC for a flushed result) is fixed up after each operation by
lift_context.flush_to_zero_fixup, on a branch taken only when FZ is set. Products and fused
multiply-adds also look for a result at the smallest normal, which may be tiny for Arm (it
detects tininess before rounding, x86 after): lift_context.fix_tininess.
Not implemented (SIGILL, like a core without it): BFCVT (FEAT_BF16). FRINT32/64 live in
fp_frintts, FJCVTZS in fp_jscvt.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NamedTuple

from runtime.fpenv import FPSR_IOC
from translator.ir import Val, const
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import round_ties_away
from translator.lift_context import (
    LiftContext,
    Unallocated,
    default_nan_mode,
    flush_to_zero_fixup,
    flush_to_zero_mode,
    raise_fp_flags,
    raise_fp_flags_rare,
    unless_rare_or_fz,
)


class FType(NamedTuple):
    """An IEEE binary format as the lifter needs it: IR types and bit masks."""

    ty: str  # LLVM type: half, float, double
    ity: str  # same-width integer type
    width: int
    mbits: int  # fraction bits

    @property
    def ebits(self) -> int:
        return self.width - 1 - self.mbits

    @property
    def sign(self) -> int:
        return 1 << (self.width - 1)

    @property
    def exp_mask(self) -> int:
        return ((1 << self.ebits) - 1) << self.mbits

    @property
    def quiet(self) -> int:
        return 1 << (self.mbits - 1)

    @property
    def default_nan(self) -> int:
        """FPDefaultNaN(): positive, quiet bit only."""
        return self.exp_mask | self.quiet


HALF = FType("half", "i16", 16, 10)
SINGLE = FType("float", "i32", 32, 23)
DOUBLE = FType("double", "i64", 64, 52)
FTYPES = {0: SINGLE, 1: DOUBLE, 3: HALF}


def ftype_of(w: int, allow_half: bool = False) -> FType:
    """The `type` field (bits 23:22) of a scalar FP encoding; raise Unallocated if unsupported."""
    t = bits(w, 23, 22)
    if t == 2 or (t == 3 and not allow_half):
        raise Unallocated
    return FTYPES[t]


def read_fp(ctx: LiftContext, n: int, ft: FType) -> Val:
    """The low bits of Vn as a scalar of format `ft`."""
    return ctx.vreg_as(n, ft.ty)


def fconst_bits(ft: FType, value: int) -> Val:
    """An FP constant given by its bit pattern (LLVM's hex form is exact for every format)."""
    if ft is DOUBLE:
        return Val(f"0x{value:016X}", "double")
    if ft is SINGLE:
        # LLVM writes a float constant as the double of the same value (for a NaN, the double
        # whose fraction's top 23 bits are the float's fraction)
        if value & 0x7F800000 == 0x7F800000 and value & 0x7FFFFF:
            dbits = ((value >> 31) << 63) | (0x7FF << 52) | ((value & 0x7FFFFF) << 29)
        else:
            f = struct.unpack("<f", struct.pack("<I", value))[0]
            dbits = struct.unpack("<Q", struct.pack("<d", f))[0]
        return Val(f"0x{dbits:016X}", "float")
    return Val(f"0xH{value:04X}", "half")


def is_nan(ctx: LiftContext, v: Val) -> Val:
    return ctx.b.fcmp("uno", v, v)


def process_nans(ctx: LiftContext, ft: FType, ops: list[Val], r: Val,
                 tiny: Callable[[list[Val]], Val] | None = None,
                 invalid: Callable[[], Val] | None = None) -> Val:
    """`r`, unless it is a NaN: then the NaN Arm's FPProcessNaNs(3) / FPDefaultNaN() give.

    Priority (FPCR.DN = 0): the first signaling NaN among `ops` (quietened), else the first
    quiet NaN, else (the NaN came from an invalid operation) the default NaN. The fix-up sits
    on a cold path behind one unordered compare of the result: computed eagerly with selects
    it cost ~10 host instructions per FP operation, several times the operation itself.
    `tiny` (the operation on `ops`) for one that can round up to the smallest normal
    (lift_context.fix_tininess). `invalid` emits, on the cold path, an i1 for a NaN result
    that must be the default NaN with Invalid Operation although FPProcessNaNs would pass a
    quiet NaN on (FPMulAdd's inf * 0 with a quiet-NaN addend).
    """
    b = ctx.b
    # (the FZ flag fix-up shares the branch; it follows the host operation, which the branch
    # condition depends on)
    return unless_rare_or_fz(b, is_nan(ctx, r), r,
                             lambda: b.bitcast(_arm_nan(ctx, ft, ops, invalid), ft.ty), ops,
                             r, tiny=tiny)


def _arm_nan(ctx: LiftContext, ft: FType, ops: list[Val],
             invalid: Callable[[], Val] | None = None) -> Val:
    """The integer bits of the NaN FPProcessNaNs / FPDefaultNaN give for `ops`."""
    b = ctx.b
    quiet = const(ft.ity, ft.quiet)
    res = const(ft.ity, ft.default_nan)
    info = []
    for op in reversed(ops):
        ob = b.bitcast(op, ft.ity)
        q = b.or_(ob, quiet)
        nan = is_nan(ctx, op)
        res = b.select(nan, q, res)
        info.append((ob, q, nan))
    any_nan, any_snan = const("i1", 0), const("i1", 0)
    for ob, q, nan in info:  # lowest priority first, so the first operand wins
        snan = b.and_(nan, b.icmp("eq", b.and_(ob, quiet), const(ft.ity, 0)))
        res = b.select(snan, q, res)
        any_nan, any_snan = b.or_(any_nan, nan), b.or_(any_snan, snan)
    # A NaN result is Invalid Operation unless it only passes on a quiet NaN operand
    bad = b.or_(any_snan, b.not_(any_nan))
    if invalid is not None:
        extra = invalid()
        res = b.select(extra, const(ft.ity, ft.default_nan), res)
        bad = b.or_(bad, extra)
    raise_fp_flags(b, bad, FPSR_IOC)
    # FPCR.DN: every NaN result is the default NaN
    return b.select(default_nan_mode(b), const(ft.ity, ft.default_nan), res)


def _inf_times_zero(ctx: LiftContext, ft: FType, a: Val, c: Val) -> Val:
    """i1: one of a, c is an infinity and the other what FPUnpack calls a zero (either sign;
    a denormal too under FPCR.FZ)."""
    b = ctx.b
    mag = const(ft.ity, ft.sign - 1)
    ma, mc = b.and_(b.bitcast(a, ft.ity), mag), b.and_(b.bitcast(c, ft.ity), mag)
    inf = const(ft.ity, ft.exp_mask)
    limit = b.select(flush_to_zero_mode(b), const(ft.ity, 1 << ft.mbits), const(ft.ity, 1))
    return b.or_(b.and_(b.icmp("eq", ma, inf), b.icmp("ult", mc, limit)),
                 b.and_(b.icmp("ult", ma, limit), b.icmp("eq", mc, inf)))


def intr(ctx: LiftContext, name: str, ft: FType, args: list[Val]) -> Val:
    """Call an overloaded FP intrinsic such as llvm.sqrt on scalars of format `ft`."""
    suffix = {"half": "f16", "float": "f32", "double": "f64"}[ft.ty]
    return ctx.b.intrinsic(f"llvm.{name}.{suffix}", ft.ty, args)


def vfp_expand_imm(imm8: int, ft: FType) -> int:
    """VFPExpandImm(): the 8-bit FMOV immediate as a bit pattern of format `ft`."""
    e, f = ft.ebits, ft.mbits
    sign = imm8 >> 7
    b6 = (imm8 >> 6) & 1
    exp = ((b6 ^ 1) << (e - 1)) | ((((1 << (e - 3)) - 1) if b6 else 0) << 2) | ((imm8 >> 4) & 3)
    frac = (imm8 & 0xF) << (f - 4)
    return (sign << (ft.width - 1)) | (exp << f) | frac


# ---------------------------------------------------------------------------------- FMOV


@insn("000 11110 xx 1 xxxxxxxx 100 00000 xxxxx", name="FMOV (scalar, immediate)")
def fmov_imm(ctx: LiftContext, w: int) -> None:
    ft = ftype_of(w)
    imm = vfp_expand_imm(bits(w, 20, 13), ft)
    ctx.set_vreg(bits(w, 4, 0), const(ft.ity, imm))


@insn("x 00 11110 xx 1 xx 11x 000000 xxxxx xxxxx", name="FMOV (general)")
def fmov_general(ctx: LiftContext, w: int) -> None:
    """FMOV between a general register and Sn/Dn, or the upper half of Vn (Vn.D[1])."""
    sf, t, rmode, to_fp = bit(w, 31), bits(w, 23, 22), bits(w, 20, 19), bit(w, 16)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    if rmode == 0 and (sf, t) in ((0, 0), (1, 1)):
        if to_fp:
            ctx.set_vreg(rd, ctx.reg(rn, sf))
        else:
            ctx.set_x(rd, ctx.vreg_as(rn, "i64" if sf else "i32"))
    elif rmode == 1 and sf == 1 and t == 2:
        if to_fp:  # FMOV Vd.D[1], Xn: the low half is kept
            low = b.and_(ctx.vreg(rd), const("i128", (1 << 64) - 1))
            high = b.shl(b.zext(ctx.x(rn), "i128"), const("i128", 64))
            ctx.set_vreg(rd, b.or_(low, high))
        else:  # FMOV Xd, Vn.D[1]
            ctx.set_x(rd, b.trunc(b.lshr(ctx.vreg(rn), const("i128", 64)), "i64"))
    else:
        raise Unallocated  # (the half-precision forms are fp16_scalar's)


# ---------------------------------------------------------------------------------- 1 source

_ROUNDING = {
    0b001000: "roundeven",  # FRINTN
    0b001001: "ceil",  # FRINTP
    0b001010: "floor",  # FRINTM
    0b001011: "trunc",  # FRINTZ
    0b001100: "round",  # FRINTA: ties away from zero
    0b001110: "rint",  # FRINTX: current mode (round-to-nearest assumed), inexact raised
    0b001111: "nearbyint",  # FRINTI: current mode, no inexact
}


@insn("000 11110 xx 1 xxxxxx 10000 xxxxx xxxxx", name="FP data-processing (1 source)")
def fp_1src(ctx: LiftContext, w: int) -> None:
    opc = bits(w, 20, 15)
    if opc not in (0, 1, 2, 3) and opc not in _ROUNDING:
        raise Unallocated  # FCVT is in fp_convert; FRINT32/64, BFCVT are not implemented
    ft = ftype_of(w)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    if opc <= 2:  # FMOV, FABS, FNEG: pure bit operations, NaNs pass through untouched
        v = ctx.vreg_as(rn, ft.ity)
        if opc == 1:
            v = b.and_(v, const(ft.ity, ft.sign - 1))
        elif opc == 2:
            v = b.xor(v, const(ft.ity, ft.sign))
        ctx.set_vreg(rd, v)
        return
    a = read_fp(ctx, rn, ft)
    if opc == 0b001100:  # FRINTA: llvm.round is not exact outside round-to-nearest
        r = round_ties_away(b, a)
    else:
        r = intr(ctx, "sqrt" if opc == 3 else _ROUNDING[opc], ft, [a])
    ctx.set_vreg(rd, process_nans(ctx, ft, [a], r))


# ---------------------------------------------------------------------------------- 2 source


def fp_max_min(ctx: LiftContext, ft: FType, a: Val, c: Val, is_max: bool) -> Val:
    """FPMax/FPMin: NaNs per FPProcessNaNs, +0 > -0.

    With a NaN operand the host max/min is not executed at all: x86 raises Invalid for a
    quiet NaN there, Arm only for a signalling one (which the cold path reports).
    """
    b = ctx.b
    here = b.block
    fast, slow, join = ctx.new_block("fmax"), ctx.new_block("fmax.nan"), ctx.new_block("fmax.j")
    b.cbranch(b.intrinsic("llvm.expect.i1", "i1", [b.fcmp("uno", a, c), const("i1", 0)]),
              slow, fast)
    b.position_at_end(fast)
    r = intr(ctx, "maximum" if is_max else "minimum", ft, [a, c])
    fast_end = b.block
    b.br(join)
    b.position_at_end(slow)
    n = b.bitcast(_arm_nan(ctx, ft, [a, c]), ft.ty)
    slow_end = b.block
    b.br(join)
    b.position_at_end(join)
    assert here is not None and fast_end is not None and slow_end is not None
    out = b.phi(ft.ty, [(r, fast_end), (n, slow_end)])
    flush_to_zero_fixup(b, [a, c], host_op=False)
    return out


def fp_max_min_num(ctx: LiftContext, ft: FType, a: Val, c: Val, is_max: bool) -> Val:
    """FPMaxNum/FPMinNum: a quiet NaN against a number loses (it becomes -inf for max, +inf
    for min) before FPMax/FPMin; signaling NaNs and two NaNs are processed as usual."""
    b = ctx.b
    inf = fconst_bits(ft, ft.exp_mask | (ft.sign if is_max else 0))
    quiet = const(ft.ity, ft.quiet)
    zero = const(ft.ity, 0)

    def qnan(v: Val) -> Val:
        return b.and_(is_nan(ctx, v), b.icmp("ne", b.and_(b.bitcast(v, ft.ity), quiet), zero))

    a_nan, c_nan = is_nan(ctx, a), is_nan(ctx, c)
    a2 = b.select(b.and_(qnan(a), b.not_(c_nan)), inf, a)
    c2 = b.select(b.and_(qnan(c), b.not_(a_nan)), inf, c)
    return fp_max_min(ctx, ft, a2, c2, is_max)


@insn("000 11110 xx 1 xxxxx xxxx 10 xxxxx xxxxx", name="FP data-processing (2 source)")
def fp_2src(ctx: LiftContext, w: int) -> None:
    opc = bits(w, 15, 12)
    if opc > 8:
        raise Unallocated
    ft = ftype_of(w)
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    a, c = read_fp(ctx, rn, ft), read_fp(ctx, rm, ft)
    if 4 <= opc <= 5:
        r = fp_max_min(ctx, ft, a, c, opc == 4)
    elif 6 <= opc <= 7:
        r = fp_max_min_num(ctx, ft, a, c, opc == 6)
    else:
        op = {0: b.fmul, 1: b.fdiv, 2: b.fadd, 3: b.fsub, 8: b.fmul}[opc]
        # Only a product can be tiny before rounding and not after (lift_context.fix_tininess):
        # a tiny sum is exact, and a quotient of two p-bit numbers is never within half an
        # ulp below a power of two.
        tiny = (lambda o: op(o[0], o[1])) if opc in (0, 8) else None
        r = process_nans(ctx, ft, [a, c], op(a, c), tiny)
        if opc == 8:  # FNMUL negates after NaN processing, so even a NaN result flips sign
            r = b.fneg(r)
    ctx.set_vreg(rd, r)


# ---------------------------------------------------------------------------------- 3 source


@insn("000 11111 xx x xxxxx x xxxxx xxxxx xxxxx", name="FMADD/FMSUB/FNMADD/FNMSUB")
def fp_3src(ctx: LiftContext, w: int) -> None:
    """FPMulAdd(addend, op1, op2) with the operands negated first (a NaN flips sign too)."""
    ft = ftype_of(w)
    o1, o0 = bit(w, 21), bit(w, 15)
    rm, ra, rn, rd = bits(w, 20, 16), bits(w, 14, 10), bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    addend, op1, op2 = read_fp(ctx, ra, ft), read_fp(ctx, rn, ft), read_fp(ctx, rm, ft)
    if o1:  # FNMADD, FNMSUB
        addend = b.fneg(addend)
    if o0 != o1:  # FMSUB, FNMADD
        op1 = b.fneg(op1)
    r = intr(ctx, "fma", ft, [op1, op2, addend])

    def qnan_addend_inf_times_zero() -> Val:
        """FPMulAdd: a quiet-NaN addend does not hide an invalid inf * 0 (the result is then
        a NaN, so this is only looked at on the NaN path). Tested on the bits: a real
        multiply here would raise the product's own flags."""
        a_bits = b.bitcast(addend, ft.ity)
        a_qnan = b.and_(is_nan(ctx, addend),
                        b.icmp("ne", b.and_(a_bits, const(ft.ity, ft.quiet)), const(ft.ity, 0)))
        return b.and_(a_qnan, _inf_times_zero(ctx, ft, op1, op2))

    r = process_nans(ctx, ft, [addend, op1, op2], r,
                     lambda o: intr(ctx, "fma", ft, [o[1], o[2], o[0]]),
                     invalid=qnan_addend_inf_times_zero)
    ctx.set_vreg(rd, r)


# ---------------------------------------------------------------------------------- compares


def fcmp_flags(ctx: LiftContext, a: Val, c: Val) -> tuple[Val, Val, Val, Val]:
    """NZCV of FCMP: less 1000, equal 0110, greater 0010, unordered 0011."""
    b = ctx.b
    return (b.fcmp("olt", a, c), b.fcmp("oeq", a, c), b.fcmp("uge", a, c), b.fcmp("uno", a, c))


@insn("000 11110 xx 1 xxxxx 00 1000 xxxxx xx000", name="FCMP/FCMPE")
def fcmp(ctx: LiftContext, w: int) -> None:
    """FCMP and FCMPE differ only in which NaNs raise Invalid Operation.

    The host's quiet compare raises Invalid for a signalling NaN, as FCMP must; FCMPE also
    raises it for a quiet NaN.
    """
    ft = ftype_of(w)
    a = read_fp(ctx, bits(w, 9, 5), ft)
    c = fconst_bits(ft, 0) if bit(w, 3) else read_fp(ctx, bits(w, 20, 16), ft)
    flags = fcmp_flags(ctx, a, c)
    ctx.set_nzcv(*flags)
    if bit(w, 4):
        raise_fp_flags_rare(ctx.b, flags[3], FPSR_IOC)
    flush_to_zero_fixup(ctx.b, [a, c], host_op=False)


@insn("000 11110 xx 1 xxxxx xxxx 01 xxxxx x xxxx", name="FCCMP/FCCMPE")
def fccmp(ctx: LiftContext, w: int) -> None:
    ft = ftype_of(w)
    b = ctx.b
    holds = ctx.cond_holds(bits(w, 15, 12))
    a, c = read_fp(ctx, bits(w, 9, 5), ft), read_fp(ctx, bits(w, 20, 16), ft)
    # When the condition fails nothing is compared: zeros keep the host compare (which runs
    # either way) from raising Invalid for a signalling NaN operand.
    zero_ = fconst_bits(ft, 0)
    a, c = b.opaque(b.select(holds, a, zero_)), b.opaque(b.select(holds, c, zero_))
    nzcv = bits(w, 3, 0)
    flags = fcmp_flags(ctx, a, c)
    ctx.set_nzcv(*(b.select(holds, f, const("i1", (nzcv >> (3 - i)) & 1))
                   for i, f in enumerate(flags)))
    if bit(w, 4):  # FCCMPE: a quiet NaN raises Invalid too
        raise_fp_flags_rare(b, b.and_(holds, flags[3]), FPSR_IOC)
    flush_to_zero_fixup(b, [a, c], host_op=False)  # zeros when nothing is compared


@insn("000 11110 xx 1 xxxxx xxxx 11 xxxxx xxxxx", name="FCSEL")
def fcsel(ctx: LiftContext, w: int) -> None:
    ft = ftype_of(w)
    holds = ctx.cond_holds(bits(w, 15, 12))
    n = ctx.vreg_as(bits(w, 9, 5), ft.ity)
    m = ctx.vreg_as(bits(w, 20, 16), ft.ity)
    ctx.set_vreg(bits(w, 4, 0), ctx.b.select(holds, n, m))
