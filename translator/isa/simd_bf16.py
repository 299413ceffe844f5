"""FEAT_BF16: BFCVT, BFCVTN/BFCVTN2, BFDOT (vector and by element), BFMMLA and BFMLALB/T
(vector and by element). FEAT_EBF16 (FPCR.EBF) is not implemented, so the dot products follow
the original "BFloat16 computation behaviours".

Those behaviours are why most of this is integer arithmetic rather than host FP. BFDOT and
BFMMLA (the Arm ARM's BFDotAdd) form each product and each sum with round-to-odd, flush
denormal inputs and outputs to zero whatever FPCR says, return the default NaN for any NaN,
raise no FPSR flags, and ignore FPCR's rounding mode. The host's MXCSR holds the guest's
FPCR (runtime/fpenv.py) and x86 has no round-to-odd, so each lane is taken apart into sign,
exponent and integer significand and added exactly (with a sticky bit) in i64 lanes; round-to-
odd of that wide result is then the round-to-odd of the exact sum. The products of two 8-bit
significands are exact. BFCVT/BFCVTN (FPConvertBF) do use FPCR: rounding mode, FZ, DN and
the IOC/OFC/UFC/IXC/IDC flags, read from the CPU state's FPCR, again on the integer bits
(a float -> bfloat16 rounding is a 16-bit truncation with an increment). BFMLALB/T are an
ordinary fused FPMulAdd of the widened elements (exact products) under FPCR, with its flag and
flush fix-ups: simd_fp.fp_muladd.

Unicorn's CPU models lack FEAT_BF16; tests/test_isa_ext2.py compares these with
qemu-aarch64 through tests/guest/bf16.c, in every FPCR mode and in both tiers.
"""

from __future__ import annotations

from typing import NamedTuple

from runtime.fpenv import FPSR_IDC, FPSR_IOC, FPSR_IXC, FPSR_OFC, FPSR_UFC
from translator.ir import Builder, Val, const
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import lane_splat, vconst, write, write_upper
from translator.isa.simd_fp import fp_muladd
from translator.lift_context import LiftContext, raise_fp_bits_rare

DEFAULT_NAN32 = 0x7FC00000
ZERO_EXP = -100000  # the exponent given to zeros, so any nonzero addend is the larger one


def _lanes(ty: str) -> int:
    return int(ty[1:ty.index(" ")])


class _Lanes:
    """Integer helpers on <n x i32> / <n x i64> lane vectors."""

    __slots__ = ("b", "n")

    def __init__(self, b: Builder, n: int) -> None:
        self.b, self.n = b, n

    def c(self, value: int, width: int = 64) -> Val:
        return vconst(f"<{self.n} x i{width}>", value)

    def w64(self, v: Val) -> Val:
        return self.b.zext(v, f"<{self.n} x i64>")

    def sel(self, cond: Val, a: Val, c: Val) -> Val:
        return self.b.select(cond, a, c)

    def clz(self, v: Val) -> Val:
        return self.b.intrinsic(f"llvm.ctlz.v{self.n}i64", v.ty, [v, Val("false", "i1")])

    def smax(self, a: Val, c: Val) -> Val:
        return self.b.intrinsic(f"llvm.smax.v{self.n}i64", a.ty, [a, c])

    def is_(self, pred: str, a: Val, value: int) -> Val:
        return self.b.icmp(pred, a, self.c(value, int(a.ty.split(" x i")[1][:-1])))


class _Unpacked(NamedTuple):
    """A float32 lane taken apart the BFloat16 way (denormals are zeros): value = m * 2^e."""

    sign: Val  # i1 lanes
    nan: Val
    inf: Val
    zero: Val
    m: Val  # i64 lanes: the significand with its hidden bit, 0 for zeros
    e: Val  # i64 lanes


def _unpack(lz: _Lanes, x: Val) -> _Unpacked:
    b = lz.b
    x64 = lz.w64(x)
    exp = b.and_(b.lshr(x64, lz.c(23)), lz.c(0xFF))
    frac = b.and_(x64, lz.c(0x7FFFFF))
    top = lz.is_("eq", exp, 0xFF)
    zero = lz.is_("eq", exp, 0)
    nan = b.and_(top, lz.is_("ne", frac, 0))
    inf = b.and_(top, lz.is_("eq", frac, 0))
    m = lz.sel(zero, lz.c(0), b.or_(frac, lz.c(1 << 23)))
    e = lz.sel(zero, lz.c(ZERO_EXP), b.sub(exp, lz.c(150)))
    return _Unpacked(lz.is_("slt", x, 0), nan, inf, zero, m, e)


