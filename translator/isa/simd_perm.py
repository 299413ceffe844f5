"""AdvSIMD data movement: modified immediate (MOVI/MVNI/ORR/BIC/FMOV), copy (DUP/INS/UMOV/SMOV),
permutes (ZIP/UZP/TRN), EXT and table lookups (TBL/TBX).

All of these are lane shuffles with compile-time masks, so they lift to `shufflevector`,
which LLVM turns into single x86 shuffles. TBL/TBX index with run-time bytes: they use x86
PSHUFB (the JIT only ever targets x86_64 hosts), one per 16-byte table register.
"""

from __future__ import annotations

from translator.ir import Val
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import (
    arrangement,
    concat,
    expand_imm,
    read,
    read_full,
    splat,
    vconst,
    write,
    zero,
)
from translator.lift_context import LiftContext, Unallocated


# ---------------------------------------------------------------------------- modified immediate
@insn("0xx0111100000xxxxxxx01xxxxxxxxxx", name="SIMD modified immediate")
def modified_imm(ctx: LiftContext, w: int) -> None:
    """MOVI/MVNI/ORR/BIC (vector, immediate) and FMOV (vector, immediate)."""
    b = ctx.b
    q, op, cmode = bit(w, 30), bit(w, 29), bits(w, 15, 12)
    imm8 = (bits(w, 18, 16) << 5) | bits(w, 9, 5)
    rd = bits(w, 4, 0)
    if op and cmode == 0xF and not q:
        raise Unallocated
    imm = expand_imm(op, cmode, imm8)
    ty = "<2 x i64>" if q else "<1 x i64>"
    lanes = 2 if q else 1
    is_logic = cmode < 0xC and cmode & 1  # ORR / BIC
    if not is_logic:
        if op and cmode < 0xE:  # MVNI
            imm = ~imm
        write(ctx, rd, vconst(ty, [imm] * lanes))
        return
    d = read(ctx, rd, lanes, 64)
    r = b.and_(d, vconst(ty, ~imm)) if op else b.or_(d, vconst(ty, imm))
    write(ctx, rd, r)


# ---------------------------------------------------------------------------- copy
def _imm5(imm5: int) -> tuple[int, int]:
    """(size, index) of a copy instruction's imm5; imm5 = x0000 is reserved."""
    if imm5 & 0xF == 0:
        raise Unallocated
    size = (imm5 & -imm5).bit_length() - 1
    return size, imm5 >> (size + 1)


