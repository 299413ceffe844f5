"""Half-precision (FEAT_FP16) arithmetic on a host without half-precision arithmetic.

x86_64's baseline has no half arithmetic, and even F16C only converts (rounding in MXCSR's mode
and raising MXCSR flags that are a float operation's, not the half operation's). So every FP16
operation here works on the 16-bit patterns as integers and on doubles that are exact:

- An operand is widened to the double of the same value (always a normal double, so the
  host's DAZ/FTZ, which follow FPCR.FZ, never touch it). NaNs widen to a quiet NaN, so host
  operations on them raise nothing; the guest's NaN is chosen from the half bits.
- Sums, differences and products of two halves are exact in double (at most 40 significant
  bits), so the host raises only Invalid, and only for an operation Arm also calls invalid.
  Division and fused multiply-add are done in integer arithmetic (an exact sticky quotient,
  an exact 128-bit sum), square root in double (it is never tiny, and the host's Inexact
  is raised exactly when the half result is inexact too).
- round_to_half then rounds the exact (or sticky) value once, in FPCR.RMode, and returns the
  FPSR flags FPRound gives: OFC+IXC on overflow, UFC when tiny before rounding and inexact,
  IXC when inexact; with FPCR.FZ16 a result tiny before rounding is a signed zero with UFC
  only. FZ16 flushes denormal inputs to zero without IDC (FPUnpack's half case raises
  nothing); FPCR.FZ and AHP play no part in FP16 arithmetic.

Every helper returns (result bits, i64 FPSR flags) for one lane; the instruction lifters OR
the lanes' flags and raise them once (raise_fp_bits_rare), so a vector costs one FPSR update.
"""

from __future__ import annotations

from typing import Callable

from runtime.fpenv import (
    FPCR_RMODE_SHIFT,
    FPSR_DZC,
    FPSR_IOC,
    FPSR_IXC,
    FPSR_OFC,
    FPSR_UFC,
)
from translator.ir import Builder, Val, const
from translator.lift_context import fpcr_bit

FPCR_FZ16_BIT, FPCR_DN_BIT = 19, 25
H_SIGN, H_EXP, H_FRAC, H_QUIET = 0x8000, 0x7C00, 0x03FF, 0x0200
H_DEFAULT_NAN = 0x7E00
I64 = "i64"

Lane = tuple[Val, Val]  # (result bits, FPSR flags as i64)


def c16(v: int) -> Val:
    return const("i16", v & 0xFFFF)


def c64(v: int) -> Val:
    return const(I64, v & ((1 << 64) - 1))


def flag(b: Builder, cond: Val, bits_: int) -> Val:
    return b.select(cond, c64(bits_), c64(0))


def no_flags() -> Val:
    return c64(0)


def or_flags(b: Builder, *fs: Val) -> Val:
    out = fs[0]
    for f in fs[1:]:
        out = b.or_(out, f)
    return out


# ------------------------------------------------------------------------- classification


def mag(b: Builder, h: Val) -> Val:
    return b.and_(h, c16(0x7FFF))


def is_nan(b: Builder, h: Val) -> Val:
    return b.icmp("ugt", mag(b, h), c16(H_EXP))


def is_snan(b: Builder, h: Val) -> Val:
    return b.and_(is_nan(b, h), b.icmp("eq", b.and_(h, c16(H_QUIET)), c16(0)))


def is_qnan(b: Builder, h: Val) -> Val:
    return b.icmp("uge", mag(b, h), c16(H_EXP | H_QUIET))


def is_inf(b: Builder, h: Val) -> Val:
    return b.icmp("eq", mag(b, h), c16(H_EXP))


def is_zero(b: Builder, h: Val) -> Val:
    return b.icmp("eq", mag(b, h), c16(0))


def sign_of(b: Builder, h: Val) -> Val:
    """i1: the sign bit."""
    return b.icmp("slt", h, c16(0))


def flush_input(b: Builder, h: Val, fpcr: Val) -> Val:
    """FPUnpack under FPCR.FZ16: a denormal becomes the zero of its sign (no IDC for half)."""
    den = b.and_(b.icmp("eq", b.and_(h, c16(H_EXP)), c16(0)),
                 b.icmp("ne", b.and_(h, c16(H_FRAC)), c16(0)))
    fz16 = fpcr_bit(b, fpcr, FPCR_FZ16_BIT)
    return b.select(b.and_(fz16, den), b.and_(h, c16(H_SIGN)), h)