def _round_odd(lz: _Lanes, sign: Val, r: Val, e: Val) -> Val:
    """BFRound of r * 2^e (r > 0, i64 lanes) as float32 bits: round to odd, results below
    2^-126 flushed to (signed) zero, overflow to infinity."""
    b = lz.b
    top = b.sub(lz.c(63), lz.clz(r))  # the leading bit's position
    exp = b.add(top, e)
    sh = b.sub(top, lz.c(23))
    right = lz.smax(sh, lz.c(0))
    left = lz.smax(b.sub(lz.c(0), sh), lz.c(0))
    lost = b.and_(r, b.sub(b.shl(lz.c(1), right), lz.c(1)))
    mant = b.or_(b.lshr(r, right), b.zext(lz.is_("ne", lost, 0), r.ty))
    mant = b.shl(mant, left)
    out = b.or_(b.shl(b.add(exp, lz.c(127)), lz.c(23)), b.and_(mant, lz.c(0x7FFFFF)))
    out = lz.sel(lz.is_("sgt", exp, 127), lz.c(0x7F800000), out)
    out = lz.sel(lz.is_("slt", exp, -126), lz.c(0), out)
    out = b.trunc(out, f"<{lz.n} x i32>")
    return b.or_(out, b.shl(b.zext(sign, out.ty), lz.c(31, 32)))


def _bf_mul(lz: _Lanes, a: Val, c: Val) -> Val:
    """BFMul of two bfloat16 values (the high halves of i32 lanes, low halves zero)."""
    b = lz.b
    x, y = _unpack(lz, a), _unpack(lz, c)
    sign = b.xor(x.sign, y.sign)
    r = _round_odd(lz, sign, b.mul(x.m, y.m), b.add(x.e, y.e))
    signed = b.shl(b.zext(sign, r.ty), lz.c(31, 32))
    r = lz.sel(b.or_(x.zero, y.zero), signed, r)
    r = lz.sel(b.or_(x.inf, y.inf), b.or_(signed, lz.c(0x7F800000, 32)), r)
    nan = b.or_(b.or_(x.nan, y.nan), b.or_(b.and_(x.inf, y.zero), b.and_(x.zero, y.inf)))
    return lz.sel(nan, lz.c(DEFAULT_NAN32, 32), r)


def _bf_add(lz: _Lanes, a: Val, c: Val) -> Val:
    """BFAdd of two float32 lanes: exact sum, then _round_odd."""
    b = lz.b
    x, y = _unpack(lz, a), _unpack(lz, c)

    def norm(u: _Unpacked) -> tuple[Val, Val]:  # significand up to bit 40
        sh = b.sub(lz.clz(u.m), lz.c(23))
        sh = lz.sel(u.zero, lz.c(0), sh)
        return b.shl(u.m, sh), b.sub(u.e, sh)

    mx, ex = norm(x)
    my, ey = norm(y)
    swap = b.icmp("sgt", ey, ex)
    mb, eb, sb = lz.sel(swap, my, mx), lz.sel(swap, ey, ex), lz.sel(swap, y.sign, x.sign)
    ms, es, ss = lz.sel(swap, mx, my), lz.sel(swap, ex, ey), lz.sel(swap, x.sign, y.sign)
    d = b.intrinsic(f"llvm.smin.v{lz.n}i64", eb.ty, [b.sub(eb, es), lz.c(63)])
    wide = b.shl(ms, lz.c(2))
    sticky = lz.is_("ne", b.and_(wide, b.sub(b.shl(lz.c(1), d), lz.c(1))), 0)
    ws = b.or_(b.shl(b.lshr(wide, d), lz.c(1)), b.zext(sticky, wide.ty))
    wb = b.shl(mb, lz.c(3))
    same = b.icmp("eq", sb, ss)
    r = lz.sel(same, b.add(wb, ws), b.sub(wb, ws))
    neg = lz.is_("slt", r, 0)
    r = lz.sel(neg, b.sub(lz.c(0), r), r)
    sign = b.xor(sb, neg)
    out = _round_odd(lz, sign, r, b.sub(eb, lz.c(3)))
    out = lz.sel(lz.is_("eq", r, 0), lz.c(0, 32), out)  # an exact zero sum is +0
    both_zero = b.and_(x.zero, y.zero)
    out = lz.sel(both_zero, b.shl(b.zext(b.and_(x.sign, y.sign), out.ty), lz.c(31, 32)), out)
    inf_bits = lz.sel(x.inf, b.and_(a, lz.c(-1 << 23, 32)), b.and_(c, lz.c(-1 << 23, 32)))
    out = lz.sel(b.or_(x.inf, y.inf), inf_bits, out)
    nan = b.or_(b.or_(x.nan, y.nan), b.and_(b.and_(x.inf, y.inf), b.xor(x.sign, y.sign)))
    return lz.sel(nan, lz.c(DEFAULT_NAN32, 32), out)


