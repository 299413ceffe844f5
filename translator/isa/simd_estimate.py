"""Reciprocal and reciprocal-square-root estimates: FRECPE, FRSQRTE, FRECPX, URECPE, URSQRTE.

These return the Arm ARM's exact 8-bit estimates (not the host's rcpps/rsqrtps, which differ),
so the work is integer arithmetic on the operand bits. The two estimate functions of the
pseudocode, RecipEstimate and RecipSqrtEstimate (without FEAT_RPRES increased precision), are
evaluated here in Python for every possible input (256 and 384 of them) and emitted as
constant tables; the lifted code scales the operand to a table index, looks the estimate up
and builds the result exponent as FPRecipEstimate / FPRSqrtEstimate / FPRecpX /
UnsignedRecipEstimate / UnsignedRSqrtEstimate specify, special cases included:
  FRECPE:  NaN -> quietened NaN; +-Inf -> +-0; +-0 -> +-Inf (DZC); |x| < 2^-128 (2^-1024
           for double) overflows to +-Inf or the largest normal as FPCR.RMode says (OFC,
           IXC); denormals are scaled, results that fall below the normal range are produced
           as denormals, or with FPCR.FZ flushed to zero (UFC).
  FRSQRTE: NaN -> quietened; +-0 -> +-Inf (DZC); negative -> default NaN (IOC); +Inf -> +0.
  FRECPX:  NaN -> quietened; else the exponent is inverted (0 -> max-1) and the fraction 0.
  URECPE/URSQRTE: inputs below 0.5 (0.25 for the square root) give all ones.
Half precision (FEAT_FP16, lifted from simd_fp16) uses the same code with 16-bit lanes.
The FP forms follow FPCR as FPUnpack/FPProcessNaN do: FZ flushes a denormal operand to zero
(IDC), DN gives the default NaN, a signalling NaN raises IOC. None of this comes from host FP
instructions, so the flags are computed here and ORed into FPSR on a cold branch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from runtime.fpenv import FPSR_DZC, FPSR_IDC, FPSR_IOC, FPSR_IXC, FPSR_OFC, FPSR_UFC
from translator.ir import Builder, Val, const
from translator.isa.crypto import const_table, table_lookup
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import splat, vconst, vnot, vty, write
from translator.lift_context import LiftContext, Unallocated, fpcr_value, raise_fp_bits_rare

FPCR_FZ16_BIT, FPCR_FZ_BIT, FPCR_DN_BIT = 19, 24, 25


# ---------------------------------------------------------------------------- reference
def recip_estimate(a: int) -> int:
    """RecipEstimate(a) for 256 <= a < 512 (a fixed-point value in [0.5, 1.0))."""
    a = a * 2 + 1
    b = (1 << 19) // a
    return (b + 1) // 2


def rsqrt_estimate(a: int) -> int:
    """RecipSqrtEstimate(a) for 128 <= a < 512 (a fixed-point value in [0.25, 1.0))."""
    if a < 256:
        a = a * 2 + 1
    else:
        a = (a >> 1) << 1
        a = (a + 1) * 2
    b = 512
    while a * (b + 1) * (b + 1) < (1 << 28):
        b += 1
    return (b + 1) // 2


@functools.cache
def estimate_table(which: str) -> tuple[int, ...]:
    """estimate<7:0> for every input of the "recip" or "rsqrt" estimate. Built on first use:
    the rsqrt search loop costs ~10 ms, which every run that lifts anything paid at import."""
    if which == "recip":
        full = [recip_estimate(256 + i) for i in range(256)]
    else:
        full = [rsqrt_estimate(128 + i) for i in range(384)]
    assert all(256 <= e < 512 for e in full)  # bit 8 is always set: only 8 bits are stored
    return tuple(e & 0xFF for e in full)


def _lookup(b: Builder, which: str, idx: Val) -> Val:
    """table[idx] per lane, widened to idx's lane type (values 0..255: estimate<7:0>)."""
    values = list(estimate_table(which))
    sym = const_table(b, f"{which}_estimate", values)
    return b.zext(table_lookup(b, sym, len(values), idx), idx.ty)


# ---------------------------------------------------------------------------- FP fields
class _Fmt:
    def __init__(self, ity: str, n: int) -> None:
        self.ity, self.n = ity, n
        self.mant = {64: 52, 32: 23, 16: 10}[n]
        self.emax = (1 << (n - 1 - self.mant)) - 1
        self.bias = self.emax >> 1

    def c(self, v: int) -> Val:
        return vconst(self.ity, v)