def order_key(b: Builder, h: Val, zero_signed: bool) -> Val:
    """An i32 that orders non-NaN halves by value. With `zero_signed`, -0 sorts below +0 (the
    FPMax/FPMin order); without, they are equal (the IEEE order the compares use)."""
    m = b.zext(mag(b, h), "i32")
    neg = b.xor(m, const("i32", -1)) if zero_signed else b.sub(const("i32", 0), m)
    return b.select(sign_of(b, h), neg, m)


# ------------------------------------------------------------------------- NaNs


def process_nans(b: Builder, ops: list[Val], fpcr: Val) -> Lane:
    """FPProcessNaNs for halves: the first signalling NaN (quietened), else the first quiet
    NaN, else the default NaN (an invalid operation); IOC unless only quiet NaNs passed on.
    FPCR.DN gives the default NaN for every NaN result."""
    res = c16(H_DEFAULT_NAN)
    for op in reversed(ops):
        res = b.select(is_nan(b, op), b.or_(op, c16(H_QUIET)), res)
    any_nan, any_snan = const("i1", 0), const("i1", 0)
    for op in reversed(ops):
        s = is_snan(b, op)
        res = b.select(s, b.or_(op, c16(H_QUIET)), res)
        any_snan = b.or_(any_snan, s)
    for op in ops:
        any_nan = b.or_(any_nan, is_nan(b, op))
    res = b.select(fpcr_bit(b, fpcr, FPCR_DN_BIT), c16(H_DEFAULT_NAN), res)
    return res, flag(b, b.or_(any_snan, b.not_(any_nan)), FPSR_IOC)


def any_nan(b: Builder, ops: list[Val]) -> Val:
    out = is_nan(b, ops[0])
    for op in ops[1:]:
        out = b.or_(out, is_nan(b, op))
    return out


# ------------------------------------------------------------------------- widen / round


def widen(b: Builder, h: Val) -> Val:
    """The double equal to half `h` (exact, always normal or zero/inf); NaNs become a quiet
    NaN of the same sign, so no host operation on them raises Invalid."""
    m = b.zext(mag(b, h), I64)
    exp = b.lshr(m, c64(10))
    frac = b.and_(m, c64(H_FRAC))
    normal = b.or_(b.shl(b.add(exp, c64(1008)), c64(52)), b.shl(frac, c64(42)))
    # denormal: value frac * 2^-24, leading bit at position p = 63 - ctlz(frac)
    p = b.sub(c64(63), b.intrinsic("llvm.ctlz.i64", I64, [frac, const("i1", 0)]))
    den_exp = b.shl(b.add(p, c64(1023 - 24)), c64(52))
    den_frac = b.and_(b.shl(frac, b.sub(c64(52), b.and_(p, c64(63)))), c64((1 << 52) - 1))
    den = b.select(b.icmp("eq", frac, c64(0)), c64(0), b.or_(den_exp, den_frac))
    special = b.select(b.icmp("eq", frac, c64(0)), c64(0x7FF << 52), c64(0x7FF8 << 48))
    r = b.select(b.icmp("eq", exp, c64(0)), den,
                 b.select(b.icmp("eq", exp, c64(31)), special, normal))
    sign = b.shl(b.zext(b.lshr(h, c16(15)), I64), c64(63))
    return b.bitcast(b.or_(r, sign), "double")


def _int_bits(ty: str) -> int:
    return int(ty[1:])


