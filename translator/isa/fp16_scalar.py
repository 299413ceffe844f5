"""FEAT_FP16 scalar floating point (type = 11): the half-precision forms of fp_scalar and
fp_convert.

These patterns fix the type field, so they are more specific than the single/double forms
and win the registry lookup for half precision. The arithmetic is fp16_core's (integer and
exact-double arithmetic, flags computed for the half result); FMOV, FABS, FNEG and FCSEL are
bit operations. FCVT between half and single/double is base Armv8 and stays in fp_convert.
"""

from __future__ import annotations

from typing import Callable

from runtime.fpenv import FPSR_IOC
from translator.ir import Builder, Val, const
from translator.isa import fp16_core as h
from translator.isa.fp_convert import fp_to_int
from translator.isa.fp_scalar import DOUBLE, HALF, vfp_expand_imm
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import round_ties_away, scale_for_fixed
from translator.lift_context import LiftContext, Unallocated, fpcr_value, raise_fp_bits_rare


def read_h(ctx: LiftContext, n: int, fpcr: Val) -> Val:
    """Hn as i16, flushed to zero under FPCR.FZ16 (FPUnpack)."""
    return h.flush_input(ctx.b, ctx.vreg_as(n, "i16"), fpcr)


def write_h(ctx: LiftContext, d: int, lane: h.Lane) -> None:
    """Hd = the result (V[127:16] zeroed), and its FPSR flags raised."""
    r, flags = lane
    ctx.set_vreg(d, r)
    raise_fp_bits_rare(ctx.b, flags)


# ------------------------------------------------------------------------------ FMOV


@insn("000 11110 11 1 xxxxxxxx 100 00000 xxxxx", name="FMOV (scalar, immediate, half)")
def fmov_imm_h(ctx: LiftContext, w: int) -> None:
    ctx.set_vreg(bits(w, 4, 0), const("i16", vfp_expand_imm(bits(w, 20, 13), HALF)))


@insn("x 00 11110 11 1 00 11x 000000 xxxxx xxxxx", name="FMOV (general, half)")
def fmov_general_h(ctx: LiftContext, w: int) -> None:
    """FMOV Wd/Xd, Hn zero-extends the half; FMOV Hd, Wn/Xn takes the low 16 bits."""
    sf, rn, rd = bit(w, 31), bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    if bit(w, 16):
        ctx.set_vreg(rd, b.trunc(ctx.reg(rn, sf), "i16"))
    else:
        ctx.set_x(rd, b.zext(ctx.vreg_as(rn, "i16"), "i64"))


# ------------------------------------------------------------------------------ 1 source


def _rounder(b: Builder, opc: int) -> Callable[[Val], Val]:
    """FRINT{N,P,M,Z,A,X,I} on an exact double (the result is integral and a half value)."""
    name = {8: "roundeven", 9: "ceil", 10: "floor", 11: "trunc", 14: "rint", 15: "nearbyint"}
    if opc == 12:
        return lambda d: round_ties_away(b, d)
    return lambda d: b.intrinsic(f"llvm.{name[opc]}.f64", "double", [d])


@insn("000 11110 11 1 xxxxxx 10000 xxxxx xxxxx", name="FP data-processing (1 source, half)")
def fp_1src_h(ctx: LiftContext, w: int) -> None:
    opc = bits(w, 20, 15)
    if opc not in (0, 1, 2, 3, 8, 9, 10, 11, 12, 14, 15):
        raise Unallocated  # FCVT from half is fp_convert's; others do not exist for half
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    if opc <= 2:  # FMOV, FABS, FNEG: bit operations, no flush, no flags
        v = ctx.vreg_as(rn, "i16")
        if opc == 1:
            v = b.and_(v, const("i16", 0x7FFF))
        elif opc == 2:
            v = b.xor(v, const("i16", -0x8000))
        ctx.set_vreg(rd, v)
        return
    fpcr = fpcr_value(b)
    a = read_h(ctx, rn, fpcr)
    if opc == 3:
        write_h(ctx, rd, h.sqrt(b, a, fpcr))
    else:
        write_h(ctx, rd, h.round_to_integral(b, a, _rounder(b, opc), fpcr))