@insn("0xx01110000xxxxx0xxxx1xxxxxxxxxx", name="SIMD copy")
def copy(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    q, op, imm4 = bit(w, 30), bit(w, 29), bits(w, 14, 11)
    size, idx = _imm5(bits(w, 20, 16))
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    eb = 8 << size
    ety = f"i{eb}"
    if op:  # INS (element): Vd.T[idx] = Vn.T[imm4 >> size]
        if not q:
            raise Unallocated
        src = b.extractelement(read_full(ctx, rn, eb), imm4 >> size)
        write(ctx, rd, b.insertelement(read_full(ctx, rd, eb), src, idx))
        return
    if imm4 == 0:  # DUP (element)
        lanes, _ = arrangement(size, q)
        src = read_full(ctx, rn, eb)
        write(ctx, rd, b.shufflevector(src, Val("poison", src.ty), [idx] * lanes))
    elif imm4 == 1:  # DUP (general)
        lanes, _ = arrangement(size, q)
        v = ctx.x(rn) if size == 3 else b.trunc(ctx.x(rn), ety)
        write(ctx, rd, splat(b, v, lanes))
    elif imm4 == 3:  # INS (general)
        if not q:
            raise Unallocated
        v = ctx.x(rn) if size == 3 else b.trunc(ctx.x(rn), ety)
        write(ctx, rd, b.insertelement(read_full(ctx, rd, eb), v, idx))
    elif imm4 in (5, 7):  # SMOV / UMOV
        if imm4 == 5 and (size > 2 or (size == 2 and not q)):
            raise Unallocated
        if imm4 == 7 and (size == 3) != bool(q):
            raise Unallocated
        e = b.extractelement(read_full(ctx, rn, eb), idx)
        if imm4 == 5:
            ctx.set_x(rd, b.sext(e, "i64" if q else "i32"))
        else:
            ctx.set_x(rd, b.zext(e, "i64"))
    else:
        raise Unallocated


@insn("01011110000xxxxx000001xxxxxxxxxx", name="DUP (element, scalar)")
def scalar_dup(ctx: LiftContext, w: int) -> None:
    """DUP Vd, Vn.T[i] (MOV scalar): one element into the low lane, the rest cleared."""
    size, idx = _imm5(bits(w, 20, 16))
    if size > 3:
        raise Unallocated
    eb = 8 << size
    write(ctx, bits(w, 4, 0), ctx.b.extractelement(read_full(ctx, bits(w, 9, 5), eb), idx))


# ---------------------------------------------------------------------------- permutes
@insn("0x001110xx0xxxxx0xxx10xxxxxxxxxx", name="SIMD permute")
def permute(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    q, size, opc = bit(w, 30), bits(w, 23, 22), bits(w, 14, 12)
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    if opc in (0, 4):
        raise Unallocated
    lanes, eb = arrangement(size, q)
    n, m = read(ctx, rn, lanes, eb), read(ctx, rm, lanes, eb)
    part = opc >> 2  # 0 for the "1" forms, 1 for the "2" forms
    kind = opc & 3
    if kind == 1:  # UZP
        mask = list(range(part, 2 * lanes, 2))
    elif kind == 2:  # TRN
        mask = [i + part + (lanes if j else 0) for i in range(0, lanes, 2) for j in (0, 1)]
    else:  # ZIP
        base = part * lanes // 2
        mask = [base + i + (lanes if j else 0) for i in range(lanes // 2) for j in (0, 1)]
    write(ctx, rd, b.shufflevector(n, m, mask))


@insn("0x101110000xxxxx0xxxx0xxxxxxxxxx", name="EXT")
def ext(ctx: LiftContext, w: int) -> None:
    q, imm4 = bit(w, 30), bits(w, 14, 11)
    if not q and imm4 >= 8:
        raise Unallocated
    lanes = 16 if q else 8
    n, m = read(ctx, bits(w, 9, 5), lanes, 8), read(ctx, bits(w, 20, 16), lanes, 8)
    write(ctx, bits(w, 4, 0), ctx.b.shufflevector(n, m, list(range(imm4, imm4 + lanes))))


@insn("0x001110000xxxxx0xxx00xxxxxxxxxx", name="TBL/TBX")
def tbl(ctx: LiftContext, w: int) -> None:
    """TBL/TBX: byte lookup in 1-4 consecutive (mod 32) table registers; out of range -> 0 / Vd."""
    b = ctx.b
    q, nregs, is_tbx = bit(w, 30), bits(w, 14, 13) + 1, bit(w, 12)
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    lanes = 16 if q else 8
    idx = read(ctx, rm, lanes, 8)
    if lanes == 8:  # work on 16 lanes; the upper 8 are discarded
        idx = concat(b, idx, zero(idx.ty))
    v16 = "<16 x i8>"
    acc = zero(v16)
    for j in range(nregs):
        table = read_full(ctx, (rn + j) % 32, 8)
        rel = b.sub(idx, vconst(v16, 16 * j)) if j else idx
        # PSHUFB zeroes lanes whose index has bit 7 set: route out-of-range lanes there
        sel = b.select(b.icmp("ult", rel, vconst(v16, 16)), rel, vconst(v16, 0x80))
        acc = b.or_(acc, b.intrinsic("llvm.x86.ssse3.pshuf.b.128", v16, [table, sel]))
    if is_tbx:
        inr = b.icmp("ult", idx, vconst(v16, 16 * nregs))
        acc = b.select(inr, acc, read_full(ctx, rd, 8))
    if lanes == 8:
        acc = b.shufflevector(acc, Val("poison", v16), list(range(8)))
    write(ctx, rd, acc)

