"""Data processing (immediate): add/sub, logical, move wide, PC-relative, bitfield, extract.

Also home of the arithmetic helpers the register forms (dp_reg) share: AddWithCarry with its
NZCV flags, written so LLVM sees plain compares it can fold into the host's flag logic (and
delete when no later instruction reads the flags).
"""

from __future__ import annotations

from translator.ir import Val, const
from translator.isa.registry import bit, bits, insn, sext
from translator.lift_context import I64, LiftContext, Unallocated


def ity(sf: int) -> str:
    """The IR integer type of a 32-bit (sf=0) or 64-bit (sf=1) operation."""
    return "i64" if sf else "i32"


def ones(n: int) -> int:
    return (1 << n) - 1


# ---------------------------------------------------------------------------- AddWithCarry
def add_sub(ctx: LiftContext, x: Val, y: Val, sub: bool, setflags: bool) -> Val:
    """x + y or x - y; with setflags, NZCV exactly as AddWithCarry(x, y or NOT(y), sub)."""
    b = ctx.b
    r = b.sub(x, y) if sub else b.add(x, y)
    if setflags:
        zero = const(x.ty, 0)
        if sub:
            # AddWithCarry(x, NOT(y), 1): carry = no borrow; overflow when the operand signs
            # differ and the result's sign differs from x's.
            c = b.icmp("uge", x, y)
            v = b.icmp("slt", b.and_(b.xor(x, y), b.xor(x, r)), zero)
        else:
            c = b.icmp("ult", r, x)
            v = b.icmp("slt", b.and_(b.xor(x, r), b.xor(y, r)), zero)
        ctx.set_nzcv(b.icmp("slt", r, zero), b.icmp("eq", r, zero), c, v)
        if sub:
            ctx.compared(x, y)
    return r


def add_with_carry(ctx: LiftContext, x: Val, y: Val, cin: Val, setflags: bool) -> Val:
    """AddWithCarry(x, y, cin) for a run-time carry (ADC/SBC; SBC passes NOT(y))."""
    b = ctx.b
    r = b.add(b.add(x, y), b.zext(cin, x.ty))
    if setflags:
        zero = const(x.ty, 0)
        # unsigned overflow: r < x, or r == x with a carry in (y was all ones)
        c = b.select(cin, b.icmp("ule", r, x), b.icmp("ult", r, x))
        v = b.icmp("slt", b.and_(b.xor(x, r), b.xor(y, r)), zero)
        ctx.set_nzcv(b.icmp("slt", r, zero), b.icmp("eq", r, zero), c, v)
    return r


# ---------------------------------------------------------------------------- add/sub imm
@insn("x x x 100010 x xxxxxxxxxxxx xxxxx xxxxx", name="ADD/ADDS/SUB/SUBS (immediate)")
def add_sub_imm(ctx: LiftContext, w: int) -> None:
    sf, op, s = bit(w, 31), bit(w, 30), bit(w, 29)
    imm = bits(w, 21, 10) << (12 * bit(w, 22))
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    x = ctx.regsp(rn, sf)
    r = add_sub(ctx, x, const(x.ty, imm), bool(op), bool(s))
    if s:
        ctx.set_x(rd, r)  # CMP/CMN: Rd = 31 is the zero register
    else:
        ctx.set_xsp(rd, r)


# ---------------------------------------------------------------------------- logical imm
def decode_bit_masks(n: int, imms: int, immr: int, immediate: bool, m: int) -> tuple[int, int]:
    """DecodeBitMasks from the Arm ARM: (wmask, tmask) for an M-bit operation.

    Raises Unallocated for the reserved encodings.
    """
    combined = (n << 6) | (~imms & 0x3F)
    length = combined.bit_length() - 1
    if length < 1:
        raise Unallocated
    levels = ones(length)
    if immediate and (imms & levels) == levels:
        raise Unallocated
    s, r = imms & levels, immr & levels
    esize = 1 << length
    if esize > m:
        raise Unallocated
    d = (s - r) & levels
    welem, telem = ones(s + 1), ones(d + 1)
    welem = ((welem >> r) | (welem << (esize - r))) & ones(esize) if r else welem
    wmask = tmask = 0
    for i in range(0, m, esize):
        wmask |= welem << i
        tmask |= telem << i
    return wmask, tmask


@insn("x xx 100100 x xxxxxx xxxxxx xxxxx xxxxx", name="AND/ORR/EOR/ANDS (immediate)")
def logical_imm(ctx: LiftContext, w: int) -> None:
    sf, opc, n = bit(w, 31), bits(w, 30, 29), bit(w, 22)
    if not sf and n:
        raise Unallocated
    width = 64 if sf else 32
    imm, _ = decode_bit_masks(n, bits(w, 15, 10), bits(w, 21, 16), True, width)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    x = ctx.reg(rn, sf)
    k = const(x.ty, imm)
    if opc == 0:
        ctx.set_xsp(rd, b.and_(x, k))
    elif opc == 1:
        ctx.set_xsp(rd, b.or_(x, k))
    elif opc == 2:
        ctx.set_xsp(rd, b.xor(x, k))
    else:
        r = b.and_(x, k)
        ctx.set_nz(r)
        ctx.set_x(rd, r)


