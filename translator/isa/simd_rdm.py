"""SQRDMLAH and SQRDMLSH (FEAT_RDM): signed saturating rounding doubling multiply, accumulated
into (or subtracted from) the destination and returning the high half.

Per element of e bits: (acc << e) +- 2*a*b + 2^(e-1), arithmetically shifted right by e and
saturated to e bits, with FPSR.QC on saturation. Computed in 2e + 2 bits wide lanes (i128 for
32-bit elements), where none of it can overflow. Vector, scalar and by-element forms, 16- and
32-bit elements. Checked against Unicorn's "max" CPU model (tests/test_isa_rdm.py).
"""

from __future__ import annotations

from translator.ir import Val
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import lane_splat, read, set_qc, vconst, vty, write
from translator.lift_context import LiftContext, Unallocated


def _rdm(ctx: LiftContext, acc: Val, a: Val, c: Val, sub: bool) -> Val:
    b = ctx.b
    lanes = int(acc.ty[1:acc.ty.index(" ")])
    e = int(acc.ty.split(" x i")[1][:-1])
    wide = vty(lanes, 4 * e)  # i64 lanes for 16-bit elements, i128 for 32-bit ones
    wa, wc, wacc = (b.sext(v, wide) for v in (a, c, acc))
    prod = b.shl(b.mul(wa, wc), vconst(wide, 1))
    total = b.sub(b.shl(wacc, vconst(wide, e)), prod) if sub else \
        b.add(b.shl(wacc, vconst(wide, e)), prod)
    r = b.ashr(b.add(total, vconst(wide, 1 << (e - 1))), vconst(wide, e))
    lo, hi = -(1 << (e - 1)), (1 << (e - 1)) - 1
    clamped = b.intrinsic(f"llvm.smax.v{lanes}i{4 * e}", wide, [
        b.intrinsic(f"llvm.smin.v{lanes}i{4 * e}", wide, [r, vconst(wide, hi)]),
        vconst(wide, lo)])
    set_qc(ctx, b.icmp("ne", clamped, r))
    return b.trunc(clamped, acc.ty)


def _shape(size: int, q: int) -> tuple[int, int]:
    if size not in (1, 2):
        raise Unallocated
    e = 16 if size == 1 else 32
    return (128 if q else 64) // e, e


@insn("0 x 1 01110 xx 0 xxxxx 1000 x 1 xxxxx xxxxx", name="SQRDMLAH/SQRDMLSH (vector)")
def rdm_vector(ctx: LiftContext, w: int) -> None:
    lanes, e = _shape(bits(w, 23, 22), bit(w, 30))
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    r = _rdm(ctx, read(ctx, rd, lanes, e), read(ctx, rn, lanes, e), read(ctx, rm, lanes, e),
             bool(bit(w, 11)))
    write(ctx, rd, r)


@insn("01 1 11110 xx 0 xxxxx 1000 x 1 xxxxx xxxxx", name="SQRDMLAH/SQRDMLSH (scalar)")
def rdm_scalar(ctx: LiftContext, w: int) -> None:
    _, e = _shape(bits(w, 23, 22), 0)
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    r = _rdm(ctx, read(ctx, rd, 1, e), read(ctx, rn, 1, e), read(ctx, rm, 1, e),
             bool(bit(w, 11)))
    write(ctx, rd, r)


def _element(ctx: LiftContext, w: int, e: int, lanes: int) -> Val:
    """The by-element operand Vm[index] broadcast (Vm is V0-V15 for 16-bit elements)."""
    h, lbit, mbit = bit(w, 11), bit(w, 21), bit(w, 20)
    if e == 16:
        rm, idx = bits(w, 19, 16), (h << 2) | (lbit << 1) | mbit
    else:
        rm, idx = bits(w, 20, 16), (h << 1) | lbit
    return lane_splat(ctx.b, read(ctx, rm, 128 // e, e), idx, lanes)


@insn("0 x 1 01111 xx x x xxxx 11 x 1 x 0 xxxxx xxxxx", name="SQRDMLAH/SQRDMLSH (by element)")
def rdm_element(ctx: LiftContext, w: int) -> None:
    lanes, e = _shape(bits(w, 23, 22), bit(w, 30))
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    r = _rdm(ctx, read(ctx, rd, lanes, e), read(ctx, rn, lanes, e), _element(ctx, w, e, lanes),
             bool(bit(w, 13)))
    write(ctx, rd, r)


@insn("01 1 11111 xx x x xxxx 11 x 1 x 0 xxxxx xxxxx",
      name="SQRDMLAH/SQRDMLSH (scalar, by element)")
def rdm_scalar_element(ctx: LiftContext, w: int) -> None:
    _, e = _shape(bits(w, 23, 22), 0)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    r = _rdm(ctx, read(ctx, rd, 1, e), read(ctx, rn, 1, e), _element(ctx, w, e, 1),
             bool(bit(w, 13)))
    write(ctx, rd, r)
