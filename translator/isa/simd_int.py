"""AdvSIMD integer arithmetic: three-same, two-register misc, across-lanes, three-different.

The vector and scalar (D/S/H/B register) encodings of each group share one lifter body: a
scalar form is the same operation on a one-lane vector. Opcode tables follow the Arm ARM's
"Advanced SIMD three same" etc. encoding tables; anything not listed is Unallocated (SIGILL).
"""

from __future__ import annotations

from translator.ir import Builder, Val, const
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import (
    arrangement,
    concat,
    ebits_of,
    half,
    intr,
    mangle,
    mask_of,
    read,
    read_full,
    sat_add,
    sat_trunc,
    set_qc,
    vconst,
    vec_shape,
    vnot,
    vty,
    with_elt,
    write,
    write_upper,
    zero,
)
from translator.lift_context import LiftContext, Unallocated


# ---------------------------------------------------------------------------- shared bodies
def _widen(b: Builder, v: Val, signed: bool) -> Val:
    """Each lane extended to twice its width."""
    eb = ebits_of(v.ty)
    ty = with_elt(v.ty, f"i{2 * eb}")
    return b.sext(v, ty) if signed else b.zext(v, ty)


def _pairwise(b: Builder, lo: Val, hi: Val) -> tuple[Val, Val]:
    """The even and odd lanes of hi:lo concatenated (operands of the pairwise ops)."""
    lanes = vec_shape(lo.ty)[0]
    return (b.shufflevector(lo, hi, list(range(0, 2 * lanes, 2))),
            b.shufflevector(lo, hi, list(range(1, 2 * lanes, 2))))


def _abd(b: Builder, a: Val, c: Val, signed: bool) -> Val:
    s = "s" if signed else "u"
    return b.sub(intr(b, f"llvm.{s}max", [a, c]), intr(b, f"llvm.{s}min", [a, c]))


def _pmul(b: Builder, a: Val, c: Val) -> Val:
    """Polynomial (carry-less) multiply of byte lanes, keeping the low 8 bits."""
    acc = zero(a.ty)
    for i in range(8):
        sel = b.and_(b.lshr(c, vconst(c.ty, i)), vconst(c.ty, 1))
        term = b.and_(b.shl(a, vconst(a.ty, i)) if i else a, b.sub(zero(a.ty), sel))
        acc = b.xor(acc, term)
    return acc


def _reg_shift(ctx: LiftContext, a: Val, c: Val, signed: bool, rounding: bool) -> Val:
    """SSHL/USHL/SRSHL/URSHL: shift by the signed low byte of each lane of c (either way)."""
    b = ctx.b
    ty = a.ty
    eb = ebits_of(ty)
    sh = c if eb == 8 else b.sext(b.trunc(c, with_elt(ty, "i8")), ty)
    neg = b.icmp("slt", sh, zero(ty))
    # left shift: anything >= esize gives 0
    lim = vconst(ty, eb - 1)
    left_ok = b.icmp("ult", sh, vconst(ty, eb))
    left = b.select(left_ok, b.shl(a, intr(b, "llvm.umin", [sh, lim])), zero(ty))
    n = b.sub(zero(ty), sh)  # right shift amount when negative
    if signed:
        right = b.ashr(a, intr(b, "llvm.umin", [n, lim]))
        if rounding:
            nm1 = b.sub(n, vconst(ty, 1))
            rb = b.and_(b.ashr(a, intr(b, "llvm.umin", [nm1, lim])), vconst(ty, 1))
            right = b.add(right, rb)
    else:
        in_range = b.icmp("ult", n, vconst(ty, eb))
        right = b.select(in_range, b.lshr(a, intr(b, "llvm.umin", [n, lim])), zero(ty))
        if rounding:
            nm1 = b.sub(n, vconst(ty, 1))
            rb = b.select(b.icmp("ult", nm1, vconst(ty, eb)),
                          b.and_(b.lshr(a, intr(b, "llvm.umin", [nm1, lim])), vconst(ty, 1)),
                          zero(ty))
            right = b.add(right, rb)
    return b.select(neg, right, left)


