"""Scalar FP conversions: FCVT between precisions, FP <-> integer and FP <-> fixed point.

- FCVT Sd/Dd/Hd <- Sn/Dn/Hn: NaNs follow FPConvertNaN (sign kept, quiet bit set, fraction's
  top bits kept), done explicitly rather than trusting the host. Conversions involving half
  precision are done in integer arithmetic following FPCR (RMode, FZ on the source, DN, AHP)
  and raising the FPSR flags FPConvert raises, so no compiler-rt half-precision helper or
  F16C is needed and double -> half is rounded once, not via single.
- FCVT{N,A,P,M,Z}{S,U}: round in the named mode (roundeven/ceil/floor/trunc, and an exact
  ties-away rounding for A since llvm.round depends on the host rounding mode), then
  llvm.fptosi.sat / fptoui.sat, which is exactly FPToFixed's saturation: NaN -> 0,
  out-of-range -> the nearest representable integer. IOC/IXC are computed from the values.
- Fixed-point forms scale by 2^fbits in FP: for FCVTZS/ZU the operand is first clamped so the
  multiply is always exact and raises nothing (simd_common.scale_for_fixed); for SCVTF/UCVTF
  the single rounding happens in the int -> FP conversion and the power-of-two scaling after
  it is exact (no result can become denormal with fbits <= 64).

Half-precision sources or destinations other than FCVT are FEAT_FP16, in fp16_scalar.
The FP environment is described in fp_scalar.
"""

from __future__ import annotations

from runtime.fpenv import (
    FPCR_RMODE_SHIFT,
    FPSR_IDC,
    FPSR_IOC,
    FPSR_IXC,
    FPSR_OFC,
    FPSR_UFC,
)
from translator.ir import Val, const
from translator.isa.fp_scalar import (
    DOUBLE,
    FTYPES,
    HALF,
    SINGLE,
    FType,
    fconst_bits,
    ftype_of,
    intr,
    is_nan,
    read_fp,
)
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import fp_to_int as rounded_to_int
from translator.isa.simd_common import raise_conversion_flags, round_ties_away, scale_for_fixed
from translator.lift_context import (
    LiftContext,
    Unallocated,
    checked_host_result,
    default_nan_mode,
    flush_to_zero_fixup,
    fpcr_bit,
    fpcr_value,
    raise_fp_bits_rare,
    raise_fp_flags_rare,
)

FPCR_AHP_BIT, FPCR_FZ_BIT = 26, 24

# ---------------------------------------------------------------------------------- FCVT


def convert_nan(ctx: LiftContext, src_bits: Val, src: FType, dst: FType) -> Val:
    """FPConvertNaN(): the quietened NaN of `dst` keeping the sign and top fraction bits."""
    b = ctx.b
    wide = "i64"
    s = b.zext(src_bits, wide)
    sign = b.and_(b.lshr(s, const(wide, src.width - 1)), const(wide, 1))
    frac = b.and_(s, const(wide, (1 << src.mbits) - 1))
    if dst.mbits >= src.mbits:
        frac = b.shl(frac, const(wide, dst.mbits - src.mbits))
    else:
        frac = b.lshr(frac, const(wide, src.mbits - dst.mbits))
    r = b.or_(b.shl(sign, const(wide, dst.width - 1)), frac)
    r = b.or_(r, const(wide, dst.exp_mask | dst.quiet))
    # FPCR.DN: the default NaN instead
    r = b.select(default_nan_mode(b), const(wide, dst.default_nan), r)
    return b.trunc(r, dst.ity)