class _Env:
    """FPCR per lane and the FPSR flags an estimate raises (ORed over the lanes at the end).

    FPCR is splatted into the lane type once, so every FPCR test is a lane-wise AND against
    a constant; the flags are raised on a cold branch (raise_fp_bits_rare) taken only when
    some lane raised one, so the common case costs a few vector compares. Half-precision
    lanes hold FPCR[31:16] (every bit they test is there) and flush by FPCR.FZ16, which
    raises no IDC (FPUnpack's half case).
    """

    def __init__(self, b: Builder, f: _Fmt) -> None:
        self.b, self.f = b, f
        fpcr = fpcr_value(b)
        self.shift = 16 if f.n == 16 else 0
        lane = fpcr if f.n == 64 else b.trunc(b.lshr(fpcr, const("i64", self.shift)), f"i{f.n}")
        self.fpcr = splat(b, lane, _lanes(f))
        self.flags: list[tuple[Val, int]] = []
        self.fz_bit = FPCR_FZ16_BIT if f.n == 16 else FPCR_FZ_BIT

    def bit(self, n: int) -> Val:
        """<lanes x i1>: FPCR bit n."""
        b, f = self.b, self.f
        return b.icmp("ne", b.and_(self.fpcr, f.c(1 << (n - self.shift))), f.c(0))

    def rmode(self, k: int) -> Val:
        """<lanes x i1>: FPCR.RMode == k."""
        b, f = self.b, self.f
        s = 22 - self.shift
        return b.icmp("eq", b.and_(self.fpcr, f.c(3 << s)), f.c(k << s))

    def raise_(self, cond: Val, flags: int) -> None:
        self.flags.append((cond, flags))

    def commit(self) -> None:
        b = self.b
        total = const("i64", 0)
        n = _lanes(self.f)
        for cond, flags in self.flags:
            anyl = b.icmp("ne", b.bitcast(cond, f"i{n}"), const(f"i{n}", 0))
            total = b.or_(total, b.select(anyl, const("i64", flags), const("i64", 0)))
        if self.flags:
            raise_fp_bits_rare(b, total)


def _fields(b: Builder, f: _Fmt, x: Val) -> tuple[Val, Val, Val]:
    sign = b.and_(x, f.c(1 << (f.n - 1)))
    exp = b.and_(b.lshr(x, f.c(f.mant)), f.c(f.emax))
    frac = b.and_(x, f.c((1 << f.mant) - 1))
    return sign, exp, frac


def _eq(b: Builder, a: Val, v: int, f: _Fmt) -> Val:
    return b.icmp("eq", a, f.c(v))


def _quiet(b: Builder, f: _Fmt, x: Val) -> Val:
    return b.or_(x, f.c(1 << (f.mant - 1)))


def _unpack(env: _Env, x: Val) -> tuple[Val, Val, Val, Val, Val]:
    """FPUnpack's view: (sign, exp, frac, zero, nan). With FPCR.FZ a denormal is a zero and
    raises IDC (Input Denormal); a half one under FPCR.FZ16, silently."""
    b, f = env.b, env.f
    sign, exp, frac = _fields(b, f, x)
    exp0, frac0 = _eq(b, exp, 0, f), _eq(b, frac, 0, f)
    flushed = b.and_(env.bit(env.fz_bit), b.and_(exp0, vnot(b, frac0)))
    if f.n != 16:
        env.raise_(flushed, FPSR_IDC)
    zero = b.and_(exp0, b.or_(frac0, flushed))
    nan = b.and_(_eq(b, exp, f.emax, f), vnot(b, frac0))
    return sign, exp, frac, zero, nan


def _process_nan(env: _Env, x: Val, frac: Val, nan: Val, r: Val) -> Val:
    """FPProcessNaN for NaN lanes of x: quietened (or FPCR.DN's default NaN), IOC if it was
    signalling; r elsewhere."""
    b, f = env.b, env.f
    m = f.mant
    snan = b.and_(nan, _eq(b, b.and_(frac, f.c(1 << (m - 1))), 0, f))
    env.raise_(snan, FPSR_IOC)
    q = b.select(env.bit(FPCR_DN_BIT), f.c((f.emax << m) | (1 << (m - 1))), _quiet(b, f, x))
    return b.select(nan, q, r)


