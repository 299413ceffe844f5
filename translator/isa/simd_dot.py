"""FEAT_DotProd: SDOT/UDOT (vector, and by element).

Each 32-bit lane of Vd accumulates (modulo 2^32) the sum of four products of the
corresponding signed or unsigned bytes of Vn and Vm; the by-element form takes the four bytes
of one 32-bit element of Vm for every lane. The products are formed in i32 lanes and the four
per-lane partial products gathered with shuffles, which LLVM can turn into pmaddubsw/vpdpbusd
style code where the host has it.
"""

from __future__ import annotations

from translator.ir import Val
from translator.isa.registry import bit, bits, insn
from translator.lift_context import LiftContext


def _dot(ctx: LiftContext, q: int, unsigned: int, rd: int, n: Val, m: Val) -> None:
    b = ctx.b
    lanes = 4 if q else 2
    nb = lanes * 4
    wide = f"<{nb} x i32>"
    ext = b.zext if unsigned else b.sext
    prod = b.mul(ext(n, wide), ext(m, wide))
    acc = ctx.vreg_as(rd, f"<{lanes} x i32>")
    for k in range(4):
        acc = b.add(acc, b.shufflevector(prod, Val("poison", wide),
                                         [4 * i + k for i in range(lanes)]))
    ctx.set_vreg(rd, acc)


@insn("0xx01110 10 0 xxxxx 1 0010 1 xxxxx xxxxx", name="SDOT/UDOT (vector)")
def dot_vector(ctx: LiftContext, w: int) -> None:
    q, u = bit(w, 30), bit(w, 29)
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    ty = f"<{16 if q else 8} x i8>"
    _dot(ctx, q, u, rd, ctx.vreg_as(rn, ty), ctx.vreg_as(rm, ty))


@insn("0xx01111 10 xxxxxx 1110 x 0 xxxxx xxxxx", name="SDOT/UDOT (by element)")
def dot_element(ctx: LiftContext, w: int) -> None:
    q, u = bit(w, 30), bit(w, 29)
    idx = (bit(w, 11) << 1) | bit(w, 21)
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    nb = 16 if q else 8
    b = ctx.b
    m = ctx.vreg_as(rm, "<16 x i8>")
    m = b.shufflevector(m, Val("poison", m.ty), [4 * idx + (i % 4) for i in range(nb)])
    _dot(ctx, q, u, rd, ctx.vreg_as(rn, f"<{nb} x i8>"), m)
