"""AdvSIMD "by element" forms (vector and scalar): MUL/MLA/MLS, the long S/UMULL, S/UMLAL,
S/UMLSL, the saturating doubling SQDMULH/SQRDMULH/SQDMULL/SQDMLAL/SQDMLSL, and FMUL/FMLA/FMLS/
FMULX. The indexed element is broadcast with a shuffle and the lane-wise body is shared with
the three-same / three-different lifters.
"""

from __future__ import annotations

from translator.ir import Val
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import (
    arrangement,
    half,
    lane_splat,
    read,
    read_full,
    sat_add,
    with_elt,
    write,
)
from translator.isa.simd_fp import fp_arith, fp_muladd
from translator.isa.simd_int import three_same_op
from translator.lift_context import LiftContext, Unallocated

_INT_SAME = {(1, 0x0): "mla", (1, 0x4): "mls", (0, 0x8): "mul", (0, 0xC): "sqdmulh",
             (0, 0xD): "sqrdmulh"}
_INT_LONG = {0x2: "mlal", 0x6: "mlsl", 0xA: "mull"}
_SQD_LONG = {0x3: "sqdmlal", 0x7: "sqdmlsl", 0xB: "sqdmull"}
_FP = {(0, 0x1): "fmla", (0, 0x5): "fmls", (0, 0x9): "mul", (1, 0x9): "mulx"}


def _index(w: int, size: int) -> tuple[int, int]:
    """(Vm register, element index) for element size `size` (1=H, 2=S, 3=D)."""
    h, l_, m = bit(w, 11), bit(w, 21), bit(w, 20)
    if size == 1:
        return bits(w, 19, 16), (h << 2) | (l_ << 1) | m
    if size == 2:
        return bits(w, 20, 16), (h << 1) | l_
    if l_:
        raise Unallocated
    return bits(w, 20, 16), h


def _elem(ctx: LiftContext, rm: int, idx: int, eb: int, lanes: int, fp: bool = False) -> Val:
    return lane_splat(ctx.b, read_full(ctx, rm, eb, fp), idx, lanes)


def _long(ctx: LiftContext, op: str, signed: bool, a: Val, c: Val, rd: int) -> Val:
    """The widening body shared by vector and scalar long forms (a, c narrow vectors)."""
    b = ctx.b
    eb = int(a.ty.split(" x i")[1][:-1])
    wty = with_elt(a.ty, f"i{2 * eb}")
    wa, wc = (b.sext(a, wty), b.sext(c, wty)) if signed else (b.zext(a, wty), b.zext(c, wty))
    p = b.mul(wa, wc)
    if op.startswith("sqd"):
        p = sat_add(ctx, p, p, True)
        if op == "sqdmull":
            return p
        return sat_add(ctx, ctx.vreg_as(rd, wty), p, True, sub=op == "sqdmlsl")
    if op == "mull":
        return p
    acc = ctx.vreg_as(rd, wty)
    return b.add(acc, p) if op == "mlal" else b.sub(acc, p)


@insn("0xx01111xxxxxxxxxxxxx0xxxxxxxxxx", name="SIMD vector x indexed element")
def by_element(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    q, u, size, opc = bit(w, 30), bit(w, 29), bits(w, 23, 22), bits(w, 15, 12)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    fop = _FP.get((u, opc))
    if fop is not None:
        if size < 2 or (size == 3 and not q):
            raise Unallocated  # (the half-precision forms are simd_fp16's)
        rm, idx = _index(w, size)
        eb = 8 << size
        lanes = (64 << q) // eb
        a = read(ctx, rn, lanes, eb, fp=True)
        e = _elem(ctx, rm, idx, eb, lanes, fp=True)
        if fop in ("fmla", "fmls"):
            r = fp_muladd(b, ctx.vreg_as(rd, a.ty), a, e, fop == "fmls")
        else:
            r = fp_arith(b, fop, a, e)
        write(ctx, rd, r)
        return
    if size not in (1, 2):
        raise Unallocated
    rm, idx = _index(w, size)
    eb = 8 << size
    op = _INT_SAME.get((u, opc))
    if op is not None:
        lanes, _ = arrangement(size, q)
        a = read(ctx, rn, lanes, eb)
        e = _elem(ctx, rm, idx, eb, lanes)
        tu, topc = {"mla": (0, 0x12), "mls": (1, 0x12), "mul": (0, 0x13),
                    "sqdmulh": (0, 0x16), "sqrdmulh": (1, 0x16)}[op]
        write(ctx, rd, three_same_op(ctx, tu, topc, a, e, rd, False))
        return
    lop = _INT_LONG.get(opc) or (_SQD_LONG.get(opc) if not u else None)
    if lop is None:
        raise Unallocated
    nl = 64 // eb
    a = half(b, read_full(ctx, rn, eb), True) if q else read(ctx, rn, nl, eb)
    e = _elem(ctx, rm, idx, eb, nl)
    write(ctx, rd, _long(ctx, lop, lop.startswith("sqd") or not u, a, e, rd))


@insn("01x11111xxxxxxxxxxxxx0xxxxxxxxxx", name="SIMD scalar x indexed element")
def scalar_by_element(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    u, size, opc = bit(w, 29), bits(w, 23, 22), bits(w, 15, 12)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    fop = _FP.get((u, opc))
    if fop is not None:
        if size < 2:
            raise Unallocated
        rm, idx = _index(w, size)
        eb = 8 << size
        a = read(ctx, rn, 1, eb, fp=True)
        e = _elem(ctx, rm, idx, eb, 1, fp=True)
        if fop in ("fmla", "fmls"):
            r = fp_muladd(b, ctx.vreg_as(rd, a.ty), a, e, fop == "fmls")
        else:
            r = fp_arith(b, fop, a, e)
        write(ctx, rd, r)
        return
    if u or size not in (1, 2):
        raise Unallocated
    rm, idx = _index(w, size)
    eb = 8 << size
    a = read(ctx, rn, 1, eb)
    e = _elem(ctx, rm, idx, eb, 1)
    if opc in (0xC, 0xD):
        write(ctx, rd, three_same_op(ctx, opc & 1, 0x16, a, e, rd, True))
        return
    lop = _SQD_LONG.get(opc)
    if lop is None:
        raise Unallocated
    write(ctx, rd, _long(ctx, lop, True, a, e, rd))