def round_to_half(b: Builder, neg: Val, m: Val, e: Val, fpcr: Val) -> Lane:
    """FPRound to half of the nonzero value (-1)^neg * m * 2^e (m: iN integer, e: i64).

    `m` may carry a sticky bit below the bits that matter (an inexact quotient); it must be
    nonzero. Tininess is detected before rounding, as Arm does.
    """
    t = m.ty
    w = _int_bits(t)

    def ct(v: int) -> Val:
        return const(t, v)

    lz = b.zext_or_trunc(b.intrinsic(f"llvm.ctlz.{t}", t, [m, const("i1", 0)]), I64)
    top = b.add(b.sub(c64(w - 1), lz), e)  # exponent of the leading bit
    lsb = b.intrinsic("llvm.smax.i64", I64, [b.sub(top, c64(10)), c64(-24)])
    shift = b.sub(lsb, e)
    rs = b.intrinsic("llvm.smin.i64", I64, [b.intrinsic("llvm.smax.i64", I64, [shift, c64(0)]),
                                             c64(w - 1)])
    ls = b.intrinsic("llvm.smin.i64", I64, [b.intrinsic("llvm.smax.i64", I64,
                                                         [b.sub(c64(0), shift), c64(0)]),
                                             c64(w - 1)])
    rs_t, ls_t = b.zext_or_trunc(rs, t), b.zext_or_trunc(ls, t)
    kept = b.shl(b.lshr(m, rs_t), ls_t)
    rem = b.and_(m, b.sub(b.shl(ct(1), rs_t), ct(1)))
    halfway = b.lshr(b.shl(ct(1), rs_t), ct(1))
    inexact = b.icmp("ne", rem, ct(0))
    kept = b.zext_or_trunc(kept, I64)
    odd = b.icmp("ne", b.and_(kept, c64(1)), c64(0))
    nearest_up = b.and_(inexact, b.or_(b.icmp("ugt", rem, halfway),
                                       b.and_(b.icmp("eq", rem, halfway), odd)))
    rmode = b.and_(b.lshr(fpcr, c64(FPCR_RMODE_SHIFT)), c64(3))
    is_n, is_p, is_m = (b.icmp("eq", rmode, c64(k)) for k in (0, 1, 2))
    away = b.or_(b.and_(is_p, b.not_(neg)), b.and_(is_m, neg))  # directed away from zero
    up = b.or_(b.and_(is_n, nearest_up), b.and_(inexact, away))
    kept = b.add(kept, b.zext(up, I64))
    he = b.add(top, c64(15))  # biased exponent before rounding
    biased = b.intrinsic("llvm.smax.i64", I64, [b.sub(he, c64(1)), c64(0)])
    finite = b.add(b.shl(biased, c64(10)), kept)
    tiny = b.icmp("sle", he, c64(0))
    over = b.icmp("sge", finite, c64(H_EXP))
    over_val = b.select(b.or_(is_n, away), c64(H_EXP), c64(0x7BFF))
    r = b.select(over, over_val, finite)
    flags = or_flags(b, flag(b, over, FPSR_OFC | FPSR_IXC), flag(b, inexact, FPSR_IXC),
                     flag(b, b.and_(tiny, inexact), FPSR_UFC))
    flush = b.and_(fpcr_bit(b, fpcr, FPCR_FZ16_BIT), tiny)
    r = b.select(flush, c64(0), r)
    flags = b.select(flush, c64(FPSR_UFC), flags)
    sign = b.select(neg, c16(H_SIGN), c16(0))
    return b.or_(b.trunc(r, "i16"), sign), flags


def from_double(b: Builder, d: Val, fpcr: Val, nan: Callable[[], Lane]) -> Lane:
    """A double result (exact, or rounded once by the host in the guest's mode, which a second
    rounding to half does not disturb) to half. `nan` gives the lane for a NaN result."""
    bits_ = b.bitcast(d, I64)
    neg = b.icmp("slt", bits_, c64(0))
    exp = b.and_(b.lshr(bits_, c64(52)), c64(0x7FF))
    frac = b.and_(bits_, c64((1 << 52) - 1))
    m = b.or_(frac, c64(1 << 52))
    finite = b.icmp("ne", exp, c64(0x7FF))
    nonzero = b.icmp("ne", b.and_(bits_, c64((1 << 63) - 1)), c64(0))
    # zeros and infinities map directly (a denormal double never arises here)
    ok = b.and_(finite, nonzero)
    rounded, flags = round_to_half(b, neg, b.select(ok, m, c64(1 << 52)),
                                   b.sub(exp, c64(1075)), fpcr)
    sign = b.select(neg, c16(H_SIGN), c16(0))
    direct = b.or_(sign, b.select(finite, c16(0), c16(H_EXP)))
    r = b.select(ok, rounded, direct)
    flags = b.select(ok, flags, no_flags())
    is_n = b.and_(b.not_(finite), b.icmp("ne", frac, c64(0)))
    nr, nf = nan()
    return b.select(is_n, nr, r), b.select(is_n, b.or_(nf, flags), flags)


def unpack_int(b: Builder, h: Val) -> tuple[Val, Val]:
    """A finite half as (significand, exponent): value = sig * 2^exp, as i64s."""
    m = b.zext(mag(b, h), I64)
    exp = b.lshr(m, c64(10))
    frac = b.and_(m, c64(H_FRAC))
    normal = b.icmp("ne", exp, c64(0))
    sig = b.select(normal, b.or_(frac, c64(0x400)), frac)
    e = b.select(normal, b.sub(exp, c64(25)), c64(-24))
    return sig, e


