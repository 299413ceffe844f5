"""AdvSIMD shift by immediate (vector and scalar): SHR/SRA/RSHR/SRI/SHL/SLI/QSHL, the narrowing
SHRN family, SSHLL/USHLL (SXTL/UXTL) and the fixed-point SCVTF/UCVTF/FCVTZS/FCVTZU.

immh's highest set bit gives the element size; right shifts encode 2*esize - immh:immb, left
shifts immh:immb - esize. A right shift by the full element width is legal in A64 (it is poison
in LLVM), so every shift goes through simd_common's range-aware helpers.
"""

from __future__ import annotations

from translator.ir import Val
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import (
    ebits_of,
    fp_to_int,
    fvconst,
    half,
    intr,
    raise_conversion_flags,
    read,
    read_full,
    rshr_imm,
    sat_trunc,
    scale_for_fixed,
    set_qc,
    shl_imm,
    shr_imm,
    vconst,
    with_elt,
    write,
    write_upper,
    zero,
)
from translator.lift_context import LiftContext, Unallocated, flush_to_zero_fixup

_SAME = {0x00, 0x02, 0x04, 0x06, 0x08, 0x0A, 0x0C, 0x0E}  # result as wide as the source
_NARROW = {0x10, 0x11, 0x12, 0x13}


def _sat_shl(ctx: LiftContext, a: Val, n: int, src_signed: bool, dst_signed: bool) -> Val:
    """SQSHL/UQSHL/SQSHLU by immediate: shift left, saturating lanes that lose bits."""
    b = ctx.b
    ty = a.ty
    eb = ebits_of(ty)
    sh = shl_imm(b, a, n)
    if src_signed and not dst_signed:  # SQSHLU: negative -> 0, else unsigned saturation
        neg = b.icmp("slt", a, zero(ty))
        lost = b.icmp("ne", b.lshr(sh, vconst(ty, n)) if n else sh, a)
        r = b.select(neg, zero(ty), b.select(lost, vconst(ty, -1), sh))
        set_qc(ctx, b.or_(neg, lost))
        return r
    back = (b.ashr if src_signed else b.lshr)(sh, vconst(ty, n)) if n else sh
    lost = b.icmp("ne", back, a)
    if src_signed:
        sat = b.select(b.icmp("slt", a, zero(ty)), vconst(ty, 1 << (eb - 1)),
                       vconst(ty, (1 << (eb - 1)) - 1))
    else:
        sat = vconst(ty, -1)
    set_qc(ctx, lost)
    return b.select(lost, sat, sh)


def _same_op(ctx: LiftContext, u: int, opc: int, a: Val, rd: int, immhb: int, eb: int) -> Val:
    b = ctx.b
    ty = a.ty
    rsh = 2 * eb - immhb
    lsh = immhb - eb
    s = not u
    if opc in (0x00, 0x02, 0x04, 0x06):
        r = (rshr_imm if opc & 4 else shr_imm)(b, a, rsh, s)
        if opc & 2:
            r = b.add(ctx.vreg_as(rd, ty), r)
        return r
    if opc == 0x08:  # SRI
        if not u:
            raise Unallocated
        mask = ((1 << eb) - 1) >> rsh
        d = ctx.vreg_as(rd, ty)
        return b.or_(b.and_(d, vconst(ty, ~mask)), shr_imm(b, a, rsh, False))
    if opc == 0x0A:  # SHL / SLI
        r = shl_imm(b, a, lsh)
        if u:
            mask = ((1 << eb) - 1) << lsh
            r = b.or_(b.and_(ctx.vreg_as(rd, ty), vconst(ty, ~mask)), r)
        return r
    if opc == 0x0C:  # SQSHLU
        if not u:
            raise Unallocated
        return _sat_shl(ctx, a, lsh, True, False)
    if opc == 0x0E:
        return _sat_shl(ctx, a, lsh, s, s)
    raise Unallocated


def _narrow(ctx: LiftContext, u: int, opc: int, wide: Val, n: int, scalar: bool) -> Val:
    """SHRN/RSHRN/SQSHRN/UQSHRN/SQRSHRN/UQRSHRN/SQSHRUN/SQRSHRUN on the wide source lanes."""
    b = ctx.b
    eb = ebits_of(wide.ty) // 2
    nty = with_elt(wide.ty, f"i{eb}")
    rounding = bool(opc & 1)
    if opc in (0x10, 0x11):
        if not u:  # SHRN / RSHRN (vector only)
            if scalar:
                raise Unallocated
            return b.trunc((rshr_imm if rounding else shr_imm)(b, wide, n, False), nty)
        src_s, dst_s = True, False  # SQSHRUN / SQRSHRUN
    else:
        src_s = dst_s = not u
    sh = (rshr_imm if rounding else shr_imm)(b, wide, n, src_s)
    return sat_trunc(ctx, sh, nty, src_s, dst_s)


