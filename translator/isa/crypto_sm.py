"""FEAT_SM3 (SM3SS1, SM3TT1A/1B, SM3TT2A/2B, SM3PARTW1/2) and FEAT_SM4 (SM4E, SM4EKEY): the
Chinese national hash and block cipher steps, on the four 32-bit lanes of a Q register, as the
Arm ARM pseudocode describes them. x86 has no counterpart (its SM3/SM4 instructions are
AVX10-era and split the work differently), so these are plain i32 rotates, xors and adds, and
SM4's byte substitution is a table lookup.

The SM4 S-box is generated rather than transcribed, the same way crypto.py builds AES's:
S(x) = A * inv(A * x + 0xD3) + 0xD3 over GF(2^8) mod x^8+x^7+x^6+x^5+x^4+x^2+1, where A is the
circulant bit matrix whose first row (most significant bit first) is 0xD3 and each further
row is the one before rotated right by one. tests/test_isa_ext2.py checks all 256 entries
through SM4E against Unicorn's "max" CPU model.
"""

from __future__ import annotations

import functools

from translator.ir import Builder, Val, const
from translator.isa.crypto import const_table, gf_inverses, table_lookup
from translator.isa.registry import bits, insn
from translator.lift_context import LiftContext, Unallocated

I32 = "i32"
V4 = "<4 x i32>"


# ---------------------------------------------------------------------------- SM4 S-box
def _gf_mul(a: int, c: int) -> int:
    r = 0
    while c:
        if c & 1:
            r ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x1F5
        c >>= 1
    return r


def _affine(x: int) -> int:
    out = 0
    for i in range(8):
        row = ((0xD3 >> i) | (0xD3 << (8 - i))) & 0xFF
        out |= (bin(row & x).count("1") & 1) << (7 - i)
    return out ^ 0xD3


def _sm4_sbox() -> list[int]:
    inv = gf_inverses(_gf_mul)
    return [_affine(inv[_affine(x)]) for x in range(256)]


@functools.cache
def sm4_sbox() -> list[int]:
    """The SM4 S-box, built on first use (~5 ms that every run that lifts paid at import)."""
    return _sm4_sbox()


# ---------------------------------------------------------------------------- helpers
def _lanes(ctx: LiftContext, n: int) -> list[Val]:
    """The four 32-bit elements of Vn, element 0 (bits 31:0) first."""
    v = ctx.vreg_as(n, V4)
    return [ctx.b.extractelement(v, i) for i in range(4)]


def _store(ctx: LiftContext, d: int, lanes: list[Val]) -> None:
    out = Val("poison", V4)
    for i, x in enumerate(lanes):
        out = ctx.b.insertelement(out, x, i)
    ctx.set_vreg(d, out)


def _rol(b: Builder, x: Val, n: int) -> Val:
    return b.intrinsic("llvm.fshl.i32", I32, [x, x, const(I32, n)])


def _xor(b: Builder, *xs: Val) -> Val:
    out = xs[0]
    for x in xs[1:]:
        out = b.xor(out, x)
    return out


def _add(b: Builder, *xs: Val) -> Val:
    out = xs[0]
    for x in xs[1:]:
        out = b.add(out, x)
    return out


# ---------------------------------------------------------------------------- SM3
@insn("11001110 010 xxxxx 0 xxxxx xxxxx xxxxx", name="SM3SS1")
def sm3ss1(ctx: LiftContext, w: int) -> None:
    """Vd<127:96> = ROL(ROL(Vn<127:96>, 12) + Vm<127:96> + Va<127:96>, 7); the rest zero."""
    b = ctx.b
    n, m, a = (ctx.vreg_as(r, V4) for r in (bits(w, 9, 5), bits(w, 20, 16), bits(w, 14, 10)))
    top = _rol(b, _add(b, _rol(b, b.extractelement(n, 3), 12), b.extractelement(m, 3),
                       b.extractelement(a, 3)), 7)
    z = const(I32, 0)
    _store(ctx, bits(w, 4, 0), [z, z, z, top])