def bf_dot_add(b: Builder, acc: Val, n: Val, m: Val) -> Val:
    """BFDotAdd on <k x i32> lanes: acc + (n.lo * m.lo + n.hi * m.hi), each pair of 32 bits
    holding two bfloat16 values."""
    lz = _Lanes(b, _lanes(acc.ty))
    hi_mask = lz.c(-(1 << 16), 32)
    p1 = _bf_mul(lz, b.shl(n, lz.c(16, 32)), b.shl(m, lz.c(16, 32)))
    p2 = _bf_mul(lz, b.and_(n, hi_mask), b.and_(m, hi_mask))
    return _bf_add(lz, acc, _bf_add(lz, p1, p2))


# ---------------------------------------------------------------------------- BFCVT
def _convert(ctx: LiftContext, x: Val) -> Val:
    """FPConvertBF on <k x i32> float lanes -> <k x i16>, with FPCR's rounding mode, FZ and DN
    and the FPSR flags."""
    b = ctx.b
    lz = _Lanes(b, _lanes(x.ty))
    fpcr = ctx.load_state("fpcr")
    rmode = b.trunc(b.and_(b.lshr(fpcr, const("i64", 22)), const("i64", 3)), "i32")
    fz = b.icmp("ne", b.and_(fpcr, const("i64", 1 << 24)), const("i64", 0))
    dn = b.icmp("ne", b.and_(fpcr, const("i64", 1 << 25)), const("i64", 0))

    true = Val("<" + ", ".join(["i1 true"] * lz.n) + ">", f"<{lz.n} x i1>")

    def splat_i1(v: Val) -> Val:
        return b.select(v, true, Val("zeroinitializer", true.ty))

    def c32(v: int) -> Val:
        return lz.c(v, 32)

    neg = lz.is_("slt", x, 0)
    mag = b.and_(x, c32(0x7FFFFFFF))
    nan = lz.is_("ugt", mag, 0x7F800000)
    snan = b.and_(nan, lz.is_("eq", b.and_(x, c32(1 << 22)), 0))
    denormal = b.and_(lz.is_("ult", mag, 0x800000), lz.is_("ne", mag, 0))
    flushed = b.and_(denormal, splat_i1(fz))
    finite = lz.is_("ult", mag, 0x7F800000)
    lo = b.and_(x, c32(0xFFFF))
    trunc = b.lshr(x, c32(16))
    odd = lz.is_("ne", b.and_(trunc, c32(1)), 0)
    inexact = lz.is_("ne", lo, 0)
    rn = b.or_(lz.is_("ugt", lo, 0x8000), b.and_(lz.is_("eq", lo, 0x8000), odd))
    rp = b.and_(inexact, b.xor(neg, true))
    rm = b.and_(inexact, neg)
    mode = b.insertelement(Val("poison", f"<{lz.n} x i32>"), rmode, 0)
    mode = b.shufflevector(mode, Val("poison", mode.ty), [0] * lz.n)
    inc = lz.sel(lz.is_("eq", mode, 0), rn, lz.sel(lz.is_("eq", mode, 1), rp,
                                                    lz.sel(lz.is_("eq", mode, 2), rm,
                                                           Val("zeroinitializer", true.ty))))
    rounded = b.add(trunc, b.zext(inc, trunc.ty))
    out = lz.sel(finite, rounded, trunc)  # infinities pass through
    quiet = b.lshr(b.or_(x, c32(1 << 22)), c32(16))
    nan_out = lz.sel(splat_i1(dn), c32(0x7FC0), quiet)
    out = lz.sel(nan, nan_out, out)
    out = lz.sel(flushed, b.lshr(b.and_(x, c32(1 << 31)), c32(16)), out)
    # FPSR: rounding only happens on the finite, not flushed lanes
    rounding = b.and_(b.and_(finite, inexact), b.xor(flushed, true))
    overflow = b.and_(rounding, lz.is_("eq", b.and_(out, c32(0x7FFF)), 0x7F80))
    underflow = b.and_(rounding, denormal)

    def flag(lanes: Val, value: int) -> Val:
        any_ = b.icmp("ne", b.bitcast(lanes, f"i{lz.n}"), const(f"i{lz.n}", 0))
        return b.select(any_, const("i64", value), const("i64", 0))

    flags = b.or_(b.or_(flag(snan, FPSR_IOC), flag(overflow, FPSR_OFC | FPSR_IXC)),
                  b.or_(b.or_(flag(underflow, FPSR_UFC | FPSR_IXC), flag(rounding, FPSR_IXC)),
                        flag(flushed, FPSR_IDC)))
    raise_fp_bits_rare(b, flags)
    return b.trunc(out, f"<{lz.n} x i16>")


@insn("0001 1110 0110 0011 0100 00 xxxxx xxxxx", name="BFCVT")
def bfcvt(ctx: LiftContext, w: int) -> None:
    x = ctx.vreg_as(bits(w, 9, 5), "<1 x i32>")
    ctx.set_vreg(bits(w, 4, 0), _convert(ctx, x))