# ------------------------------------------------------------------------- operations


def add_sub_mul(b: Builder, op: str, x: Val, y: Val, fpcr: Val) -> Lane:
    """FPAdd / FPSub / FPMul of halves (already flushed): exact in double, rounded once."""
    dx, dy = widen(b, x), widen(b, y)
    d = {"add": b.fadd, "sub": b.fsub, "mul": b.fmul}[op](dx, dy)
    return from_double(b, d, fpcr, lambda: process_nans(b, [x, y], fpcr))


def divide(b: Builder, x: Val, y: Val, fpcr: Val) -> Lane:
    """FPDiv of halves in integer arithmetic: a quotient of 41+ bits with a sticky bit is
    rounded once (a host division would raise Inexact for a result FZ16 flushes)."""
    neg = b.xor(sign_of(b, x), sign_of(b, y))
    mx, ex = unpack_int(b, x)
    my, ey = unpack_int(b, y)
    my = b.select(b.icmp("eq", my, c64(0)), c64(1), my)
    mx = b.select(b.icmp("eq", mx, c64(0)), c64(1), mx)
    num = b.shl(mx, c64(52))
    q = b.udiv(num, my)
    sticky = b.zext(b.icmp("ne", b.urem(num, my), c64(0)), I64)
    r, flags = round_to_half(b, neg, b.or_(b.shl(q, c64(1)), sticky),
                             b.sub(b.sub(ex, ey), c64(53)), fpcr)
    sign = b.select(neg, c16(H_SIGN), c16(0))
    xi, yi, xz, yz = is_inf(b, x), is_inf(b, y), is_zero(b, x), is_zero(b, y)
    invalid = b.or_(b.and_(xi, yi), b.and_(xz, yz))
    inf = b.or_(xi, yz)  # (the invalid cases are overridden below)
    zero = b.or_(xz, yi)
    r = b.select(inf, b.or_(sign, c16(H_EXP)), b.select(zero, sign, r))
    flags = b.select(b.or_(inf, zero), flag(b, b.and_(yz, b.not_(xi)), FPSR_DZC), flags)
    nan = b.or_(any_nan(b, [x, y]), invalid)
    nr, nf = process_nans(b, [x, y], fpcr)
    return b.select(nan, nr, r), b.select(nan, nf, flags)


def sqrt(b: Builder, x: Val, fpcr: Val) -> Lane:
    """FPSqrt: the host's double square root of the exact double, then one rounding (never
    tiny; the host's Inexact is raised exactly when the half result is inexact)."""
    d = b.intrinsic("llvm.sqrt.f64", "double", [widen(b, x)])
    return from_double(b, d, fpcr, lambda: process_nans(b, [x], fpcr))


