"""Cryptographic extension: AESE/AESD/AESMC/AESIMC, SHA1*, SHA256*, and PMULL/PMULL2 (1Q).

AES: both the Arm and the x86 AES instructions hold the AES state as 16 bytes in FIPS-197
column-major order (byte 4c+r is row r of column c), so the x86 AES-NI instructions apply
directly, with these identities (SubBytes and ShiftRows commute):
  AESE  d, n = SubBytes(ShiftRows(d ^ n))          = aesenclast(d ^ n, 0)
  AESD  d, n = InvSubBytes(InvShiftRows(d ^ n))    = aesdeclast(d ^ n, 0)
  AESMC d    = MixColumns(d)                       = aesenc(aesdeclast(d, 0), 0)
  AESIMC d   = InvMixColumns(d)                    = aesimc(d)
A host without AES-NI gets portable IR instead: S-box table lookups, byte shuffles for
ShiftRows and xtime arithmetic for MixColumns. PMULL{2} .1Q (64x64 -> 128 carry-less
multiply) is one pclmulqdq where the host has it, else 64 shift/mask/xor steps. The choice is
made per process from the host CPU the JIT targets (the JIT already emits host-specific code).

SHA1 and SHA256 follow the Arm ARM pseudocode (SHA1C/P/M, SHA1H, SHA1SU0/1, SHA256H/H2,
SHA256SU0/1) on 32-bit lanes; x86's SHA-NI instructions split the rounds differently, so
they are not used.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from translator.ir import Builder, Val, const
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import vconst
from translator.lift_context import LiftContext, Unallocated

I32 = "i32"
V16 = "<16 x i8>"
V2 = "<2 x i64>"
V4 = "<4 x i32>"


@functools.cache
def host_features() -> frozenset[str]:
    """The host CPU's LLVM feature names that are enabled ("aes", "pclmul", ...)."""
    import llvmlite.binding as llvm

    try:
        flat = llvm.get_host_cpu_features().flatten()
    except RuntimeError:
        return frozenset()
    return frozenset(f[1:] for f in flat.split(",") if f.startswith("+"))


# Overridable (tests exercise the portable IR on an AES-NI host by clearing these).
USE_AESNI: bool | None = None
USE_PCLMUL: bool | None = None


def _use(flag: bool | None, feature: str) -> bool:
    return feature in host_features() if flag is None else flag


# ---------------------------------------------------------------------------- AES tables
def _gmul(a: int, c: int) -> int:
    r = 0
    while c:
        if c & 1:
            r ^= a
        a = ((a << 1) ^ (0x1B if a & 0x80 else 0)) & 0xFF
        c >>= 1
    return r


def gf_inverses(mul: Callable[[int, int], int]) -> list[int]:
    """x -> its multiplicative inverse in the GF(2^8) that `mul` multiplies in (0 -> 0).

    Why through a generator's powers: inv(g^k) = g^(255-k), so one pass over the 255 powers
    gives every inverse. Searching each inverse by trial took ~90 ms of start-up per field,
    paid by every run that lifts anything (the module is imported with the other families)."""
    for g in range(2, 256):
        powers = [1]
        for _ in range(254):
            powers.append(mul(powers[-1], g))
        if len(set(powers)) == 255:
            break
    log = {v: k for k, v in enumerate(powers)}
    return [0] + [powers[-log[x] % 255] for x in range(1, 256)]


def _sbox() -> list[int]:
    """FIPS-197 S-box: multiplicative inverse in GF(2^8) followed by the affine transform."""
    out = []
    for inv in gf_inverses(_gmul):
        s = inv
        for k in range(1, 5):
            s ^= ((inv << k) | (inv >> (8 - k))) & 0xFF
        out.append(s ^ 0x63)
    return out


@functools.cache
def aes_tables() -> tuple[list[int], list[int]]:
    """(S-box, inverse S-box), built on first use rather than by every run that lifts."""
    sbox = _sbox()
    return sbox, sorted(range(256), key=sbox.__getitem__)