def half_to_wider(ctx: LiftContext, h: Val, dst: FType, fpcr: Val | None = None) -> Val:
    """Exact half -> single/double (FPConvert): place the magnitude bits in `dst` and rescale
    the bias by multiplying with 2^(bias_dst - 15) (exact, also for half denormals).

    Half precision has no flush to zero without FEAT_FP16 (FPUnpackCV uses FZ16 = 0) and
    every half value is a normal single/double, so only NaNs raise anything (IOC for a
    signalling one). With FPCR.AHP the alternative format has no infinities or NaNs:
    exponent 31 is an ordinary binade.
    """
    b = ctx.b
    if fpcr is None:
        fpcr = fpcr_value(b)
    ahp = fpcr_bit(b, fpcr, FPCR_AHP_BIT)
    mag = b.zext(b.and_(h, const("i16", 0x7FFF)), dst.ity)
    f = b.bitcast(b.shl(mag, const(dst.ity, dst.mbits - HALF.mbits)), dst.ty)
    dst_bias = (1 << (dst.ebits - 1)) - 1
    scale = fconst_bits(dst, (dst_bias + dst_bias - 15) << dst.mbits)
    v = b.bitcast(b.fmul(f, scale), dst.ity)
    # Half denormals placed that way are denormals of `dst` too, which the host's DAZ (guest
    # FPCR.FZ, which does not govern half precision) would read as zero: scale their integer
    # significand instead (exact, and the result is a normal number).
    frac = b.and_(h, const("i16", 0x3FF))
    sub = b.bitcast(b.fmul(b.sitofp(frac, dst.ty), _pow2(dst, -24)), dst.ity)
    v = b.select(b.icmp("eq", b.and_(h, const("i16", 0x7C00)), const("i16", 0)), sub, v)
    sign = b.shl(b.zext(b.lshr(h, const("i16", 15)), dst.ity), const(dst.ity, dst.width - 1))
    finite = b.or_(v, sign)
    exp = b.and_(h, const("i16", 0x7C00))
    special = b.and_(b.icmp("eq", exp, const("i16", 0x7C00)), b.not_(ahp))
    is_inf = b.icmp("eq", b.and_(h, const("i16", 0x7FFF)), const("i16", 0x7C00))
    inf = b.or_(sign, const(dst.ity, dst.exp_mask))
    spec = b.select(is_inf, inf, convert_nan(ctx, h, HALF, dst))
    snan = b.and_(b.and_(special, b.not_(is_inf)),
                  b.icmp("eq", b.and_(h, const("i16", HALF.quiet)), const("i16", 0)))
    raise_fp_flags_rare(b, snan, FPSR_IOC)
    return b.bitcast(b.select(special, spec, finite), dst.ty)


def to_half(ctx: LiftContext, src_bits: Val, src: FType, fpcr: Val | None = None) -> Val:
    """Single/double bits -> half bits as FPConvert does, raising the FPSR flags.

    Done in integer arithmetic (rounded once, also from double) because the host has no
    conversion that follows FPCR: FPUnpackCV flushes a denormal source under FPCR.FZ (IDC),
    FPRoundCV rounds in FPCR.RMode with tininess detected before rounding (UFC only when
    inexact) and never flushes the half result (FZ16 = 0); FPCR.DN and FPCR.AHP (the
    alternative half format: no infinities or NaNs, NaN -> 0 and infinity or overflow ->
    the largest value with IOC, and then no IXC) are applied as specified.
    """
    b = ctx.b
    if fpcr is None:
        fpcr = fpcr_value(b)
    r, flags = to_half_lane(ctx, src_bits, src, fpcr)
    raise_fp_bits_rare(b, flags)
    return r


