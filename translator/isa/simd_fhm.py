"""FEAT_FHM: FMLAL, FMLSL, FMLAL2, FMLSL2 (vector and by element): single-precision lanes
accumulating products of half-precision lanes, fused (FPMulAddH).

A product of two halves is exact in single precision (22 significant bits, and at least 2^-48,
a normal single), so each lane is the single-precision fused multiply-add of simd_fp on the
halves widened to single: one rounding, in the host's (the guest's) rounding mode, with the
flags and FPCR.FZ handling of FMLA .4S. Only the widening is particular: FPCR.FZ16 flushes a
denormal half operand (without IDC), and a NaN keeps its payload and its signalling bit, so
FPProcessNaNs3H's choice and quietening (FPConvertNaN of the quietened half NaN) come out of
simd_fp's single-precision NaN processing unchanged. FMLSL negates the Vn element first (a
NaN's sign flips too). The "2" forms take the upper half of the Vn (and vector Vm) lanes.
"""

from __future__ import annotations

from translator.ir import Builder, Val, const
from translator.isa import fp16_core as h
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_fp import fp_muladd
from translator.isa.simd_fp16 import lanes_of
from translator.lift_context import LiftContext, fpcr_value


def half_to_single_bits(b: Builder, x: Val) -> Val:
    """The single with half x's value (exact; NaN payload and signalling bit kept), as i32."""
    t = "i32"
    v = b.zext(x, t)
    sign = b.shl(b.lshr(v, const(t, 15)), const(t, 31))
    exp = b.and_(b.lshr(v, const(t, 10)), const(t, 31))
    frac = b.and_(v, const(t, 0x3FF))
    normal = b.or_(b.shl(b.add(exp, const(t, 112)), const(t, 23)), b.shl(frac, const(t, 13)))
    special = b.or_(const(t, 0x7F800000), b.shl(frac, const(t, 13)))
    p = b.sub(const(t, 31), b.intrinsic("llvm.ctlz.i32", t, [frac, const("i1", 0)]))
    den = b.or_(b.shl(b.add(p, const(t, 127 - 24)), const(t, 23)),
                b.and_(b.shl(frac, b.sub(const(t, 23), b.and_(p, const(t, 31)))),
                       const(t, 0x7FFFFF)))
    den = b.select(b.icmp("eq", frac, const(t, 0)), const(t, 0), den)
    r = b.select(b.icmp("eq", exp, const(t, 0)), den,
                 b.select(b.icmp("eq", exp, const(t, 31)), special, normal))
    return b.or_(r, sign)


def _widened(ctx: LiftContext, halves: list[Val], fpcr: Val) -> Val:
    """<4 x float> of the halves, zero lanes above them (see _fmlal)."""
    b = ctx.b
    vec = Val("zeroinitializer", "<4 x i32>")
    for i, x in enumerate(halves):
        vec = b.insertelement(vec, half_to_single_bits(b, h.flush_input(b, x, fpcr)), i)
    return b.bitcast(vec, "<4 x float>")


def _fmlal(ctx: LiftContext, w: int, xs: list[Val], ms: list[Val], negate: bool) -> None:
    """The .2S form computes four lanes too, the upper two on zeros: a <2 x float> is
    widened by the back end with undefined lanes, whose inf * 0 would raise Invalid."""
    b = ctx.b
    fpcr = fpcr_value(b)
    rd = bits(w, 4, 0)
    acc = ctx.vreg_as(rd, "<4 x float>")
    if len(xs) == 2:
        acc = b.bitcast(b.and_(b.bitcast(acc, "i128"), const("i128", (1 << 64) - 1)),
                        "<4 x float>")
    r = fp_muladd(b, acc, _widened(ctx, xs, fpcr), _widened(ctx, ms, fpcr), negate)
    if len(xs) == 2:
        r = b.shufflevector(r, Val("poison", "<4 x float>"), [0, 1])
    ctx.set_vreg(rd, r)


def _part(ctx: LiftContext, reg: int, n: int, upper: bool) -> list[Val]:
    """Vpart(reg, part): the lower or upper n half lanes of the 2n the arrangement reads."""
    lanes = lanes_of(ctx, reg, 2 * n)
    return lanes[n:] if upper else lanes[:n]


@insn("0 x 0 01110 x 0 1 xxxxx 11101 1 xxxxx xxxxx", "0 x 1 01110 x 0 1 xxxxx 11001 1 xxxxx xxxxx",
      name="FMLAL/FMLSL/FMLAL2/FMLSL2 (vector)")
def fmlal_vector(ctx: LiftContext, w: int) -> None:
    n = 4 if bit(w, 30) else 2
    upper = bool(bit(w, 29))
    xs = _part(ctx, bits(w, 9, 5), n, upper)
    ms = _part(ctx, bits(w, 20, 16), n, upper)
    _fmlal(ctx, w, xs, ms, bool(bit(w, 23)))


@insn("0 x 0 01111 10 xx xxxx 0x00 x 0 xxxxx xxxxx", "0 x 1 01111 10 xx xxxx 1x00 x 0 xxxxx xxxxx",
      name="FMLAL/FMLSL/FMLAL2/FMLSL2 (by element)")
def fmlal_element(ctx: LiftContext, w: int) -> None:
    n = 4 if bit(w, 30) else 2
    idx = bit(w, 11) << 2 | bit(w, 21) << 1 | bit(w, 20)
    e = lanes_of(ctx, bits(w, 19, 16), 8)[idx]
    xs = _part(ctx, bits(w, 9, 5), n, bool(bit(w, 29)))
    _fmlal(ctx, w, xs, [e] * n, bool(bit(w, 14)))
