"""FEAT_SHA512 (SHA512H, SHA512H2, SHA512SU0, SHA512SU1) and FEAT_SHA3 (EOR3, BCAX, RAX1,
XAR): 64-bit lane arithmetic on the two halves of a Q register, as the Arm ARM's pseudocode
describes them. Checked against Unicorn's "max" CPU model (tests/test_isa_crypto_ext.py).
"""

from __future__ import annotations

from translator.ir import Builder, Val, const
from translator.isa.registry import bits, insn
from translator.lift_context import LiftContext

I64 = "i64"


def _halves(ctx: LiftContext, n: int) -> tuple[Val, Val]:
    """(low, high) 64-bit halves of Vn."""
    b = ctx.b
    v = ctx.vreg(n)
    return (b.trunc(v, I64), b.trunc(b.lshr(v, const("i128", 64)), I64))


def _join(ctx: LiftContext, lo: Val, hi: Val) -> Val:
    b = ctx.b
    return b.or_(b.zext(lo, "i128"), b.shl(b.zext(hi, "i128"), const("i128", 64)))


def _ror(b: Builder, x: Val, n: int) -> Val:
    return b.intrinsic("llvm.fshr.i64", I64, [x, x, const(I64, n)])


def _sigma(b: Builder, x: Val, r1: int, r2: int, r3: int, shift: bool = False) -> Val:
    """ROR(x, r1) ^ ROR(x, r2) ^ (ROR or LSR)(x, r3)."""
    third = b.lshr(x, const(I64, r3)) if shift else _ror(b, x, r3)
    return b.xor(b.xor(_ror(b, x, r1), _ror(b, x, r2)), third)


@insn("11001110 011 xxxxx 1000 xx xxxxx xxxxx", name="SHA512H/H2/SU1, RAX1")
def sha512_3reg(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    rm, op, rn, rd = bits(w, 20, 16), bits(w, 11, 10), bits(w, 9, 5), bits(w, 4, 0)
    x0, x1 = _halves(ctx, rn)
    y0, y1 = _halves(ctx, rm)
    w0, w1 = _halves(ctx, rd)
    if op == 0:  # SHA512H
        hi = b.xor(b.and_(y1, x0), b.and_(b.not_(y1), x1))
        hi = b.add(b.add(hi, _sigma(b, y1, 14, 18, 41)), w1)
        tmp = b.add(hi, y0)
        lo = b.xor(b.and_(tmp, y1), b.and_(b.not_(tmp), x0))
        lo = b.add(b.add(lo, _sigma(b, tmp, 14, 18, 41)), w0)
    elif op == 1:  # SHA512H2
        hi = b.xor(b.xor(b.and_(x0, y1), b.and_(x0, y0)), b.and_(y1, y0))
        hi = b.add(b.add(hi, _sigma(b, y0, 28, 34, 39)), w1)
        lo = b.xor(b.xor(b.and_(hi, y0), b.and_(hi, y1)), b.and_(y1, y0))
        lo = b.add(b.add(lo, _sigma(b, hi, 28, 34, 39)), w0)
    elif op == 2:  # SHA512SU1
        hi = b.add(b.add(w1, _sigma(b, x1, 19, 61, 6, shift=True)), y1)
        lo = b.add(b.add(w0, _sigma(b, x0, 19, 61, 6, shift=True)), y0)
    else:  # RAX1: Vn ^ ROL(Vm, 1) per lane
        lo = b.xor(x0, _ror(b, y0, 63))
        hi = b.xor(x1, _ror(b, y1, 63))
    ctx.set_vreg(rd, _join(ctx, lo, hi))


@insn("11001110 110 00000 100000 xxxxx xxxxx", name="SHA512SU0")
def sha512su0(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    w0, w1 = _halves(ctx, rd)
    x0, _ = _halves(ctx, rn)
    lo = b.add(w0, _sigma(b, w1, 1, 8, 7, shift=True))
    hi = b.add(w1, _sigma(b, x0, 1, 8, 7, shift=True))
    ctx.set_vreg(rd, _join(ctx, lo, hi))


@insn("11001110 0 0x xxxxx 0 xxxxx xxxxx xxxxx", name="EOR3/BCAX")
def eor3_bcax(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    n, m, a = ctx.vreg(bits(w, 9, 5)), ctx.vreg(bits(w, 20, 16)), ctx.vreg(bits(w, 14, 10))
    if bits(w, 22, 21) == 0:  # EOR3: Vn ^ Vm ^ Va
        r = b.xor(b.xor(n, m), a)
    else:  # BCAX: Vn ^ (Vm & ~Va)
        r = b.xor(n, b.and_(m, b.not_(a)))
    ctx.set_vreg(bits(w, 4, 0), r)


@insn("11001110 100 xxxxx xxxxxx xxxxx xxxxx", name="XAR")
def xar(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    imm = bits(w, 15, 10)
    x0, x1 = _halves(ctx, bits(w, 9, 5))
    y0, y1 = _halves(ctx, bits(w, 20, 16))
    ctx.set_vreg(bits(w, 4, 0), _join(ctx, _ror(b, b.xor(x0, y0), imm),
                                      _ror(b, b.xor(x1, y1), imm)))