@insn("11001110 010 xxxxx 10 xx xx xxxxx xxxxx", name="SM3TT1A/1B/2A/2B")
def sm3tt(ctx: LiftContext, w: int) -> None:
    """One SM3 compression round on Vd (the state), with SS1 from Vn<127:96> and Wj = Vm[imm2].

    TT1 (A forms: parity; B forms: majority) feeds the new top word directly; TT2 (A: parity,
    B: choose) goes through the permutation P0 = x ^ ROL(x, 9) ^ ROL(x, 17).
    """
    b = ctx.b
    imm2, op = bits(w, 13, 12), bits(w, 11, 10)
    rd = bits(w, 4, 0)
    d = _lanes(ctx, rd)
    sn = _lanes(ctx, bits(w, 9, 5))[3]
    wj = _lanes(ctx, bits(w, 20, 16))[imm2]
    if op == 0 or op == 2:  # parity
        f = _xor(b, d[1], d[3], d[2])
    elif op == 1:  # majority
        f = b.or_(b.or_(b.and_(d[3], d[1]), b.and_(d[3], d[2])), b.and_(d[1], d[2]))
    else:  # choose
        f = b.or_(b.and_(d[3], d[2]), b.and_(b.not_(d[3]), d[1]))
    if op < 2:  # SM3TT1A/1B
        ss2 = b.xor(sn, _rol(b, d[3], 12))
        top = _add(b, f, d[0], ss2, wj)
        rot = 9
    else:  # SM3TT2A/2B
        t = _add(b, f, d[0], sn, wj)
        top = _xor(b, t, _rol(b, t, 9), _rol(b, t, 17))
        rot = 19
    _store(ctx, rd, [d[1], _rol(b, d[2], rot), d[3], top])


def _p1(b: Builder, x: Val) -> Val:
    """SM3's message-expansion permutation P1(x) = x ^ ROL(x, 15) ^ ROL(x, 23)."""
    return _xor(b, x, _rol(b, x, 15), _rol(b, x, 23))


@insn("11001110 011 xxxxx 1100 0x xxxxx xxxxx", name="SM3PARTW1/2")
def sm3partw(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    rd = bits(w, 4, 0)
    d, n, m = _lanes(ctx, rd), _lanes(ctx, bits(w, 9, 5)), _lanes(ctx, bits(w, 20, 16))
    if bits(w, 11, 10) == 0:  # SM3PARTW1
        r = [_xor(b, d[i], n[i], _rol(b, m[i + 1], 15)) for i in range(3)]
        r = [_p1(b, x) for x in r]
        top = _xor(b, d[3], n[3], _rol(b, r[0], 15))
        _store(ctx, rd, [*r, _p1(b, top)])
    else:  # SM3PARTW2
        t = [b.xor(n[i], _rol(b, m[i], 7)) for i in range(4)]
        r = [b.xor(d[i], t[i]) for i in range(4)]
        t2 = _rol(b, t[0], 15)
        r[3] = b.xor(r[3], _p1(b, t2))
        _store(ctx, rd, r)


# ---------------------------------------------------------------------------- SM4
def _sm4_rounds(ctx: LiftContext, state: list[Val], keys: list[Val], rots: tuple[int, ...]) -> \
        list[Val]:
    """Four SM4 rounds: X4 = X0 ^ L(S(X1 ^ X2 ^ X3 ^ K)), with L the xor of rotations `rots`."""
    b = ctx.b
    sym = const_table(b, "sm4_sbox", sm4_sbox())
    x = list(state)
    for k in keys:
        t = _xor(b, x[3], x[2], x[1], k)
        t = b.bitcast(table_lookup(b, sym, 256, b.bitcast(t, "<4 x i8>")), I32)
        t = _xor(b, t, *(_rol(b, t, r) for r in rots))
        x = [x[1], x[2], x[3], b.xor(t, x[0])]
    return x


@insn("11001110 110 00000 1000 01 xxxxx xxxxx", name="SM4E")
def sm4e(ctx: LiftContext, w: int) -> None:
    rd = bits(w, 4, 0)
    r = _sm4_rounds(ctx, _lanes(ctx, rd), _lanes(ctx, bits(w, 9, 5)), (2, 10, 18, 24))
    _store(ctx, rd, r)


@insn("11001110 011 xxxxx 1100 1x xxxxx xxxxx", name="SM4EKEY")
def sm4ekey(ctx: LiftContext, w: int) -> None:
    if bits(w, 11, 10) != 2:
        raise Unallocated
    r = _sm4_rounds(ctx, _lanes(ctx, bits(w, 9, 5)), _lanes(ctx, bits(w, 20, 16)), (13, 23))
    _store(ctx, bits(w, 4, 0), r)