def frecpe(env: _Env, x: Val) -> Val:
    """FPRecipEstimate: NaN; inf -> 0; zero (FZ-flushed denormals too) -> inf, DZC; below
    2^-128 / 2^-1024 the result overflows (inf or the largest normal by RMode, OFC and IXC);
    with FZ, results that would be denormal (|x| >= 2^126 / 2^1022) are 0 with UFC."""
    b, f = env.b, env.f
    sign, exp, frac, zero, nan = _unpack(env, x)
    m = f.mant
    den = _eq(b, exp, 0, f)
    top0 = _eq(b, b.and_(frac, f.c(1 << (m - 1))), 0, f)
    mmask = f.c((1 << m) - 1)
    fr = b.select(den, b.and_(b.select(top0, b.shl(frac, f.c(2)), b.shl(frac, f.c(1))), mmask),
                  frac)
    e = b.select(den, b.select(top0, f.c(-1), f.c(0)), exp)
    est = _lookup(b, "recip", b.lshr(fr, f.c(m - 8)))
    rexp = b.sub(f.c(2 * f.bias - 1), e)
    fo = b.shl(est, f.c(m - 8))
    fo = b.select(_eq(b, rexp, 0, f), b.or_(f.c(1 << (m - 1)), b.lshr(fo, f.c(1))), fo)
    lowest = _eq(b, rexp, -1, f)
    fo = b.select(lowest, b.or_(f.c(1 << (m - 2)), b.lshr(fo, f.c(2))), fo)
    rexp = b.select(lowest, f.c(0), rexp)
    r = b.or_(b.or_(sign, b.shl(rexp, f.c(m))), fo)
    # special cases, lowest priority first
    top = _eq(b, exp, f.emax, f)
    big = b.and_(b.icmp("uge", exp, f.c(f.emax - 2)), vnot(b, top))
    flush = b.and_(env.bit(env.fz_bit), big)
    env.raise_(flush, FPSR_UFC)
    r = b.select(flush, sign, r)
    tiny = b.and_(b.and_(den, b.icmp("ult", frac, f.c(1 << (m - 2)))), vnot(b, zero))
    env.raise_(tiny, FPSR_OFC | FPSR_IXC)
    neg = vnot(b, _eq(b, sign, 0, f))
    to_inf = b.or_(env.rmode(0), b.or_(b.and_(env.rmode(1), vnot(b, neg)),
                                       b.and_(env.rmode(2), neg)))
    inf_bits = f.c(f.emax << m)
    big_val = b.select(to_inf, inf_bits, f.c((f.emax << m) - 1))
    r = b.select(tiny, b.or_(sign, big_val), r)
    env.raise_(zero, FPSR_DZC)
    r = b.select(zero, b.or_(sign, inf_bits), r)
    r = b.select(b.and_(top, _eq(b, frac, 0, f)), sign, r)
    return _process_nan(env, x, frac, nan, r)


def frsqrte(env: _Env, x: Val) -> Val:
    """FPRSqrtEstimate: NaN; zero (FZ-flushed denormals too) -> inf of its sign, DZC; other
    negatives -> default NaN, IOC; +inf -> +0."""
    b, f = env.b, env.f
    sign, exp, frac, zero, nan = _unpack(env, x)
    m = f.mant
    den = _eq(b, exp, 0, f)
    lz = b.sub(b.intrinsic(f"llvm.ctlz.v{_lanes(f)}i{f.n}", f.ity, [frac, Val("false", "i1")]),
               f.c(f.n - m))
    fr = b.select(den, b.and_(b.shl(frac, b.add(lz, f.c(1))), f.c((1 << m) - 1)), frac)
    e = b.select(den, b.sub(f.c(0), lz), exp)
    odd = b.icmp("ne", b.and_(e, f.c(1)), f.c(0))
    scaled = b.select(odd, b.or_(f.c(128), b.lshr(fr, f.c(m - 7))),
                      b.or_(f.c(256), b.lshr(fr, f.c(m - 8))))
    est = _lookup(b, "rsqrt", b.sub(scaled, f.c(128)))
    rexp = b.lshr(b.sub(f.c(3 * f.bias - 1), e), f.c(1))
    r = b.or_(b.shl(rexp, f.c(m)), b.shl(est, f.c(m - 8)))
    top = _eq(b, exp, f.emax, f)
    r = b.select(b.and_(top, _eq(b, frac, 0, f)), f.c(0), r)  # +Inf (-Inf is caught below)
    neg = b.and_(b.and_(vnot(b, _eq(b, sign, 0, f)), vnot(b, zero)), vnot(b, nan))
    env.raise_(neg, FPSR_IOC)
    r = b.select(neg, f.c((f.emax << m) | (1 << (m - 1))), r)
    env.raise_(zero, FPSR_DZC)
    r = b.select(zero, b.or_(sign, f.c(f.emax << m)), r)
    return _process_nan(env, x, frac, nan, r)