def mul_add(b: Builder, addend: Val, x: Val, y: Val, fpcr: Val, halve: bool = False) -> Lane:
    """FPMulAdd(addend, x, y) = addend + x*y, rounded once (operands already negated as the
    instruction says, and flushed); with `halve`, (addend + x*y) / 2 rounded once (FRSQRTS).

    Every finite half is a multiple of 2^-24 below 2^16, so the product is an exact multiple
    of 2^-48 below 2^32 and the sum an exact 82-bit integer times 2^-48: an i128.
    """
    mx, ex = unpack_int(b, x)
    my, ey = unpack_int(b, y)
    ma, ea = unpack_int(b, addend)
    t = "i128"
    p = b.shl(b.zext(b.mul(mx, my), t), b.zext(b.add(b.add(ex, ey), c64(48)), t))
    a = b.shl(b.zext(ma, t), b.zext(b.add(ea, c64(48)), t))
    sp = b.xor(sign_of(b, x), sign_of(b, y))
    sa = sign_of(b, addend)
    p = b.select(sp, b.sub(const(t, 0), p), p)
    a = b.select(sa, b.sub(const(t, 0), a), a)
    s = b.add(p, a)
    neg = b.icmp("slt", s, const(t, 0))
    sm = b.select(neg, b.sub(const(t, 0), s), s)
    nonzero = b.icmp("ne", sm, const(t, 0))
    r, flags = round_to_half(b, neg, b.select(nonzero, sm, const(t, 1)),
                             c64(-49 if halve else -48), fpcr)
    # exact zero: the common sign if both terms are zeros of one sign, else +0 (-0 in RM)
    rm = b.icmp("eq", b.and_(b.lshr(fpcr, c64(FPCR_RMODE_SHIFT)), c64(3)), c64(2))
    pz = b.or_(is_zero(b, x), is_zero(b, y))
    az = is_zero(b, addend)
    zsign = b.select(b.and_(b.and_(pz, az), b.icmp("eq", sp, sa)), sa, rm)
    r = b.select(nonzero, r, b.select(zsign, c16(H_SIGN), c16(0)))
    flags = b.select(nonzero, flags, no_flags())
    # infinities
    xi, yi, ai = is_inf(b, x), is_inf(b, y), is_inf(b, addend)
    pinf = b.or_(xi, yi)
    inf_zero = b.or_(b.and_(xi, is_zero(b, y)), b.and_(yi, is_zero(b, x)))
    invalid = b.or_(inf_zero, b.and_(b.and_(pinf, ai), b.xor(sp, sa)))
    inf_sign = b.select(ai, sa, sp)
    inf = b.or_(pinf, ai)
    r = b.select(inf, b.select(inf_sign, c16(H_SIGN | H_EXP), c16(H_EXP)), r)
    flags = b.select(inf, no_flags(), flags)
    # NaNs: FPProcessNaNs3(addend, x, y); a quiet-NaN addend does not hide inf * 0
    nr, nf = process_nans(b, [addend, x, y], fpcr)
    qnan_inf_zero = b.and_(is_qnan(b, addend), inf_zero)
    nr = b.select(qnan_inf_zero, c16(H_DEFAULT_NAN), nr)
    nf = b.select(qnan_inf_zero, c64(FPSR_IOC), nf)
    nan = b.or_(any_nan(b, [addend, x, y]), invalid)
    return b.select(nan, nr, r), b.select(nan, nf, flags)


def max_min(b: Builder, x: Val, y: Val, is_max: bool, fpcr: Val, num: bool = False) -> Lane:
    """FPMax/FPMin (+0 above -0), or with `num` FPMaxNum/FPMinNum (a quiet NaN against a
    number loses), on the bits."""
    if num:
        xq, yq = is_qnan(b, x), is_qnan(b, y)
        xn, yn = is_nan(b, x), is_nan(b, y)
        loser = c16(0xFC00 if is_max else 0x7C00)
        x2 = b.select(b.and_(xq, b.not_(yn)), loser, x)
        y = b.select(b.and_(yq, b.not_(xn)), loser, y)
        x = x2
    kx, ky = order_key(b, x, True), order_key(b, y, True)
    pick_x = b.icmp("sgt" if is_max else "slt", kx, ky)
    r = b.select(pick_x, x, y)
    nan = any_nan(b, [x, y])
    nr, nf = process_nans(b, [x, y], fpcr)
    return b.select(nan, nr, r), b.select(nan, nf, no_flags())


def compare(b: Builder, x: Val, y: Val) -> tuple[Val, Val, Val]:
    """(less, equal, unordered) of two halves, on the bits (raises nothing)."""
    kx, ky = order_key(b, x, False), order_key(b, y, False)
    unord = any_nan(b, [x, y])
    lt = b.and_(b.not_(unord), b.icmp("slt", kx, ky))
    eq = b.and_(b.not_(unord), b.icmp("eq", kx, ky))
    return lt, eq, unord


def round_to_integral(b: Builder, x: Val, fn: Callable[[Val], Val], fpcr: Val) -> Lane:
    """FRINT*: `fn` rounds the exact double to an integral double (exact, and representable
    in half); FRINTX's Inexact comes from the host llvm.rint, which Arm raises too."""
    d = fn(widen(b, x))
    return from_double(b, d, fpcr, lambda: process_nans(b, [x], fpcr))


def int_to_half(b: Builder, v: Val, signed: bool, fbits: int, fpcr: Val) -> Lane:
    """FixedToFP for SCVTF/UCVTF: |v| * 2^-fbits rounded once; 0 gives +0."""
    t = v.ty
    neg = b.icmp("slt", v, const(t, 0)) if signed else const("i1", 0)
    m = b.select(neg, b.sub(const(t, 0), v), v) if signed else v
    nonzero = b.icmp("ne", m, const(t, 0))
    r, flags = round_to_half(b, neg, b.select(nonzero, m, const(t, 1)), c64(-fbits), fpcr)
    return b.select(nonzero, r, c16(0)), b.select(nonzero, flags, no_flags())