@insn("0 x 0 01110 10 1 0000 1 0110 10 xxxxx xxxxx", name="BFCVTN/BFCVTN2")
def bfcvtn(ctx: LiftContext, w: int) -> None:
    r = _convert(ctx, ctx.vreg_as(bits(w, 9, 5), "<4 x i32>"))
    if bit(w, 30):
        write_upper(ctx, bits(w, 4, 0), r)
    else:
        write(ctx, bits(w, 4, 0), r)


# ---------------------------------------------------------------------------- BFDOT / BFMMLA
@insn("0 x 1 01110 01 0 xxxxx 1 1111 1 xxxxx xxxxx", name="BFDOT (vector)")
def bfdot_vector(ctx: LiftContext, w: int) -> None:
    ty = "<4 x i32>" if bit(w, 30) else "<2 x i32>"
    rd = bits(w, 4, 0)
    r = bf_dot_add(ctx.b, ctx.vreg_as(rd, ty), ctx.vreg_as(bits(w, 9, 5), ty),
                   ctx.vreg_as(bits(w, 20, 16), ty))
    write(ctx, rd, r)


@insn("0 x 0 01111 01 x x xxxx 1111 x 0 xxxxx xxxxx", name="BFDOT (by element)")
def bfdot_element(ctx: LiftContext, w: int) -> None:
    lanes = 4 if bit(w, 30) else 2
    ty = f"<{lanes} x i32>"
    idx = bit(w, 11) << 1 | bit(w, 21)
    m = lane_splat(ctx.b, ctx.vreg_as(bits(w, 20, 16), "<4 x i32>"), idx, lanes)
    rd = bits(w, 4, 0)
    write(ctx, rd, bf_dot_add(ctx.b, ctx.vreg_as(rd, ty), ctx.vreg_as(bits(w, 9, 5), ty), m))


@insn("0110 1110 010 xxxxx 1110 11 xxxxx xxxxx", name="BFMMLA")
def bfmmla(ctx: LiftContext, w: int) -> None:
    """Vd (2x2 float32) += Vn (2x4 bf16) * Vm^T (4x2 bf16): element 2i+j of Vd accumulates
    row i of Vn against row j of Vm, in two BFDotAdd steps (k = 0 then 1)."""
    b = ctx.b
    rd = bits(w, 4, 0)
    v4 = "<4 x i32>"
    n, m = ctx.vreg_as(bits(w, 9, 5), v4), ctx.vreg_as(bits(w, 20, 16), v4)
    acc = ctx.vreg_as(rd, v4)
    for k in range(2):
        nk = b.shufflevector(n, Val("poison", v4), [k, k, 2 + k, 2 + k])  # row i, pair k
        mk = b.shufflevector(m, Val("poison", v4), [k, 2 + k, k, 2 + k])  # row j, pair k
        acc = bf_dot_add(b, acc, nk, mk)
    write(ctx, rd, acc)


# ---------------------------------------------------------------------------- BFMLALB/T
def _widen(b: Builder, v: Val, top: int) -> Val:
    """The even (B) or odd (T) bfloat16 elements of an <8 x i16> as float32 lanes."""
    halves = b.shufflevector(v, Val("poison", v.ty), [2 * i + top for i in range(4)])
    return b.bitcast(b.shl(b.zext(halves, "<4 x i32>"), vconst("<4 x i32>", 16)),
                     "<4 x float>")


@insn("0 x 1 01110 11 0 xxxxx 1 1111 1 xxxxx xxxxx", name="BFMLALB/BFMLALT (vector)")
def bfmlal_vector(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    top, rd = bit(w, 30), bits(w, 4, 0)
    n = _widen(b, ctx.vreg_as(bits(w, 9, 5), "<8 x i16>"), top)
    m = _widen(b, ctx.vreg_as(bits(w, 20, 16), "<8 x i16>"), top)
    write(ctx, rd, fp_muladd(b, ctx.vreg_as(rd, "<4 x float>"), n, m, False))


@insn("0 x 0 01111 11 x x xxxx 1111 x 0 xxxxx xxxxx", name="BFMLALB/BFMLALT (by element)")
def bfmlal_element(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    top, rd = bit(w, 30), bits(w, 4, 0)
    idx = bit(w, 11) << 2 | bit(w, 21) << 1 | bit(w, 20)
    n = _widen(b, ctx.vreg_as(bits(w, 9, 5), "<8 x i16>"), top)
    elt = lane_splat(b, ctx.vreg_as(bits(w, 19, 16), "<8 x i16>"), idx, 8)
    m = _widen(b, elt, 0)
    write(ctx, rd, fp_muladd(b, ctx.vreg_as(rd, "<4 x float>"), n, m, False))