def const_table(b: Builder, name: str, values: list[int], elt: str = "i8") -> str:
    """A module-level constant table (emitted once per module); returns its symbol."""
    sym = f"@elfjit.{name}"
    body = ", ".join(f"{elt} {v}" for v in values)
    b.module.declare(sym, f"{sym} = internal unnamed_addr constant [{len(values)} x {elt}] "
                          f"[{body}], align 16")
    return sym


def table_lookup(b: Builder, sym: str, size: int, idx: Val, elt: str = "i8") -> Val:
    """Per-lane lookup table[idx] (idx a vector of in-range indices) as a vector of `elt`."""
    lanes = int(idx.ty[1:].split(" x ")[0])
    out = Val("poison", f"<{lanes} x {elt}>")
    for i in range(lanes):
        k = b.zext(b.extractelement(idx, i), "i64")
        p = b._def("ptr", f"getelementptr inbounds [{size} x {elt}], ptr {sym}, i64 0, "
                          f"i64 {k.ref}")
        out = b.insertelement(out, b.load(elt, p, align=1), i)
    return out


_SHIFT_ROWS = [r + 4 * ((c + r) % 4) for c in range(4) for r in range(4)]
_INV_SHIFT_ROWS = [r + 4 * ((c - r) % 4) for c in range(4) for r in range(4)]


def _byte_perm(b: Builder, v: Val, idx: list[int]) -> Val:
    """out[i] = v[idx[i]] for the 16 state bytes."""
    return b.shufflevector(v, Val("poison", V16), idx)


def _rot_cols(b: Builder, v: Val, k: int) -> Val:
    """out[4c + r] = v[4c + (r + k) % 4]: rotate every column up by k rows."""
    return b.shufflevector(v, Val("poison", V16), [4 * c + (r + k) % 4
                                                   for c in range(4) for r in range(4)])


def _xtime(b: Builder, v: Val) -> Val:
    """Multiplication by x (0x02) in GF(2^8), lane-wise."""
    carry = b.ashr(v, vconst(V16, 7))  # 0xFF where the top bit was set
    return b.xor(b.shl(v, vconst(V16, 1)), b.and_(carry, vconst(V16, 0x1B)))


def _mix_columns(b: Builder, a: Val) -> Val:
    # out[r] = 2a[r] ^ 3a[r+1] ^ a[r+2] ^ a[r+3] = xt(a[r] ^ a[r+1]) ^ a[r+1] ^ a[r+2] ^ a[r+3]
    r1, r2, r3 = (_rot_cols(b, a, k) for k in (1, 2, 3))
    return b.xor(b.xor(_xtime(b, b.xor(a, r1)), r1), b.xor(r2, r3))


def _inv_mix_columns(b: Builder, a: Val) -> Val:
    # InvMixColumns = MixColumns after a[r] ^= 4(a[r] ^ a[r+2]) (the {04} pre-step).
    t = _xtime(b, _xtime(b, b.xor(a, _rot_cols(b, a, 2))))
    return _mix_columns(b, b.xor(a, t))


def _aesni(b: Builder, name: str, *args: Val) -> Val:
    return b.intrinsic(f"llvm.x86.aesni.{name}", V2, list(args))


@insn("01001110 00 10100 001xx 10 xxxxx xxxxx", name="AES")
def aes(ctx: LiftContext, w: int) -> None:
    op, rn, rd = bits(w, 13, 12), bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    if op < 2:  # AESE / AESD: round key xor, then (Inv)ShiftRows and (Inv)SubBytes
        state = b.xor(ctx.vreg(rd), ctx.vreg(rn))
    else:
        state = ctx.vreg(rn)
    if _use(USE_AESNI, "aes"):
        s = b.bitcast(state, V2)
        z = Val("zeroinitializer", V2)
        if op == 0:
            r = _aesni(b, "aesenclast", s, z)
        elif op == 1:
            r = _aesni(b, "aesdeclast", s, z)
        elif op == 2:
            r = _aesni(b, "aesenc", _aesni(b, "aesdeclast", s, z), z)
        else:
            r = _aesni(b, "aesimc", s)
        ctx.set_vreg(rd, r)
        return
    s = b.bitcast(state, V16)
    if op == 0:
        r = table_lookup(b, const_table(b, "aes_sbox", aes_tables()[0]), 256,
                         _byte_perm(b, s, _SHIFT_ROWS))
    elif op == 1:
        r = table_lookup(b, const_table(b, "aes_inv_sbox", aes_tables()[1]), 256,
                         _byte_perm(b, s, _INV_SHIFT_ROWS))
    elif op == 2:
        r = _mix_columns(b, s)
    else:
        r = _inv_mix_columns(b, s)
    ctx.set_vreg(rd, r)