# ------------------------------------------------------------------------------ 2 source


def two_source(b: Builder, opc: int, x: Val, y: Val, fpcr: Val) -> h.Lane:
    """The operation of FP data-processing (2 source) opcode `opc` on two flushed halves."""
    if opc in (0, 8):
        return h.add_sub_mul(b, "mul", x, y, fpcr)
    if opc == 1:
        return h.divide(b, x, y, fpcr)
    if opc in (2, 3):
        return h.add_sub_mul(b, "add" if opc == 2 else "sub", x, y, fpcr)
    if opc in (4, 5):
        return h.max_min(b, x, y, opc == 4, fpcr)
    return h.max_min(b, x, y, opc == 6, fpcr, num=True)


@insn("000 11110 11 1 xxxxx xxxx 10 xxxxx xxxxx", name="FP data-processing (2 source, half)")
def fp_2src_h(ctx: LiftContext, w: int) -> None:
    opc = bits(w, 15, 12)
    if opc > 8:
        raise Unallocated
    b = ctx.b
    fpcr = fpcr_value(b)
    x, y = read_h(ctx, bits(w, 9, 5), fpcr), read_h(ctx, bits(w, 20, 16), fpcr)
    r, flags = two_source(b, opc, x, y, fpcr)
    if opc == 8:  # FNMUL negates after NaN processing: a NaN result flips sign too
        r = b.xor(r, const("i16", -0x8000))
    write_h(ctx, bits(w, 4, 0), (r, flags))


# ------------------------------------------------------------------------------ 3 source


@insn("000 11111 11 x xxxxx x xxxxx xxxxx xxxxx", name="FMADD/FMSUB/FNMADD/FNMSUB (half)")
def fp_3src_h(ctx: LiftContext, w: int) -> None:
    o1, o0 = bit(w, 21), bit(w, 15)
    b = ctx.b
    fpcr = fpcr_value(b)
    op1 = read_h(ctx, bits(w, 9, 5), fpcr)
    op2 = read_h(ctx, bits(w, 20, 16), fpcr)
    addend = read_h(ctx, bits(w, 14, 10), fpcr)
    sign = const("i16", -0x8000)
    if o1:  # FNMADD, FNMSUB
        addend = b.xor(addend, sign)
    if o0 != o1:  # FMSUB, FNMADD
        op1 = b.xor(op1, sign)
    write_h(ctx, bits(w, 4, 0), h.mul_add(b, addend, op1, op2, fpcr))


# ------------------------------------------------------------------------------ compares


def _compare_nzcv(ctx: LiftContext, x: Val, y: Val, signalling: bool) -> tuple[Val, Val]:
    """(NZCV as four i1, FPSR flags) of FPCompare: IOC for a signalling NaN, or any NaN when
    `signalling` (FCMPE)."""
    b = ctx.b
    lt, eq, un = h.compare(b, x, y)
    nzcv = (lt, eq, b.not_(lt), un)
    bad = un if signalling else b.or_(h.is_snan(b, x), h.is_snan(b, y))
    return nzcv, h.flag(b, bad, FPSR_IOC)


