"""FEAT_FCMA: FCADD and FCMLA (vector and by element) on complex numbers stored as (real,
imaginary) pairs of adjacent lanes, single and double precision. The half-precision forms
(FP16) are simd_fp16's, whose patterns fix size = 01 and so win the lookup.

The Arm ARM writes each rotation as a choice of which lane of the pair each product or sum
takes and which operand is negated (FPNeg, a sign flip that raises nothing and also flips a
NaN's sign, which is then what propagates). That maps onto one shuffle of each source, one
sign-bit xor, and the ordinary lane-wise FPAdd / fused FPMulAdd of simd_fp, which already give
AArch64's NaN propagation (operand order: addend, Vn element, Vm element) and FPSR flags,
(FPMulAdd's Invalid for a quiet-NaN addend and inf * 0 is simd_fp.fp_muladd's).
"""

from __future__ import annotations

from translator.ir import Val
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import fp_ints, vconst, write
from translator.isa.simd_fp import fp_arith, fp_muladd, fty_of
from translator.lift_context import LiftContext, Unallocated


def _shape(size: int, q: int) -> str:
    """The float vector type of the size:Q arrangement (2S, 4S or 2D)."""
    if size == 2:
        return fty_of(0, 4 if q else 2)
    if size == 3 and q:
        return fty_of(1, 2)
    raise Unallocated("FCMA needs single or double lanes (half needs FP16; 1D is reserved)")


def _negate_lanes(ctx: LiftContext, v: Val, even: bool, odd: bool) -> Val:
    """FPNeg on the even and/or odd lanes of v (sign-bit flip, no exceptions)."""
    if not (even or odd):
        return v
    b = ctx.b
    ity, _, _ = fp_ints(v.ty)
    lanes = int(v.ty[1:v.ty.index(" ")])
    sign = 1 << (int(ity.split(" x i")[1][:-1]) - 1)
    mask = [sign if (even if i % 2 == 0 else odd) else 0 for i in range(lanes)]
    return b.bitcast(b.xor(b.bitcast(v, ity), vconst(ity, mask)), v.ty)


def _pairs(ctx: LiftContext, v: Val, swap: bool) -> Val:
    """v with the lanes of every pair swapped, or v itself."""
    if not swap:
        return v
    lanes = int(v.ty[1:v.ty.index(" ")])
    return ctx.b.shufflevector(v, Val("poison", v.ty), [i ^ 1 for i in range(lanes)])


@insn("0x101110 xx 0 xxxxx 111 x 01 xxxxx xxxxx", name="FCADD")
def fcadd(ctx: LiftContext, w: int) -> None:
    """Vd = Vn + i*Vm (rot 90) or Vn - i*Vm (rot 270), per complex pair."""
    ty = _shape(bits(w, 23, 22), bit(w, 30))
    rot270 = bool(bit(w, 12))
    n = ctx.vreg_as(bits(w, 9, 5), ty)
    m = _pairs(ctx, ctx.vreg_as(bits(w, 20, 16), ty), True)
    m = _negate_lanes(ctx, m, even=not rot270, odd=rot270)
    write(ctx, bits(w, 4, 0), fp_arith(ctx.b, "add", n, m))


def _fcmla(ctx: LiftContext, rd: int, n: Val, m: Val, rot: int) -> None:
    """Vd += (the Vn lane the rotation picks, duplicated) * (Vm pair rotated by rot*90)."""
    b = ctx.b
    lanes = int(n.ty[1:n.ty.index(" ")])
    pick = rot & 1  # rot 0/180 use Vn's real parts, 90/270 its imaginary parts
    n2 = b.shufflevector(n, Val("poison", n.ty), [(i & ~1) | pick for i in range(lanes)])
    m2 = _pairs(ctx, m, bool(rot & 1))
    m2 = _negate_lanes(ctx, m2, even=rot in (1, 2), odd=rot in (2, 3))
    write(ctx, rd, fp_muladd(b, ctx.vreg_as(rd, n.ty), n2, m2, False))


@insn("0x101110 xx 0 xxxxx 110 xx 1 xxxxx xxxxx", name="FCMLA (vector)")
def fcmla_vector(ctx: LiftContext, w: int) -> None:
    ty = _shape(bits(w, 23, 22), bit(w, 30))
    _fcmla(ctx, bits(w, 4, 0), ctx.vreg_as(bits(w, 9, 5), ty),
           ctx.vreg_as(bits(w, 20, 16), ty), bits(w, 12, 11))


@insn("0x101111 xx x x xxxx 0 xx 1 x 0 xxxxx xxxxx", name="FCMLA (by element)")
def fcmla_element(ctx: LiftContext, w: int) -> None:
    """Every pair of Vn against the one complex pair Vm[H] (4S only: single precision)."""
    size, q, lbit = bits(w, 23, 22), bit(w, 30), bit(w, 21)
    if size != 2 or not q or lbit:
        raise Unallocated("FCMLA by element: only 4S (half precision needs FP16)")
    ty = fty_of(0, 4)
    idx = bit(w, 11)
    m = ctx.vreg_as(bits(w, 20, 16), ty)  # Rm = M:Rm, all 32 registers
    m = ctx.b.shufflevector(m, Val("poison", ty), [2 * idx, 2 * idx + 1] * 2)
    _fcmla(ctx, bits(w, 4, 0), ctx.vreg_as(bits(w, 9, 5), ty), m, bits(w, 14, 13))