def _fixed(ctx: LiftContext, u: int, opc: int, a: Val, fbits: int) -> Val:
    """SCVTF/UCVTF (fixed) and FCVTZS/FCVTZU (fixed): scale by 2^fbits around the conversion."""
    b = ctx.b
    eb = ebits_of(a.ty)
    fty = with_elt(a.ty, "float" if eb == 32 else "double")
    if opc == 0x1C:
        f = (b.uitofp if u else b.sitofp)(a, fty)
        flush_to_zero_fixup(b, [], after=f)  # its Inexact, taken out of MXCSR under FZ
        return b.fmul(f, fvconst(fty, 2.0 ** -fbits)) if fbits else f
    x = b.bitcast(a, fty)
    flush_to_zero_fixup(b, [x], host_op=False)  # the scaled value is never a denormal
    f = scale_for_fixed(b, x, fbits, eb)
    r = intr(b, "llvm.trunc", [f])
    raise_conversion_flags(b, f, r, eb, bool(u))
    return fp_to_int(b, r, a.ty, bool(u))


def _esize(immh: int) -> int:
    return 8 << (immh.bit_length() - 1)


@insn("0xx011110xxxxxxxxxxxx1xxxxxxxxxx", name="SIMD shift by immediate")
def shift_imm(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    q, u, immh, opc = bit(w, 30), bit(w, 29), bits(w, 22, 19), bits(w, 15, 11)
    immhb = bits(w, 22, 16)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    if immh == 0:
        raise Unallocated
    eb = _esize(immh)
    if not u and opc in (0x08, 0x0C):  # SRI and SQSHLU exist only with U=1
        raise Unallocated
    if opc in _SAME or opc in (0x1C, 0x1F):
        if eb == 64 and not q:
            raise Unallocated
        if opc in (0x1C, 0x1F):
            if eb < 32:
                raise Unallocated  # (the half-precision forms are simd_fp16's)
            a = read(ctx, rn, (64 << q) // eb, eb)
            write(ctx, rd, _fixed(ctx, u, opc, a, 2 * eb - immhb))
            return
        a = read(ctx, rn, (64 << q) // eb, eb)
        write(ctx, rd, _same_op(ctx, u, opc, a, rd, immhb, eb))
        return
    if eb == 64:
        raise Unallocated
    if opc in _NARROW:
        wide = read_full(ctx, rn, 2 * eb)
        r = _narrow(ctx, u, opc, wide, 2 * eb - immhb, False)
        (write_upper if q else write)(ctx, rd, r)
        return
    if opc == 0x14:  # SSHLL / USHLL (SXTL / UXTL when the shift is 0)
        src = half(b, read_full(ctx, rn, eb), True) if q else read(ctx, rn, 64 // eb, eb)
        wty = with_elt(src.ty, f"i{2 * eb}")
        wv = b.zext(src, wty) if u else b.sext(src, wty)
        write(ctx, rd, shl_imm(b, wv, immhb - eb))
        return
    raise Unallocated


@insn("01x111110xxxxxxxxxxxx1xxxxxxxxxx", name="SIMD scalar shift by immediate")
def scalar_shift_imm(ctx: LiftContext, w: int) -> None:
    u, immh, opc = bit(w, 29), bits(w, 22, 19), bits(w, 15, 11)
    immhb = bits(w, 22, 16)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    if immh == 0:
        raise Unallocated
    eb = _esize(immh)
    if not u and opc in (0x08, 0x0C):
        raise Unallocated
    if opc in _SAME:
        if opc not in (0x0C, 0x0E) and eb != 64:
            raise Unallocated
        a = read(ctx, rn, 1, eb)
        write(ctx, rd, _same_op(ctx, u, opc, a, rd, immhb, eb))
        return
    if opc in (0x1C, 0x1F):
        if eb < 32:
            raise Unallocated  # (the half-precision forms are simd_fp16's)
        write(ctx, rd, _fixed(ctx, u, opc, read(ctx, rn, 1, eb), 2 * eb - immhb))
        return
    if opc in _NARROW and eb != 64:
        wide = read(ctx, rn, 1, 2 * eb)
        write(ctx, rd, _narrow(ctx, u, opc, wide, 2 * eb - immhb, True))
        return
    raise Unallocated