# ---------------------------------------------------------------------------- PMULL .1Q
def clmul64(b: Builder, x: Val, y: Val) -> Val:
    """Portable 64x64 -> 128 carry-less product of two i64 values, as i128."""
    wx = b.zext(x, "i128")
    acc = const("i128", 0)
    for i in range(64):
        sel = b.sub(const("i128", 0), b.and_(b.lshr(b.zext(y, "i128"), const("i128", i)),
                                             const("i128", 1)))
        acc = b.xor(acc, b.and_(b.shl(wx, const("i128", i)), sel))
    return acc


@insn("0x001110 11 1 xxxxx 111000 xxxxx xxxxx", name="PMULL/PMULL2 (1Q)")
def pmull_1q(ctx: LiftContext, w: int) -> None:
    q, rm, rn, rd = bit(w, 30), bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    a, c = ctx.vreg_as(rn, V2), ctx.vreg_as(rm, V2)
    if _use(USE_PCLMUL, "pclmul"):
        r = b.intrinsic("llvm.x86.pclmulqdq", V2, [a, c, const("i8", 0x11 if q else 0)])
        ctx.set_vreg(rd, r)
        return
    ctx.set_vreg(rd, clmul64(b, b.extractelement(a, q), b.extractelement(c, q)))


# ---------------------------------------------------------------------------- SHA
def _lanes(b: Builder, v: Val) -> list[Val]:
    return [b.extractelement(v, i) for i in range(4)]


def _vec(b: Builder, lanes: list[Val]) -> Val:
    out = Val("poison", V4)
    for i, x in enumerate(lanes):
        out = b.insertelement(out, x, i)
    return out


def _rol(b: Builder, x: Val, n: int) -> Val:
    return b.intrinsic("llvm.fshl.i32", I32, [x, x, const(I32, n)])


def _ror(b: Builder, x: Val, n: int) -> Val:
    return b.intrinsic("llvm.fshr.i32", I32, [x, x, const(I32, n)])


def _choose(b: Builder, x: Val, y: Val, z: Val) -> Val:
    return b.xor(b.and_(b.xor(y, z), x), z)


def _parity(b: Builder, x: Val, y: Val, z: Val) -> Val:
    return b.xor(b.xor(x, y), z)


def _majority(b: Builder, x: Val, y: Val, z: Val) -> Val:
    return b.or_(b.and_(x, y), b.and_(b.or_(x, y), z))


Sha1Fn = Callable[[Builder, Val, Val, Val], Val]


def _sha1_hash(b: Builder, x: list[Val], y: Val, wv: list[Val], fn: Sha1Fn) -> list[Val]:
    """SHA1C/P/M: four rounds on X (lanes), Y (32-bit) and the schedule words W."""
    for e in range(4):
        t = fn(b, x[1], x[2], x[3])
        y = b.add(b.add(b.add(y, _rol(b, x[0], 5)), t), wv[e])
        x1 = _rol(b, x[1], 30)
        x, y = [y, x[0], x1, x[2]], x[3]  # <Y, X> = ROL(Y:X, 32)
    return x