@insn("000 11110 11 1 xxxxx 00 1000 xxxxx xx000", name="FCMP/FCMPE (half)")
def fcmp_h(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    fpcr = fpcr_value(b)
    x = read_h(ctx, bits(w, 9, 5), fpcr)
    y = const("i16", 0) if bit(w, 3) else read_h(ctx, bits(w, 20, 16), fpcr)
    (n, z, c, v), flags = _compare_nzcv(ctx, x, y, bool(bit(w, 4)))
    ctx.set_nzcv(n, z, c, v)
    raise_fp_bits_rare(b, flags)


@insn("000 11110 11 1 xxxxx xxxx 01 xxxxx x xxxx", name="FCCMP/FCCMPE (half)")
def fccmp_h(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    holds = ctx.cond_holds(bits(w, 15, 12))
    fpcr = fpcr_value(b)
    x, y = read_h(ctx, bits(w, 9, 5), fpcr), read_h(ctx, bits(w, 20, 16), fpcr)
    flags4, fl = _compare_nzcv(ctx, x, y, bool(bit(w, 4)))
    nzcv = bits(w, 3, 0)
    ctx.set_nzcv(*(b.select(holds, f, const("i1", (nzcv >> (3 - i)) & 1))
                   for i, f in enumerate(flags4)))
    raise_fp_bits_rare(b, b.select(holds, fl, const("i64", 0)))


@insn("000 11110 11 1 xxxxx xxxx 11 xxxxx xxxxx", name="FCSEL (half)")
def fcsel_h(ctx: LiftContext, w: int) -> None:
    holds = ctx.cond_holds(bits(w, 15, 12))
    n = ctx.vreg_as(bits(w, 9, 5), "i16")
    m = ctx.vreg_as(bits(w, 20, 16), "i16")
    ctx.set_vreg(bits(w, 4, 0), ctx.b.select(holds, n, m))


# ------------------------------------------------------------------------------ conversions

_ROUND_BY_RMODE = {0: "roundeven", 1: "ceil", 2: "floor", 3: None}  # N, P, M, Z


def half_to_int(ctx: LiftContext, x: Val, ity: str, signed: bool, rounding: str | None,
                fbits: int = 0) -> Val:
    """FPToFixed from a flushed half: on its exact double (scaled by 2^fbits, exactly), with
    fp_convert's rounding, saturation and IOC/IXC."""
    b = ctx.b
    d = h.widen(b, x)
    if fbits:
        d = scale_for_fixed(b, d, fbits, int(ity[1:]))
    return fp_to_int(ctx, d, DOUBLE, ity, signed, rounding)


@insn("x 00 11110 11 1 xx xxx 000000 xxxxx xxxxx", name="FP <-> integer conversion (half)")
def fp_int_h(ctx: LiftContext, w: int) -> None:
    sf, rmode, opcode = bit(w, 31), bits(w, 20, 19), bits(w, 18, 16)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    ity = "i64" if sf else "i32"
    b = ctx.b
    if opcode in (0, 1) or (opcode in (4, 5) and rmode == 0):
        fpcr = fpcr_value(b)
        x = read_h(ctx, rn, fpcr)
        rounding = "round" if opcode >= 4 else _ROUND_BY_RMODE[rmode]
        ctx.set_x(rd, half_to_int(ctx, x, ity, opcode in (0, 4), rounding))
    elif opcode in (2, 3) and rmode == 0:  # SCVTF, UCVTF
        write_h(ctx, rd, h.int_to_half(b, ctx.reg(rn, sf), opcode == 2, 0, fpcr_value(b)))
    else:
        raise Unallocated


@insn("x 00 11110 11 0 xx xxx xxxxxx xxxxx xxxxx", name="FP <-> fixed-point conversion (half)")
def fp_fixed_h(ctx: LiftContext, w: int) -> None:
    sf, rmode, opcode, scale = bit(w, 31), bits(w, 20, 19), bits(w, 18, 16), bits(w, 15, 10)
    if (rmode, opcode) not in ((0, 2), (0, 3), (3, 0), (3, 1)) or (sf == 0 and scale < 32):
        raise Unallocated
    fbits = 64 - scale
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    fpcr = fpcr_value(b)
    if rmode == 3:  # FCVTZS, FCVTZU (fixed-point)
        ity = "i64" if sf else "i32"
        ctx.set_x(rd, half_to_int(ctx, read_h(ctx, rn, fpcr), ity, opcode == 0, None, fbits))
    else:
        write_h(ctx, rd, h.int_to_half(b, ctx.reg(rn, sf), opcode == 2, fbits, fpcr))