def _sat_reg_shift(ctx: LiftContext, a: Val, c: Val, signed: bool, rounding: bool) -> Val:
    """SQSHL/UQSHL/SQRSHL/UQRSHL (register): right shifts as above, left shifts saturate."""
    b = ctx.b
    ty = a.ty
    eb = ebits_of(ty)
    sh = c if eb == 8 else b.sext(b.trunc(c, with_elt(ty, "i8")), ty)
    neg = b.icmp("slt", sh, zero(ty))
    right = _reg_shift(ctx, a, c, signed, rounding)
    lim = vconst(ty, eb - 1)
    amt = intr(b, "llvm.umin", [sh, lim])
    shifted = b.shl(a, amt)
    back = (b.ashr if signed else b.lshr)(shifted, amt)
    big = b.icmp("uge", sh, vconst(ty, eb))  # (non-negative) shift of esize or more
    nonzero = b.icmp("ne", a, zero(ty))
    lost = b.or_(b.icmp("ne", back, a), b.and_(big, nonzero))
    if signed:
        sat = b.select(b.icmp("slt", a, zero(ty)), vconst(ty, 1 << (eb - 1)),
                       vconst(ty, (1 << (eb - 1)) - 1))
    else:
        sat = vconst(ty, -1)
    left = b.select(lost, sat, b.select(big, zero(ty), shifted))
    set_qc(ctx, b.and_(b.xor(neg, vconst(with_elt(ty, "i1"), 1)), lost))
    return b.select(neg, right, left)


def _doubling_mulh(ctx: LiftContext, a: Val, c: Val, rounding: bool) -> Val:
    """SQDMULH/SQRDMULH: high half of 2*a*c (rounded), saturating the one overflow case."""
    b = ctx.b
    eb = ebits_of(a.ty)
    wa, wc = _widen(b, a, True), _widen(b, c, True)
    p = b.mul(wa, wc)
    if rounding:
        p = b.add(p, vconst(p.ty, 1 << (eb - 2)))
    p = b.ashr(p, vconst(p.ty, eb - 1))
    r = intr(b, "llvm.smin", [p, vconst(p.ty, (1 << (eb - 1)) - 1)])
    set_qc(ctx, b.icmp("ne", r, p))
    return b.trunc(r, a.ty)


def three_same_op(ctx: LiftContext, u: int, opc: int, a: Val, c: Val, d: int,
                  scalar: bool) -> Val:
    """The result of integer three-same opcode `opc` on vectors a (Vn) and c (Vm)."""
    b = ctx.b
    ty = a.ty
    s = not u
    if opc == 0x00:  # SHADD/UHADD: (a & c) + ((a ^ c) >> 1) never overflows
        return b.add(b.and_(a, c), (b.ashr if s else b.lshr)(b.xor(a, c), vconst(ty, 1)))
    if opc == 0x02:  # SRHADD/URHADD
        return b.sub(b.or_(a, c), (b.ashr if s else b.lshr)(b.xor(a, c), vconst(ty, 1)))
    if opc == 0x04:  # SHSUB/UHSUB
        wa, wc = _widen(b, a, s), _widen(b, c, s)
        return b.trunc(b.ashr(b.sub(wa, wc), vconst(wa.ty, 1)), ty)
    if opc == 0x01:
        return sat_add(ctx, a, c, s)
    if opc == 0x05:
        return sat_add(ctx, a, c, s, sub=True)
    if opc == 0x06:  # CMGT / CMHI
        return mask_of(b, b.icmp("sgt" if s else "ugt", a, c), ty)
    if opc == 0x07:  # CMGE / CMHS
        return mask_of(b, b.icmp("sge" if s else "uge", a, c), ty)
    if opc == 0x08:
        return _reg_shift(ctx, a, c, s, False)
    if opc == 0x0A:
        return _reg_shift(ctx, a, c, s, True)
    if opc == 0x09:
        return _sat_reg_shift(ctx, a, c, s, False)
    if opc == 0x0B:
        return _sat_reg_shift(ctx, a, c, s, True)
    if opc == 0x0C:
        return intr(b, "llvm.smax" if s else "llvm.umax", [a, c])
    if opc == 0x0D:
        return intr(b, "llvm.smin" if s else "llvm.umin", [a, c])
    if opc == 0x0E:
        return _abd(b, a, c, s)
    if opc == 0x0F:
        return b.add(read(ctx, d, *vec_lanes(ty)), _abd(b, a, c, s))
    if opc == 0x10:
        return b.sub(a, c) if u else b.add(a, c)
    if opc == 0x11:  # CMEQ / CMTST
        if u:
            return mask_of(b, b.icmp("eq", a, c), ty)
        return mask_of(b, b.icmp("ne", b.and_(a, c), zero(ty)), ty)
    if opc == 0x12:  # MLA / MLS
        acc = read(ctx, d, *vec_lanes(ty))
        p = b.mul(a, c)
        return b.sub(acc, p) if u else b.add(acc, p)
    if opc == 0x13:
        return _pmul(b, a, c) if u else b.mul(a, c)
    if opc in (0x14, 0x15, 0x17):
        ev, od = _pairwise(b, a, c)
        if opc == 0x17:
            return b.add(ev, od)
        name = ("s" if s else "u") + ("max" if opc == 0x14 else "min")
        return intr(b, f"llvm.{name}", [ev, od])
    if opc == 0x16:
        return _doubling_mulh(ctx, a, c, bool(u))
    raise Unallocated