def to_half_lane(ctx: LiftContext, src_bits: Val, src: FType, fpcr: Val) -> tuple[Val, Val]:
    """to_half's (i16 result, i64 FPSR flags), for one scalar or one vector lane."""
    b = ctx.b
    t = "i64"

    def c(v: int) -> Val:
        return const(t, v)

    def flag(cond: Val, bits_: int) -> Val:
        return b.select(cond, c(bits_), c(0))

    s = b.zext(src_bits, t)
    emax = (1 << src.ebits) - 1
    bias = emax >> 1
    neg = b.icmp("ne", b.lshr(s, c(src.width - 1)), c(0))
    sign = b.select(neg, c(0x8000), c(0))
    exp = b.and_(b.lshr(s, c(src.mbits)), c(emax))
    mant = b.and_(s, c((1 << src.mbits) - 1))
    rmode = b.and_(b.lshr(fpcr, c(FPCR_RMODE_SHIFT)), c(3))
    fz, ahp = fpcr_bit(b, fpcr, FPCR_FZ_BIT), fpcr_bit(b, fpcr, FPCR_AHP_BIT)
    exp0 = b.icmp("eq", exp, c(0))
    mant0 = b.icmp("eq", mant, c(0))
    flushed = b.and_(fz, b.and_(exp0, b.not_(mant0)))  # FPUnpack: IDC
    zero = b.or_(b.and_(exp0, mant0), flushed)
    # Finite: source denormals are far below half's smallest denormal, so the implicit bit
    # may be set unconditionally: the result is still 0 with a nonzero (sticky) remainder.
    m = b.or_(mant, c(1 << src.mbits))
    he = b.add(exp, c(15 - bias))  # the half biased exponent, before denormalizing
    smax = "llvm.smax.i64"
    extra = b.intrinsic(smax, t, [b.sub(c(1), he), c(0)])
    shift = b.intrinsic("llvm.umin.i64", t, [b.add(extra, c(src.mbits - HALF.mbits)), c(63)])
    rounded = b.lshr(m, shift)
    rem = b.and_(m, b.sub(b.shl(c(1), shift), c(1)))
    halfway = b.shl(c(1), b.sub(shift, c(1)))
    inexact = b.icmp("ne", rem, c(0))
    odd = b.icmp("ne", b.and_(rounded, c(1)), c(0))
    nearest_up = b.or_(b.icmp("ugt", rem, halfway), b.and_(b.icmp("eq", rem, halfway), odd))
    is_n, is_p, is_m = (b.icmp("eq", rmode, c(k)) for k in (0, 1, 2))
    up = b.or_(b.and_(is_n, nearest_up),
               b.and_(inexact, b.or_(b.and_(is_p, b.not_(neg)), b.and_(is_m, neg))))
    rounded = b.add(rounded, b.zext(up, t))
    biased = b.intrinsic(smax, t, [b.sub(he, c(1)), c(0)])
    finite = b.add(b.shl(biased, c(HALF.mbits)), rounded)
    tiny = b.icmp("sle", he, c(0))  # before rounding
    # overflow: IEEE half saturates at exponent 31 (to inf or the largest finite value, as
    # the rounding direction says), the alternative format only beyond exponent 31
    to_inf = b.or_(is_n, b.or_(b.and_(is_p, b.not_(neg)), b.and_(is_m, neg)))
    over = b.icmp("uge", finite, b.select(ahp, c(0x8000), c(0x7C00)))
    over_val = b.select(ahp, c(0x7FFF), b.select(to_inf, c(0x7C00), c(0x7BFF)))
    fin = b.select(over, over_val, finite)
    ahp_over = b.and_(over, ahp)
    fin_flags = b.or_(b.or_(flag(b.and_(tiny, inexact), FPSR_UFC),
                            flag(b.and_(over, b.not_(ahp)), FPSR_OFC | FPSR_IXC)),
                      b.or_(flag(ahp_over, FPSR_IOC),
                            flag(b.and_(inexact, b.not_(ahp_over)), FPSR_IXC)))
    # infinities and NaNs
    special = b.icmp("eq", exp, c(emax))
    snan = b.icmp("eq", b.and_(mant, c(src.quiet)), c(0))
    nan = b.select(ahp, c(0), b.zext(convert_nan(ctx, src_bits, src, HALF), t))
    nan = b.select(ahp, b.or_(nan, sign), nan)  # AHP: FPZero(sign); else sign already in
    inf = b.or_(sign, b.select(ahp, c(0x7FFF), c(0x7C00)))
    spec = b.select(mant0, inf, nan)
    spec_flags = b.select(b.or_(ahp, b.and_(b.not_(mant0), snan)), c(FPSR_IOC), c(0))
    r = b.select(special, spec, b.select(zero, sign, b.or_(fin, sign)))
    flags = b.select(special, spec_flags,
                     b.select(zero, flag(flushed, FPSR_IDC), fin_flags))
    return b.trunc(r, "i16"), flags


@insn("000 11110 xx 1 0001 xx 10000 xxxxx xxxxx", name="FCVT (scalar)")
def fcvt(ctx: LiftContext, w: int) -> None:
    src = ftype_of(w, allow_half=True)
    opc = bits(w, 16, 15)
    if opc == 2:
        raise Unallocated  # BFCVT (FEAT_BF16) when type = 01; unallocated otherwise
    dst = FTYPES[opc]
    if dst is src:
        raise Unallocated
    b = ctx.b
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    a_bits = ctx.vreg_as(rn, src.ity)
    if src is HALF:
        ctx.set_vreg(rd, half_to_wider(ctx, a_bits, dst))
        return
    if dst is HALF:
        ctx.set_vreg(rd, to_half(ctx, a_bits, src))
        return
    a = b.bitcast(a_bits, src.ty)
    if dst.width > src.width:
        r = b.fpext(a, dst.ty)
        flush_to_zero_fixup(b, [a], after=r)
    else:  # a double can round up to the smallest normal single (tiny only for Arm)
        r = checked_host_result(b, [a], b.fptrunc(a, dst.ty),
                                tiny=lambda o: b.fptrunc(o[0], dst.ty))
    nan = b.bitcast(convert_nan(ctx, a_bits, src, dst), dst.ty)
    ctx.set_vreg(rd, b.select(is_nan(ctx, a), nan, r))


