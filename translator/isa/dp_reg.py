"""Data processing (register): add/sub shifted and extended, logical, carry, conditional
compare and select, 1-, 2- and 3-source operations including division and CRC32/CRC32C.
"""

from __future__ import annotations

import functools

from translator.ir import Val, const
from translator.isa.dp_imm import add_sub, add_with_carry, ity
from translator.isa.registry import bit, bits, insn
from translator.lift_context import LiftContext, Unallocated

LSL, LSR, ASR, ROR = range(4)


def shift_reg(ctx: LiftContext, v: Val, kind: int, amount: int) -> Val:
    """ShiftReg: the second operand of the shifted-register forms (amount < width)."""
    if amount == 0:
        return v
    b = ctx.b
    k = const(v.ty, amount)
    if kind == LSL:
        return b.shl(v, k)
    if kind == LSR:
        return b.lshr(v, k)
    if kind == ASR:
        return b.ashr(v, k)
    return b.intrinsic(f"llvm.fshr.{v.ty}", v.ty, [v, v, k])


# ---------------------------------------------------------------------------- add/sub
@insn("x x x 01011 xx 0 xxxxx xxxxxx xxxxx xxxxx", name="ADD/ADDS/SUB/SUBS (shifted register)")
def add_sub_shifted(ctx: LiftContext, w: int) -> None:
    sf, op, s = bit(w, 31), bit(w, 30), bit(w, 29)
    shift, amount = bits(w, 23, 22), bits(w, 15, 10)
    if shift == ROR or (not sf and amount >= 32):
        raise Unallocated
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    y = shift_reg(ctx, ctx.reg(rm, sf), shift, amount)
    ctx.set_x(rd, add_sub(ctx, ctx.reg(rn, sf), y, bool(op), bool(s)))


def extend_reg(ctx: LiftContext, rm: int, option: int, shift: int, sf: int) -> Val:
    """ExtendReg: Rm's low 8/16/32/64 bits zero- or sign-extended, then shifted left 0-4."""
    b = ctx.b
    ty = ity(sf)
    size = 8 << (option & 3)
    v = ctx.x(rm) if size == 64 else ctx.w(rm)
    if size < 32:
        v = b.trunc(v, f"i{size}")
    if size < int(ty[1:]):
        v = b.sext(v, ty) if option & 4 else b.zext(v, ty)
    else:
        v = b.trunc(v, ty)
    return b.shl(v, const(ty, shift)) if shift else v


@insn("x x x 01011 00 1 xxxxx xxx xxx xxxxx xxxxx", name="ADD/ADDS/SUB/SUBS (extended register)")
def add_sub_extended(ctx: LiftContext, w: int) -> None:
    sf, op, s = bit(w, 31), bit(w, 30), bit(w, 29)
    option, imm3 = bits(w, 15, 13), bits(w, 12, 10)
    if imm3 > 4:
        raise Unallocated
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    y = extend_reg(ctx, rm, option, imm3, sf)
    r = add_sub(ctx, ctx.regsp(rn, sf), y, bool(op), bool(s))
    if s:
        ctx.set_x(rd, r)
    else:
        ctx.set_xsp(rd, r)


# ---------------------------------------------------------------------------- logical
@insn("x xx 01010 xx x xxxxx xxxxxx xxxxx xxxxx", name="AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS")
def logical_shifted(ctx: LiftContext, w: int) -> None:
    sf, opc, n = bit(w, 31), bits(w, 30, 29), bit(w, 21)
    shift, amount = bits(w, 23, 22), bits(w, 15, 10)
    if not sf and amount >= 32:
        raise Unallocated
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    y = shift_reg(ctx, ctx.reg(rm, sf), shift, amount)
    if n:
        y = b.not_(y)
    x = ctx.reg(rn, sf)
    if opc == 1:
        r = b.or_(x, y)
    elif opc == 2:
        r = b.xor(x, y)
    else:
        r = b.and_(x, y)
        if opc == 3:
            ctx.set_nz(r)
    ctx.set_x(rd, r)


# ---------------------------------------------------------------------------- carry
@insn("x x x 11010000 xxxxx 000000 xxxxx xxxxx", name="ADC/ADCS/SBC/SBCS")
def adc_sbc(ctx: LiftContext, w: int) -> None:
    sf, op, s = bit(w, 31), bit(w, 30), bit(w, 29)
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    y = ctx.reg(rm, sf)
    if op:
        y = ctx.b.not_(y)
    ctx.set_x(rd, add_with_carry(ctx, ctx.reg(rn, sf), y, ctx.flag("c"), bool(s)))