def vec_lanes(ty: str) -> tuple[int, int]:
    """(lanes, element bits) of an integer vector type."""
    return vec_shape(ty)[0], ebits_of(ty)


# which (u, opcode) pairs exist, and which forbid 64-bit lanes
_NO_D = {0x00, 0x02, 0x04, 0x0C, 0x0D, 0x0E, 0x0F, 0x12, 0x13, 0x14, 0x15, 0x16}
_SCALAR_OK = {0x01: "all", 0x05: "all", 0x06: "d", 0x07: "d", 0x08: "d", 0x0A: "d",
              0x09: "all", 0x0B: "all", 0x10: "d", 0x11: "d", 0x16: "hs"}


def _logical(ctx: LiftContext, w: int) -> None:
    """AND/BIC/ORR/ORN/EOR/BSL/BIT/BIF (register): size selects the operation."""
    b = ctx.b
    q, u, size = bit(w, 30), bit(w, 29), bits(w, 23, 22)
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    ty = vty(2 if q else 1, 64)
    a, c = read(ctx, rn, *vec_lanes(ty)), read(ctx, rm, *vec_lanes(ty))
    if not u:
        r = [b.and_, lambda x, y: b.and_(x, vnot(b, y)), b.or_,
             lambda x, y: b.or_(x, vnot(b, y))][size](a, c)
    elif size == 0:
        r = b.xor(a, c)
    else:
        dv = read(ctx, rd, *vec_lanes(ty))
        if size == 1:  # BSL: d selects between n (1) and m (0)
            sel, x, y = dv, a, c
        elif size == 2:  # BIT: m selects n into d
            sel, x, y = c, a, dv
        else:  # BIF: ~m selects n into d
            sel, x, y = c, dv, a
        r = b.xor(y, b.and_(b.xor(x, y), sel))
    write(ctx, rd, r)


@insn("0xx01110xx1xxxxx0xxxx1xxxxxxxxxx", "0xx01110xx1xxxxx10xxx1xxxxxxxxxx",
      name="SIMD three same (int)")
def three_same(ctx: LiftContext, w: int) -> None:
    q, u, size, opc = bit(w, 30), bit(w, 29), bits(w, 23, 22), bits(w, 15, 11)
    if opc == 0x03:
        _logical(ctx, w)
        return
    if (opc == 0x17 and u) or (opc == 0x13 and u and size) or (opc == 0x16 and size in (0, 3)):
        raise Unallocated
    if size == 3 and opc in _NO_D:
        raise Unallocated
    lanes, eb = arrangement(size, q)
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    a, c = read(ctx, rn, lanes, eb), read(ctx, rm, lanes, eb)
    write(ctx, rd, three_same_op(ctx, u, opc, a, c, rd, False))


@insn("01x11110xx1xxxxxxxxxx1xxxxxxxxxx", name="SIMD scalar three same (int)")
def scalar_three_same(ctx: LiftContext, w: int) -> None:
    u, size, opc = bit(w, 29), bits(w, 23, 22), bits(w, 15, 11)
    ok = _SCALAR_OK.get(opc)
    if ok is None or (ok == "d" and size != 3) or (ok == "hs" and size not in (1, 2)):
        raise Unallocated
    eb = 8 << size
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    a, c = read(ctx, rn, 1, eb), read(ctx, rm, 1, eb)
    write(ctx, rd, three_same_op(ctx, u, opc, a, c, rd, True))


# ---------------------------------------------------------------------------- two-reg misc
def _rev(b: Builder, v: Val, container: int) -> Val:
    """REV16/32/64: reverse the lanes inside each `container`-bit group."""
    lanes, eb = vec_lanes(v.ty)
    g = container // eb
    mask = [base + g - 1 - i for base in range(0, lanes, g) for i in range(g)]
    return b.shufflevector(v, Val("poison", v.ty), mask)