def frecpx(env: _Env, x: Val) -> Val:
    """FPRecpX: the exponent inverted (0 -> max-1), fraction 0; FPUnpack still flushes
    (IDC) but the result comes from the operand's own exponent field."""
    b, f = env.b, env.f
    sign, exp, frac, _zero, nan = _unpack(env, x)
    m = f.mant
    ne = b.select(_eq(b, exp, 0, f), f.c(f.emax - 1), b.xor(exp, f.c(f.emax)))
    r = b.or_(sign, b.shl(ne, f.c(m)))
    return _process_nan(env, x, frac, nan, r)


def urecpe(env: _Env, x: Val) -> Val:
    b, f = env.b, env.f
    est = _lookup(b, "recip", b.and_(b.lshr(x, f.c(23)), f.c(0xFF)))
    r = b.shl(b.or_(est, f.c(0x100)), f.c(23))
    return b.select(b.icmp("sge", x, f.c(0)), f.c(-1), r)


def ursqrte(env: _Env, x: Val) -> Val:
    b, f = env.b, env.f
    low = b.icmp("ult", x, f.c(1 << 30))
    idx = b.select(low, f.c(0), b.sub(b.lshr(x, f.c(23)), f.c(128)))
    est = _lookup(b, "rsqrt", idx)
    r = b.shl(b.or_(est, f.c(0x100)), f.c(23))
    return b.select(low, f.c(-1), r)


def _lanes(f: _Fmt) -> int:
    return int(f.ity[1:].split(" x ")[0])


Estimate = Callable[[_Env, Val], Val]


def apply_estimate(ctx: LiftContext, fn: Estimate, lanes: int, n: int, rn: int, rd: int) -> None:
    ity = vty(lanes, n)
    f = _Fmt(ity, n)
    fp = fn not in (urecpe, ursqrte)  # the unsigned estimates have no FP environment
    env = _Env(ctx.b, f) if fp else _NoEnv(ctx.b, f)
    r = fn(env, ctx.vreg_as(rn, ity))
    env.commit()
    write(ctx, rd, r)


class _NoEnv(_Env):
    """The integer estimates read no FPCR and raise nothing."""

    def __init__(self, b: Builder, f: _Fmt) -> None:
        self.b, self.f, self.flags = b, f, []


_VECTOR: dict[tuple[int, int], Estimate] = {
    (0, 0x1D): frecpe, (1, 0x1D): frsqrte, (0, 0x1C): urecpe, (1, 0x1C): ursqrte,
}


@insn("0xx01110 1x 10000 1110x 10 xxxxx xxxxx", name="FRECPE/FRSQRTE/URECPE/URSQRTE (vector)")
def estimate_vector(ctx: LiftContext, w: int) -> None:
    q, u, sz, opc = bit(w, 30), bit(w, 29), bit(w, 22), bits(w, 16, 12)
    fn = _VECTOR[(u, opc)]
    if sz and (not q or fn in (urecpe, ursqrte)):
        raise Unallocated
    n = 64 if sz else 32
    apply_estimate(ctx, fn, (128 if q else 64) // n, n, bits(w, 9, 5), bits(w, 4, 0))


@insn("01x11110 1x 10000 11101 10 xxxxx xxxxx", "01011110 1x 10000 11111 10 xxxxx xxxxx",
      name="FRECPE/FRSQRTE/FRECPX (scalar)")
def estimate_scalar(ctx: LiftContext, w: int) -> None:
    u, sz, opc = bit(w, 29), bit(w, 22), bits(w, 16, 12)
    fn: Estimate = frecpx if opc == 0x1F else (frsqrte if u else frecpe)
    apply_estimate(ctx, fn, 1, 64 if sz else 32, bits(w, 9, 5), bits(w, 4, 0))