# ---------------------------------------------------------------------------- conditional
@insn("x x 1 11010010 xxxxx xxxx x 0 xxxxx 0 xxxx", name="CCMN/CCMP")
def ccmp(ctx: LiftContext, w: int) -> None:
    """Flags of CMP/CMN when the condition holds, else the immediate NZCV."""
    sf, op, is_imm = bit(w, 31), bit(w, 30), bit(w, 11)
    cond, rn, nzcv = bits(w, 15, 12), bits(w, 9, 5), bits(w, 3, 0)
    b = ctx.b
    x = ctx.reg(rn, sf)
    y = const(x.ty, bits(w, 20, 16)) if is_imm else ctx.reg(bits(w, 20, 16), sf)
    holds = ctx.cond_holds(cond)
    r = b.sub(x, y) if op else b.add(x, y)
    zero = const(x.ty, 0)
    if op:
        c = b.icmp("uge", x, y)
        v = b.icmp("slt", b.and_(b.xor(x, y), b.xor(x, r)), zero)
    else:
        c = b.icmp("ult", r, x)
        v = b.icmp("slt", b.and_(b.xor(x, r), b.xor(y, r)), zero)
    flags = (b.icmp("slt", r, zero), b.icmp("eq", r, zero), c, v)
    if holds.ref == "true":
        ctx.set_nzcv(*flags)
        return
    ctx.set_nzcv(*(b.select(holds, f, const("i1", (nzcv >> (3 - i)) & 1))
                   for i, f in enumerate(flags)))


@insn("x x 0 11010100 xxxxx xxxx 0x xxxxx xxxxx", name="CSEL/CSINC/CSINV/CSNEG")
def csel(ctx: LiftContext, w: int) -> None:
    sf, op, o2 = bit(w, 31), bit(w, 30), bit(w, 10)
    rm, cond, rn, rd = bits(w, 20, 16), bits(w, 15, 12), bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    holds = ctx.cond_holds(cond)
    x = ctx.reg(rn, sf)
    if holds.ref == "true":
        ctx.set_x(rd, x)
        return
    y = ctx.reg(rm, sf)
    if op:
        y = b.not_(y)
    if o2:
        y = b.add(y, const(y.ty, 1))  # CSINC: y + 1; CSNEG: NOT(y) + 1
    ctx.set_x(rd, b.select(holds, x, y))


# ---------------------------------------------------------------------------- 1 source
_M64 = (1 << 64) - 1


@insn("x 1 0 11010110 00000 0000xx xxxxx xxxxx", "x 1 0 11010110 00000 00010x xxxxx xxxxx",
      name="RBIT/REV16/REV32/REV/CLZ/CLS")
def dp_1src(ctx: LiftContext, w: int) -> None:
    sf, opcode = bit(w, 31), bits(w, 15, 10)
    if opcode == 3 and not sf:
        raise Unallocated
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    x = ctx.reg(rn, sf)
    ty = x.ty
    width = 64 if sf else 32
    if opcode == 0:
        r = b.intrinsic(f"llvm.bitreverse.{ty}", ty, [x])
    elif opcode == 1:  # REV16: swap the bytes of every halfword
        lo = (0x00FF00FF00FF00FF & _M64) >> (64 - width)
        r = b.or_(b.and_(b.lshr(x, const(ty, 8)), const(ty, lo)),
                  b.and_(b.shl(x, const(ty, 8)), const(ty, lo << 8)))
    elif opcode == 2 and sf:  # REV32: reverse the bytes of each word
        r = b.intrinsic("llvm.bswap.i64", ty, [x])
        r = b.intrinsic("llvm.fshl.i64", ty, [r, r, const(ty, 32)])
    elif opcode in (2, 3):  # REV
        r = b.intrinsic(f"llvm.bswap.{ty}", ty, [x])
    elif opcode == 4:
        r = b.intrinsic(f"llvm.ctlz.{ty}", ty, [x, const("i1", 0)])
    else:  # CLS: leading bits equal to the sign bit, not counting the sign bit
        t = b.xor(x, b.ashr(x, const(ty, 1)))
        r = b.sub(b.intrinsic(f"llvm.ctlz.{ty}", ty, [t, const("i1", 0)]), const(ty, 1))
    ctx.set_x(rd, r)


# ---------------------------------------------------------------------------- 2 source
def _divide(ctx: LiftContext, n: Val, m: Val, signed: bool) -> Val:
    """ARM division: x / 0 = 0 and INT_MIN / -1 = INT_MIN, never a trap (LLVM UB guarded)."""
    b = ctx.b
    zero = const(n.ty, 0)
    one = const(n.ty, 1)
    mzero = b.icmp("eq", m, zero)
    if not signed:
        return b.select(mzero, zero, b.udiv(n, b.select(mzero, one, m)))
    bits_ = int(n.ty[1:])
    overflow = b.and_(b.icmp("eq", n, const(n.ty, 1 << (bits_ - 1))),
                      b.icmp("eq", m, const(n.ty, -1)))
    safe = b.select(b.or_(mzero, overflow), one, m)
    return b.select(mzero, zero, b.sdiv(n, safe))