def misc_op(ctx: LiftContext, u: int, opc: int, size: int, a: Val, d: int) -> Val:
    """Integer two-register-misc opcode `opc` on vector a (same-width result)."""
    b = ctx.b
    ty = a.ty
    eb = ebits_of(ty)
    if opc == 0x04:
        if u:
            return intr(b, "llvm.ctlz", [a, const("i1", 0)])
        t = b.xor(a, b.ashr(a, vconst(ty, eb - 1)))
        return b.sub(intr(b, "llvm.ctlz", [t, const("i1", 0)]), vconst(ty, 1))
    if opc == 0x05:
        if not u:
            return intr(b, "llvm.ctpop", [a])
        return vnot(b, a) if size == 0 else intr(b, "llvm.bitreverse", [a])
    if opc == 0x07:  # SQABS / SQNEG
        if u:
            return sat_add(ctx, zero(ty), a, True, sub=True)
        is_min = b.icmp("eq", a, vconst(ty, 1 << (eb - 1)))
        set_qc(ctx, is_min)
        absv = intr(b, "llvm.abs", [a, const("i1", 0)])
        return b.select(is_min, vconst(ty, (1 << (eb - 1)) - 1), absv)
    if opc == 0x03:  # SUQADD / USQADD: accumulate into Vd with the other signedness
        acc = read(ctx, d, *vec_lanes(ty))
        wide = with_elt(ty, f"i{eb + 2}")
        if not u:  # SUQADD: signed acc + unsigned a, signed saturation
            s = b.add(b.sext(acc, wide), b.zext(a, wide))
            lo, hi = -(1 << (eb - 1)), (1 << (eb - 1)) - 1
        else:  # USQADD: unsigned acc + signed a, unsigned saturation
            s = b.add(b.zext(acc, wide), b.sext(a, wide))
            lo, hi = 0, (1 << eb) - 1
        r = intr(b, "llvm.smax", [intr(b, "llvm.smin", [s, vconst(wide, hi)]), vconst(wide, lo)])
        set_qc(ctx, b.icmp("ne", r, s))
        return b.trunc(r, ty)
    if opc == 0x08:
        return mask_of(b, b.icmp("sge" if u else "sgt", a, zero(ty)), ty)
    if opc == 0x09:
        return mask_of(b, b.icmp("sle" if u else "eq", a, zero(ty)), ty)
    if opc == 0x0A and not u:
        return mask_of(b, b.icmp("slt", a, zero(ty)), ty)
    if opc == 0x0B:
        return b.sub(zero(ty), a) if u else intr(b, "llvm.abs", [a, const("i1", 0)])
    raise Unallocated


@insn("0xx01110xx10000 00xxx 10xxxxxxxxxx", "0xx01110xx10000 010xx 10xxxxxxxxxx",
      "0xx01110xx10000 1001x 10xxxxxxxxxx", "0xx01110xx10000 10100 10xxxxxxxxxx",
      name="SIMD two-reg misc (int)")