def _sha256_hash(b: Builder, x: list[Val], y: list[Val], wv: list[Val],
                 part1: bool) -> list[Val]:
    for e in range(4):
        chs = _choose(b, y[0], y[1], y[2])
        maj = _majority(b, x[0], x[1], x[2])
        s1 = b.xor(b.xor(_ror(b, y[0], 6), _ror(b, y[0], 11)), _ror(b, y[0], 25))
        t = b.add(b.add(b.add(y[3], s1), chs), wv[e])
        x3 = b.add(t, x[3])
        s0 = b.xor(b.xor(_ror(b, x[0], 2), _ror(b, x[0], 13)), _ror(b, x[0], 22))
        y3 = b.add(b.add(t, s0), maj)
        # <Y, X> = ROL(Y:X, 32) on the 256-bit concatenation
        x, y = [y3, x[0], x[1], x[2]], [x3, y[0], y[1], y[2]]
    return x if part1 else y


def _sigma_small(b: Builder, x: Val, r1: int, r2: int, s: int) -> Val:
    return b.xor(b.xor(_ror(b, x, r1), _ror(b, x, r2)), b.lshr(x, const(I32, s)))


@insn("01011110 000 xxxxx 0 xxx 00 xxxxx xxxxx", name="SHA three-register")
def sha3reg(ctx: LiftContext, w: int) -> None:
    rm, opc, rn, rd = bits(w, 20, 16), bits(w, 14, 12), bits(w, 9, 5), bits(w, 4, 0)
    if opc == 7:
        raise Unallocated
    b = ctx.b
    d = _lanes(b, ctx.vreg_as(rd, V4))
    m = _lanes(b, ctx.vreg_as(rm, V4))
    if opc < 3:  # SHA1C/SHA1P/SHA1M Qd, Sn, Vm.4S
        fn: Sha1Fn = (_choose, _parity, _majority)[opc]
        r = _sha1_hash(b, d, ctx.vreg_as(rn, I32), m, fn)
    elif opc == 3:  # SHA1SU0: (Vn<63:0> : Vd<127:64>) ^ Vd ^ Vm
        n = _lanes(b, ctx.vreg_as(rn, V4))
        r = [b.xor(b.xor(t, dd), mm) for t, dd, mm in zip([d[2], d[3], n[0], n[1]], d, m)]
    elif opc in (4, 5):  # SHA256H / SHA256H2
        n = _lanes(b, ctx.vreg_as(rn, V4))
        r = _sha256_hash(b, d, n, m, True) if opc == 4 else _sha256_hash(b, n, d, m, False)
    else:  # SHA256SU1
        n = _lanes(b, ctx.vreg_as(rn, V4))
        t0 = [n[1], n[2], n[3], m[0]]
        r = []
        t1 = [m[2], m[3]]
        for e in range(4):
            src = t1[e] if e < 2 else r[e - 2]
            r.append(b.add(b.add(_sigma_small(b, src, 17, 19, 10), d[e]), t0[e]))
    ctx.set_vreg(rd, _vec(b, r))


@insn("01011110 00 10100 000xx 10 xxxxx xxxxx", name="SHA two-register")
def sha2reg(ctx: LiftContext, w: int) -> None:
    opc, rn, rd = bits(w, 16, 12), bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    if opc == 0:  # SHA1H Sd, Sn
        ctx.set_vreg(rd, _rol(b, ctx.vreg_as(rn, I32), 30))
        return
    if opc > 2:
        raise Unallocated
    d = _lanes(b, ctx.vreg_as(rd, V4))
    n = _lanes(b, ctx.vreg_as(rn, V4))
    if opc == 1:  # SHA1SU1
        t = [b.xor(dd, nn) for dd, nn in zip(d, [n[1], n[2], n[3], const(I32, 0)])]
        r = [_rol(b, x, 1) for x in t]
        r[3] = b.xor(r[3], _rol(b, t[0], 2))
    else:  # SHA256SU0
        t = [d[1], d[2], d[3], n[0]]
        r = [b.add(_sigma_small(b, x, 7, 18, 3), dd) for x, dd in zip(t, d)]
    ctx.set_vreg(rd, _vec(b, r))