# CRC32 (ISO-HDLC, reflected 0x04C11DB7) and CRC32C (Castagnoli, reflected 0x1EDC6F41).
_POLY_REFLECTED = {0: 0xEDB88320, 1: 0x82F63B78}


def _crc_bit_terms(poly: int, size: int) -> list[int]:
    """K[i]: the CRC register after `size` reflected shift steps starting from bit i alone.

    CRC is linear over GF(2), so crc(acc, val) = (t >> size) XOR (XOR of K[i] for the set bits
    i < size of t), where t = acc XOR val; bits at or above `size` only move down.
    """
    out = []
    for i in range(size):
        c = 1 << i
        for _ in range(size):
            c = (c >> 1) ^ (poly if c & 1 else 0)
        out.append(c)
    return out


@functools.cache
def _crc_terms(castagnoli: int, size: int) -> list[int]:
    return _crc_bit_terms(_POLY_REFLECTED[castagnoli], size)


def _crc32(ctx: LiftContext, acc: Val, val: Val, castagnoli: int, size: int) -> Val:
    """Loop- and table-free CRC update: a masked XOR-reduction of per-bit constants."""
    b = ctx.b
    sty = f"i{size}"
    wide = "i64" if size == 64 else "i32"
    t = b.xor(b.zext(acc, wide), b.zext(b.trunc(val, sty), wide))
    low = b.trunc(t, sty)
    mask = b.bitcast(low, f"<{size} x i1>")
    terms = ", ".join(f"i32 {const('i32', k).ref}" for k in _crc_terms(castagnoli, size))
    vec = Val(f"<{terms}>", f"<{size} x i32>")
    picked = b.select(mask, vec, Val("zeroinitializer", vec.ty))
    r = b.intrinsic(f"llvm.vector.reduce.xor.v{size}i32", "i32", [picked])
    if size < 32:
        r = b.xor(r, b.lshr(t, const("i32", size)))
    return r


@insn("x 0 0 11010110 xxxxx xxxxxx xxxxx xxxxx", name="UDIV/SDIV/LSLV/LSRV/ASRV/RORV/CRC32")
def dp_2src(ctx: LiftContext, w: int) -> None:
    sf, opcode = bit(w, 31), bits(w, 15, 10)
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    if opcode in (2, 3):
        ctx.set_x(rd, _divide(ctx, ctx.reg(rn, sf), ctx.reg(rm, sf), opcode == 3))
    elif 8 <= opcode <= 11:
        x = ctx.reg(rn, sf)
        ty = x.ty
        amt = ctx.reg(rm, sf)
        if opcode == 11:
            r = b.intrinsic(f"llvm.fshr.{ty}", ty, [x, x, amt])
        else:
            amt = b.and_(amt, const(ty, (64 if sf else 32) - 1))
            r = (b.shl, b.lshr, b.ashr)[opcode - 8](x, amt)
        ctx.set_x(rd, r)
    elif 16 <= opcode <= 23:
        sz = opcode & 3
        if (sz == 3) != bool(sf):
            raise Unallocated
        size = 8 << sz
        val = ctx.x(rm) if size == 64 else ctx.w(rm)
        ctx.set_x(rd, _crc32(ctx, ctx.w(rn), val, (opcode >> 2) & 1, size))
    else:
        raise Unallocated


# ---------------------------------------------------------------------------- 3 source
@insn("x 00 11011 xxx xxxxx x xxxxx xxxxx xxxxx", name="MADD/MSUB/[SU]M{ADD,SUB}L/[SU]MULH")
def dp_3src(ctx: LiftContext, w: int) -> None:
    sf, op31, o0 = bit(w, 31), bits(w, 23, 21), bit(w, 15)
    rm, ra, rn, rd = bits(w, 20, 16), bits(w, 14, 10), bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    if op31 == 0:
        prod = b.mul(ctx.reg(rn, sf), ctx.reg(rm, sf))
        a = ctx.reg(ra, sf)
        ctx.set_x(rd, b.sub(a, prod) if o0 else b.add(a, prod))
        return
    if not sf:
        raise Unallocated
    if op31 in (1, 5):  # SMADDL/SMSUBL/UMADDL/UMSUBL: 32x32 -> 64
        ext = b.sext if op31 == 1 else b.zext
        prod = b.mul(ext(ctx.w(rn), "i64"), ext(ctx.w(rm), "i64"))
        a = ctx.x(ra)
        ctx.set_x(rd, b.sub(a, prod) if o0 else b.add(a, prod))
    elif op31 in (2, 6) and not o0:  # SMULH/UMULH: high half of the 128-bit product
        ext = b.sext if op31 == 2 else b.zext
        prod = b.mul(ext(ctx.x(rn), "i128"), ext(ctx.x(rm), "i128"))
        ctx.set_x(rd, b.trunc(b.lshr(prod, const("i128", 64)), "i64"))
    else:
        raise Unallocated