def two_reg_misc(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    q, u, size, opc = bit(w, 30), bit(w, 29), bits(w, 23, 22), bits(w, 16, 12)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    if opc in (0x12, 0x14) or (opc == 0x13 and u):  # narrowing / SHLL
        if size == 3:
            raise Unallocated
        eb = 8 << size
        if opc == 0x13:  # SHLL: widen and shift left by esize
            src = read_full(ctx, rn, eb)
            h = half(b, src, True) if q else read(ctx, rn, 64 // eb, eb)
            wv = b.zext(h, with_elt(h.ty, f"i{2 * eb}"))
            write(ctx, rd, b.shl(wv, vconst(wv.ty, eb)))
            return
        wide = read_full(ctx, rn, 2 * eb)
        nty = with_elt(wide.ty, f"i{eb}")
        if opc == 0x12 and not u:
            r = b.trunc(wide, nty)
        elif opc == 0x12:
            r = sat_trunc(ctx, wide, nty, True, False)
        else:
            r = sat_trunc(ctx, wide, nty, not u, not u)
        (write_upper if q else write)(ctx, rd, r)
        return
    if opc == 0x13 or (u and opc == 0x0A):
        raise Unallocated
    if opc <= 1:  # REV64 / REV32 / REV16
        container = {(0, 0): 64, (1, 0): 32, (0, 1): 16}.get((u, opc))
        if container is None or (8 << size) >= container:
            raise Unallocated
        lanes, eb = arrangement(size, q)
        write(ctx, rd, _rev(b, read(ctx, rn, lanes, eb), container))
        return
    if opc in (0x02, 0x06):  # SADDLP/UADDLP, SADALP/UADALP
        if size == 3:
            raise Unallocated
        lanes, eb = arrangement(size, q)
        ev, od = _pairwise(b, *_split(b, read(ctx, rn, lanes, eb)))
        r = b.add(_widen(b, ev, not u), _widen(b, od, not u))
        if opc == 0x06:
            r = b.add(r, read(ctx, rd, *vec_lanes(r.ty)))
        write(ctx, rd, r)
        return
    if opc == 0x05 and (size > 1 or (size == 1 and not u)):
        raise Unallocated
    if opc in (0x08, 0x09, 0x0A, 0x0B, 0x03, 0x07):
        lanes, eb = arrangement(size, q)
    else:  # CLS/CLZ/CNT/NOT/RBIT: no 64-bit lanes
        if size == 3:
            raise Unallocated
        lanes, eb = arrangement(size, q)
    if opc == 0x05:
        lanes, eb = (16 if q else 8), 8
    write(ctx, rd, misc_op(ctx, u, opc, size, read(ctx, rn, lanes, eb), rd))


def _split(b: Builder, v: Val) -> tuple[Val, Val]:
    """A vector as (low half, high half), so _pairwise can pair adjacent lanes of one vector."""
    return half(b, v, False), half(b, v, True)


@insn("01x11110xx10000 xxxxx 10xxxxxxxxxx", name="SIMD scalar two-reg misc (int)")
def scalar_two_reg_misc(ctx: LiftContext, w: int) -> None:
    u, size, opc = bit(w, 29), bits(w, 23, 22), bits(w, 16, 12)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    if opc in (0x08, 0x09, 0x0A, 0x0B):
        if size != 3 or (opc == 0x0A and u):
            raise Unallocated
        write(ctx, rd, misc_op(ctx, u, opc, size, read(ctx, rn, 1, 64), rd))
        return
    if opc in (0x03, 0x07):
        eb = 8 << size
        write(ctx, rd, misc_op(ctx, u, opc, size, read(ctx, rn, 1, eb), rd))
        return
    if opc in (0x12, 0x14) and not (opc == 0x12 and not u):
        if size == 3:
            raise Unallocated
        eb = 8 << size
        wide = read(ctx, rn, 1, 2 * eb)
        nty = vty(1, eb)
        if opc == 0x12:
            r = sat_trunc(ctx, wide, nty, True, False)
        else:
            r = sat_trunc(ctx, wide, nty, not u, not u)
        write(ctx, rd, r)
        return
    from translator.isa import simd_fp

    simd_fp.scalar_misc(ctx, w)


# ---------------------------------------------------------------------------- across lanes
@insn("0xx01110xx11000 xxxxx 10xxxxxxxxxx", name="SIMD across lanes")
def across_lanes(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    q, u, size, opc = bit(w, 30), bit(w, 29), bits(w, 23, 22), bits(w, 16, 12)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    if opc in (0x0C, 0x0F):
        from translator.isa import simd_fp

        simd_fp.across(ctx, w)
        return
    if opc not in (0x03, 0x0A, 0x1A, 0x1B) or (opc == 0x1B and u):
        raise Unallocated
    if size == 3 or (size == 2 and not q):
        raise Unallocated
    lanes, eb = arrangement(size, q)
    v = read(ctx, rn, lanes, eb)
    if opc == 0x03:  # SADDLV / UADDLV: sum in twice the width
        v = _widen(b, v, not u)
        r = b.intrinsic(f"llvm.vector.reduce.add.{mangle(v.ty)}", f"i{2 * eb}", [v])
    else:
        sg = "u" if u else "s"
        op = {0x1B: "add", 0x0A: sg + "max", 0x1A: sg + "min"}[opc]
        r = b.intrinsic(f"llvm.vector.reduce.{op}.{mangle(v.ty)}", f"i{eb}", [v])
    write(ctx, rd, r)


# ---------------------------------------------------------------------------- scalar pairwise
@insn("01x11110xx11000 xxxxx 10xxxxxxxxxx", name="SIMD scalar pairwise")
def scalar_pairwise(ctx: LiftContext, w: int) -> None:
    u, size, opc = bit(w, 29), bits(w, 23, 22), bits(w, 16, 12)
    if opc == 0x1B and not u:  # ADDP Dd, Vn.2D
        if size != 3:
            raise Unallocated
        b = ctx.b
        v = read(ctx, bits(w, 9, 5), 2, 64)
        write(ctx, bits(w, 4, 0), b.add(b.extractelement(v, 0), b.extractelement(v, 1)))
        return
    from translator.isa import simd_fp

    simd_fp.scalar_pairwise(ctx, w)


# ---------------------------------------------------------------------------- three different
@insn("0xx01110xx1xxxxxxxxx00xxxxxxxxxx", name="SIMD three different")
def three_different(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    q, u, size, opc = bit(w, 30), bit(w, 29), bits(w, 23, 22), bits(w, 15, 12)
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    if size == 3 or opc == 0xF:
        raise Unallocated
    if opc in (0x9, 0xB, 0xD) and (u or size not in (1, 2)):
        raise Unallocated
    if opc == 0xE and (u or size != 0):
        raise Unallocated
    eb = 8 << size
    s = not u

    def narrow_src(n: int) -> Val:
        if q:
            return half(b, read_full(ctx, n, eb), True)
        return read(ctx, n, 64 // eb, eb)

    if opc in (0x4, 0x6):  # ADDHN/RADDHN/SUBHN/RSUBHN
        a, c = read_full(ctx, rn, 2 * eb), read_full(ctx, rm, 2 * eb)
        r = b.sub(a, c) if opc == 0x6 else b.add(a, c)
        if u:
            r = b.add(r, vconst(r.ty, 1 << (eb - 1)))
        r = b.trunc(b.lshr(r, vconst(r.ty, eb)), with_elt(r.ty, f"i{eb}"))
        (write_upper if q else write)(ctx, rd, r)
        return
    c = _widen(b, narrow_src(rm), s) if opc != 0xE else None
    if opc in (0x1, 0x3):  # wide: Vn already double width
        a = read_full(ctx, rn, 2 * eb)
    else:
        a = _widen(b, narrow_src(rn), s) if opc != 0xE else None
    if opc == 0xE:  # PMULL 8B/16B -> 8H
        na, nc = narrow_src(rn), narrow_src(rm)
        wa, wc = b.zext(na, "<8 x i16>"), b.zext(nc, "<8 x i16>")
        acc = zero("<8 x i16>")
        for i in range(8):
            sel = b.and_(b.lshr(wc, vconst(wc.ty, i)), vconst(wc.ty, 1))
            acc = b.xor(acc, b.and_(b.shl(wa, vconst(wa.ty, i)), b.sub(zero(wa.ty), sel)))
        write(ctx, rd, acc)
        return
    assert a is not None and c is not None
    if opc in (0x0, 0x1):
        r = b.add(a, c)
    elif opc in (0x2, 0x3):
        r = b.sub(a, c)
    elif opc in (0x5, 0x7):  # SABAL/UABAL, SABDL/UABDL: |a - c| fits the wide lane
        r = _abd(b, a, c, True)
        if opc == 0x5:
            r = b.add(read_full(ctx, rd, 2 * eb), r)
    elif opc in (0x8, 0xA, 0xC):
        r = b.mul(a, c)
        if opc != 0xC:
            acc = read_full(ctx, rd, 2 * eb)
            r = b.add(acc, r) if opc == 0x8 else b.sub(acc, r)
    else:  # SQDMLAL / SQDMLSL / SQDMULL
        p = b.mul(a, c)
        r = sat_add(ctx, p, p, True)
        if opc != 0xD:
            r = sat_add(ctx, read_full(ctx, rd, 2 * eb), r, True, sub=opc == 0xB)
    write(ctx, rd, r)


@insn("01x11110xx1xxxxxxxxx00xxxxxxxxxx", name="SIMD scalar three different")
def scalar_three_different(ctx: LiftContext, w: int) -> None:
    """SQDMLAL/SQDMLSL/SQDMULL on scalars (Sd from Hn,Hm; Dd from Sn,Sm)."""
    b = ctx.b
    u, size, opc = bit(w, 29), bits(w, 23, 22), bits(w, 15, 12)
    if u or size not in (1, 2) or opc not in (0x9, 0xB, 0xD):
        raise Unallocated
    eb = 8 << size
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    a = _widen(b, read(ctx, rn, 1, eb), True)
    c = _widen(b, read(ctx, rm, 1, eb), True)
    p = b.mul(a, c)
    r = sat_add(ctx, p, p, True)
    if opc != 0xD:
        r = sat_add(ctx, read(ctx, rd, 1, 2 * eb), r, True, sub=opc == 0xB)
    write(ctx, rd, r)


__all__ = ["three_same_op", "misc_op", "concat"]