# ---------------------------------------------------------------------------- move wide
@insn("x xx 100101 xx xxxxxxxxxxxxxxxx xxxxx", name="MOVN/MOVZ/MOVK")
def move_wide(ctx: LiftContext, w: int) -> None:
    sf, opc, hw = bit(w, 31), bits(w, 30, 29), bits(w, 22, 21)
    if opc == 1 or (not sf and hw >= 2):
        raise Unallocated
    ty = ity(sf)
    pos = hw * 16
    imm = bits(w, 20, 5) << pos
    rd = bits(w, 4, 0)
    if opc == 0:  # MOVN
        ctx.set_x(rd, const(ty, ~imm))
    elif opc == 2:  # MOVZ
        ctx.set_x(rd, const(ty, imm))
    else:  # MOVK keeps the other halfwords
        b = ctx.b
        old = ctx.reg(rd, sf)
        ctx.set_x(rd, b.or_(b.and_(old, const(ty, ~(0xFFFF << pos))), const(ty, imm)))


# ---------------------------------------------------------------------------- PC-relative
@insn("x xx 10000 xxxxxxxxxxxxxxxxxxx xxxxx", name="ADR/ADRP")
def adr(ctx: LiftContext, w: int) -> None:
    imm = sext((bits(w, 23, 5) << 2) | bits(w, 30, 29), 21)
    if bit(w, 31):
        value = (ctx.pc & ~0xFFF) + (imm << 12)
    else:
        value = ctx.pc + imm
    ctx.set_x(bits(w, 4, 0), const("i64", value))


# ---------------------------------------------------------------------------- bitfield
@insn("x xx 100110 x xxxxxx xxxxxx xxxxx xxxxx", name="SBFM/BFM/UBFM")
def bitfield(ctx: LiftContext, w: int) -> None:
    """SBFM/BFM/UBFM and their aliases (LSL/LSR/ASR, [SU]BFX, [SU]BFIZ, BFI, BFXIL, [SU]XT*).

    With N == sf every (immr, imms) pair is a full-width rotate and field, so the general
    wmask/tmask formula reduces to one of two shapes, emitted directly as shifts and masks.
    """
    sf, opc, n = bit(w, 31), bits(w, 30, 29), bit(w, 22)
    immr, imms = bits(w, 21, 16), bits(w, 15, 10)
    if opc == 3 or n != sf or (not sf and (immr >= 32 or imms >= 32)):
        raise Unallocated
    width = 64 if sf else 32
    ty = ity(sf)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    src = ctx.reg(rn, sf)
    r, s = immr, imms

    def k(v: int) -> Val:
        return const(ty, v)

    if opc == 1:  # BFM: insert a field of src into dst, keeping dst's other bits
        if s >= r:  # BFXIL: src<s:r> -> dst<s-r:0>
            mask = ones(s - r + 1)
            field = b.lshr(src, k(r)) if r else src
        else:  # BFI: src<s:0> -> dst<width-r+s:width-r>
            mask = ones(s + 1) << (width - r)
            field = b.shl(src, k(width - r))
        if mask == ones(width):
            ctx.set_x(rd, field)
            return
        # In 64 bits even for W: LLVM 22's x86 back end compiled the 32-bit form of an 8-
        # or 16-bit insert, zext(or(and(dst, -256), zext(load i8))), to a byte move into
        # dst's 64-bit register and took that for a 32-bit def that cleared the upper
        # half, which it does not (seen where dst came in as an argument: chain_abi).
        dst = ctx.x(rd)
        field = b.zext(field, I64) if not sf else field
        ctx.set_x(rd, b.or_(b.and_(dst, const(I64, ~mask & ones(width))),
                            b.and_(field, const(I64, mask))))
        return
    signed = opc == 0
    if s >= r:  # [SU]BFX: src<s:r> -> bits 0.., extended from bit s-r
        up = width - 1 - s
        t = b.shl(src, k(up)) if up else src
        down = up + r
        if down:
            t = b.ashr(t, k(down)) if signed else b.lshr(t, k(down))
    else:  # [SU]BFIZ / LSL: src<s:0> -> bits width-r.., extended above
        up = width - 1 - s
        t = b.shl(src, k(up))
        down = up - (width - r)  # = r - 1 - s >= 0
        if down:
            t = b.ashr(t, k(down)) if signed else b.lshr(t, k(down))
    ctx.set_x(rd, t)


# ---------------------------------------------------------------------------- extract
@insn("x 00 100111 x 0 xxxxx xxxxxx xxxxx xxxxx", name="EXTR")
def extr(ctx: LiftContext, w: int) -> None:
    """EXTR (and ROR immediate when Rn == Rm): the low half of (Rn:Rm) >> lsb."""
    sf, n, lsb = bit(w, 31), bit(w, 22), bits(w, 15, 10)
    if n != sf or (not sf and lsb >= 32):
        raise Unallocated
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    hi, lo = ctx.reg(rn, sf), ctx.reg(rm, sf)
    if lsb == 0:
        ctx.set_x(rd, lo)
        return
    ty = hi.ty
    ctx.set_x(rd, ctx.b.intrinsic(f"llvm.fshr.{ty}", ty, [hi, lo, const(ty, lsb)]))