# ---------------------------------------------------------------------------------- FP <-> int

_ROUND_BY_RMODE = {0: "roundeven", 1: "ceil", 2: "floor", 3: None}  # N, P, M, Z


def _suffix(ft: FType) -> str:
    return {"float": "f32", "double": "f64"}[ft.ty]


def fp_to_int(ctx: LiftContext, a: Val, ft: FType, ity: str, signed: bool,
              rounding: str | None) -> Val:
    """FPToFixed(…, fbits = 0 after any scaling): round, then saturate (NaN -> 0)."""
    x = a
    if rounding == "round":  # llvm.round is not exact outside round-to-nearest
        a = round_ties_away(ctx.b, a)
    elif rounding is not None:
        a = intr(ctx, rounding, ft, [a])
    else:
        a = intr(ctx, "trunc", ft, [a])
    raise_conversion_flags(ctx.b, x, a, int(ity[1:]), not signed)
    return rounded_to_int(ctx.b, a, ity, not signed)


def int_to_fp(ctx: LiftContext, v: Val, ft: FType, signed: bool) -> Val:
    b = ctx.b
    r = b.sitofp(v, ft.ty) if signed else b.uitofp(v, ft.ty)
    flush_to_zero_fixup(b, [], after=r)  # its Inexact, taken out of MXCSR under FZ
    return r


def _pow2(ft: FType, e: int) -> Val:
    bias = (1 << (ft.ebits - 1)) - 1
    return fconst_bits(ft, (bias + e) << ft.mbits)


@insn("x 00 11110 xx 1 xx xxx 000000 xxxxx xxxxx", name="FP <-> integer conversion")
def fp_int(ctx: LiftContext, w: int) -> None:
    sf, rmode, opcode = bit(w, 31), bits(w, 20, 19), bits(w, 18, 16)
    ft = ftype_of(w)  # FMOV (general) is in fp_scalar; half precision in fp16_scalar
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    ity = "i64" if sf else "i32"
    if opcode in (0, 1):  # FCVT{N,P,M,Z}{S,U}
        v = fp_to_int(ctx, read_fp(ctx, rn, ft), ft, ity, opcode == 0, _ROUND_BY_RMODE[rmode])
        ctx.set_x(rd, v)
    elif opcode in (4, 5) and rmode == 0:  # FCVTAS, FCVTAU
        ctx.set_x(rd, fp_to_int(ctx, read_fp(ctx, rn, ft), ft, ity, opcode == 4, "round"))
    elif opcode in (2, 3) and rmode == 0:  # SCVTF, UCVTF
        ctx.set_vreg(rd, int_to_fp(ctx, ctx.reg(rn, sf), ft, opcode == 2))
    else:
        raise Unallocated  # FJCVTZS (FEAT_JSCVT) and unallocated combinations


@insn("x 00 11110 xx 0 xx xxx xxxxxx xxxxx xxxxx", name="FP <-> fixed-point conversion")
def fp_fixed(ctx: LiftContext, w: int) -> None:
    sf, rmode, opcode, scale = bit(w, 31), bits(w, 20, 19), bits(w, 18, 16), bits(w, 15, 10)
    if (rmode, opcode) not in ((0, 2), (0, 3), (3, 0), (3, 1)) or (sf == 0 and scale < 32):
        raise Unallocated
    ft = ftype_of(w)
    fbits = 64 - scale
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    if rmode == 3:  # FCVTZS, FCVTZU (fixed-point)
        bits_ = 64 if sf else 32
        x = read_fp(ctx, rn, ft)
        flush_to_zero_fixup(b, [x], host_op=False)  # the scaled value is never a denormal
        a = scale_for_fixed(b, x, fbits, bits_)
        ctx.set_x(rd, fp_to_int(ctx, a, ft, f"i{bits_}", opcode == 0, None))
    else:  # SCVTF, UCVTF (fixed-point)
        v = int_to_fp(ctx, ctx.reg(rn, sf), ft, opcode == 2)
        ctx.set_vreg(rd, b.fmul(v, _pow2(ft, -fbits)))


__all__ = ["convert_nan", "half_to_wider", "to_half", "to_half_lane", "SINGLE", "DOUBLE"]
