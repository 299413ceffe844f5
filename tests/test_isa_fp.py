"""Differential tests (elfjit vs Unicorn) for scalar floating point: fp_scalar and fp_convert.

Encodings are built from their bit fields (so every register number, type and immediate is
reachable; a few are cross-checked against Keystone). Operands are random bit patterns biased
towards the values where implementations differ: +-0, +-inf, quiet and signaling NaNs with
random payloads and signs, denormals, extreme magnitudes, ties for every rounding, and values
at and around the integer conversion limits. Register upper bits are random so the zeroing of
V[127:width] by scalar writes is checked too. Results must match bit for bit, NaN payloads
included. FPSR is not compared (not modelled, see translator/isa/fp_scalar.py).
"""

from __future__ import annotations

import random
import struct
from typing import Callable

import pytest
from difftest import UNICORN_MAX_CPU, State, assemble, compare, run_elfjit, run_unicorn, words

from translator.disasm import disasm_one

# ------------------------------------------------------------------------------ encoders

S, D, H = 0, 1, 3  # the `type` field


def enc_1src(t: int, opc: int, rn: int, rd: int) -> int:
    return 0x1E204000 | t << 22 | opc << 15 | rn << 5 | rd


def enc_2src(t: int, opc: int, rm: int, rn: int, rd: int) -> int:
    return 0x1E200800 | t << 22 | rm << 16 | opc << 12 | rn << 5 | rd


def enc_3src(t: int, o1: int, o0: int, rm: int, ra: int, rn: int, rd: int) -> int:
    return 0x1F000000 | t << 22 | o1 << 21 | rm << 16 | o0 << 15 | ra << 10 | rn << 5 | rd


def enc_cmp(t: int, rm: int, rn: int, opc2: int) -> int:
    return 0x1E202000 | t << 22 | rm << 16 | rn << 5 | opc2


def enc_ccmp(t: int, rm: int, cond: int, rn: int, op: int, nzcv: int) -> int:
    return 0x1E200400 | t << 22 | rm << 16 | cond << 12 | rn << 5 | op << 4 | nzcv


def enc_csel(t: int, rm: int, cond: int, rn: int, rd: int) -> int:
    return 0x1E200C00 | t << 22 | rm << 16 | cond << 12 | rn << 5 | rd


def enc_imm(t: int, imm8: int, rd: int) -> int:
    return 0x1E201000 | t << 22 | imm8 << 13 | rd


def enc_int(sf: int, t: int, rmode: int, opcode: int, rn: int, rd: int) -> int:
    return sf << 31 | 0x1E200000 | t << 22 | rmode << 19 | opcode << 16 | rn << 5 | rd


def enc_fixed(sf: int, t: int, rmode: int, opcode: int, scale: int, rn: int, rd: int) -> int:
    return sf << 31 | 0x1E000000 | t << 22 | rmode << 19 | opcode << 16 | scale << 10 | rn << 5 | rd


def test_encoders_match_keystone() -> None:
    cases = {
        "fadd d0, d1, d2": enc_2src(D, 2, 2, 1, 0),
        "fnmul s7, s8, s9": enc_2src(S, 8, 9, 8, 7),
        "fsqrt d3, d4": enc_1src(D, 3, 4, 3),
        "frinta s1, s2": enc_1src(S, 0b001100, 2, 1),
        "fcvt s1, d2": enc_1src(D, 0b000100, 2, 1),
        "fcvt h1, d2": enc_1src(D, 0b000111, 2, 1),
        "fnmsub d1, d2, d3, d4": enc_3src(D, 1, 1, 3, 4, 2, 1),
        "fmsub s1, s2, s3, s4": enc_3src(S, 0, 1, 3, 4, 2, 1),
        "fcmpe d5, #0.0": enc_cmp(D, 0, 5, 24),
        "fcmp s5, s6": enc_cmp(S, 6, 5, 0),
        "fccmpe d1, d2, #5, lt": enc_ccmp(D, 2, 11, 1, 1, 5),
        "fcsel s1, s2, s3, hi": enc_csel(S, 3, 8, 2, 1),
        "fmov d1, #-1.25": enc_imm(D, 0xF4, 1),
        "fmov x1, v2.d[1]": enc_int(1, 2, 1, 6, 2, 1),
        "fmov v2.d[1], x1": enc_int(1, 2, 1, 7, 1, 2),
        "fcvtmu w3, d4": enc_int(0, D, 2, 1, 4, 3),
        "fcvtas x3, s4": enc_int(1, S, 0, 4, 4, 3),
        "ucvtf d3, x4": enc_int(1, D, 0, 3, 4, 3),
        "scvtf s3, w4, #5": enc_fixed(0, S, 0, 2, 64 - 5, 4, 3),
        "fcvtzu x3, d4, #64": enc_fixed(1, D, 3, 1, 0, 4, 3),
    }
    for asm, w in cases.items():
        assert assemble(asm) == words(w), asm


# ------------------------------------------------------------------------------ operand values

FMT = {S: ("<f", "<I", 32), D: ("<d", "<Q", 64), H: ("<e", "<H", 16)}
MBITS = {S: 23, D: 52, H: 10}


def fbits(t: int, x: float) -> int:
    """Bit pattern of `x` in format t (rounded to nearest; overflow gives infinity)."""
    f, i, _ = FMT[t]
    try:
        return struct.unpack(i, struct.pack(f, x))[0]
    except (OverflowError, struct.error):
        return fbits(t, float("inf") if x > 0 else float("-inf"))


def fval(t: int, b: int) -> float:
    f, i, _ = FMT[t]
    return struct.unpack(f, struct.pack(i, b))[0]


def nan_bits(rng: random.Random, t: int, quiet: bool) -> int:
    m = MBITS[t]
    width = FMT[t][2]
    exp = ((1 << (width - 1 - m)) - 1) << m
    payload = rng.choice([0, 1, rng.getrandbits(m - 1), (1 << (m - 1)) - 1])
    if not quiet and payload == 0:
        payload = 1
    return rng.getrandbits(1) << (width - 1) | exp | (quiet << (m - 1)) | payload


LIMITS = [2.0**31, 2.0**32, 2.0**63, 2.0**64, 2.0**15, 2.0**16, 1.0]


def interesting(rng: random.Random, t: int) -> int:
    """One operand bit pattern of format t, biased towards the corner cases."""
    width = FMT[t][2]
    m = MBITS[t]
    k = rng.randrange(12)
    if k == 0:
        return rng.choice([0, 1 << (width - 1), fbits(t, float("inf")), fbits(t, float("-inf"))])
    if k == 1:
        return nan_bits(rng, t, quiet=rng.random() < 0.5)
    if k == 2:  # denormal, or the smallest normals
        return rng.getrandbits(1) << (width - 1) | rng.choice(
            [rng.getrandbits(m), 1, (1 << m) - 1, 1 << m, (1 << m) | rng.getrandbits(m)])
    if k == 3:  # any bit pattern at all
        return rng.getrandbits(width)
    if k == 4:  # near the conversion limits, on both sides
        lim = rng.choice(LIMITS) * rng.choice([1, -1, 0.5, -0.5])
        b = fbits(t, lim)
        return (b + rng.randrange(-3, 4)) & ((1 << width) - 1)
    if k == 5:  # halves and ties
        return fbits(t, (rng.randrange(-20, 20) + 0.5) * rng.choice([1, 1, 2.0**-10, 2.0**20]))
    if k == 6:  # small integers
        return fbits(t, float(rng.randrange(-100, 100)))
    if k == 7:  # largest magnitudes
        maxf = ((1 << (width - 1 - m)) - 2) << m | ((1 << m) - 1)
        return rng.getrandbits(1) << (width - 1) | (maxf - rng.randrange(0, 1 << (m - 2)))
    # ordinary values of varied magnitude
    return fbits(t, rng.uniform(-1, 1) * 2.0 ** rng.randrange(-40, 40))


def special(rng: random.Random, t: int) -> int:
    """One of the few values whose pairings matter most: +-0, +-inf, quiet/signaling NaN, +-1."""
    width = FMT[t][2]
    sign = rng.getrandbits(1) << (width - 1)
    return rng.choice([sign, sign | fbits(t, float("inf")), sign | fbits(t, 1.0),
                       nan_bits(rng, t, True), nan_bits(rng, t, False)])


def related(rng: random.Random, t: int, a: int) -> int:
    """A second operand, sometimes equal or opposite to the first (cancellation, ties, +-0),
    and often one of the special values when the first one is special too."""
    width = FMT[t][2]
    r = rng.random()
    mag = a & ~(1 << (width - 1))
    if r < 0.4 and (mag in (0, fbits(t, 1.0)) or mag >= fbits(t, float("inf"))):
        return special(rng, t)
    if r < 0.1:
        return a
    if r < 0.2:
        return a ^ (1 << (width - 1))
    if r < 0.25:
        return (a + rng.choice([-1, 1])) & ((1 << width) - 1)
    return interesting(rng, t)


def put_fp(st: State, rng: random.Random, reg: int, t: int, value: int) -> None:
    """Scalar in the low bits of Vreg; random garbage above (must be ignored / zeroed)."""
    width = FMT[t][2]
    st.v[reg] = (rng.getrandbits(128) & ~((1 << width) - 1)) | value


def interesting_int(rng: random.Random, width: int) -> int:
    k = rng.randrange(6)
    if k == 0:
        return rng.getrandbits(width)
    if k == 1:  # values needing rounding, with exact ties
        p = rng.choice([24, 25, 53, 54])
        v = (1 << p) | rng.getrandbits(p) | 1
        return (v << rng.randrange(0, max(1, width - p - 1))) & ((1 << width) - 1)
    if k == 2:
        return rng.choice([0, 1, (1 << width) - 1, 1 << (width - 1), (1 << (width - 1)) - 1])
    if k == 3:
        return rng.randrange(-1000, 1000) & ((1 << width) - 1)
    if k == 4:
        return (rng.getrandbits(width) >> rng.randrange(width)) & ((1 << width) - 1)
    return ((1 << rng.randrange(width)) + rng.randrange(-2, 3)) & ((1 << width) - 1)


# ------------------------------------------------------------------------------ running


class Regs:
    """The registers one instruction of a batch may use: disjoint pools of 8 V and 8 X
    registers (X pool entries may be 31, i.e. XZR), so the instructions of a batch do not
    disturb each other's operands."""

    def __init__(self, rng: random.Random, vpool: list[int], xpool: list[int]) -> None:
        self.rng, self.vpool, self.xpool = rng, vpool, xpool

    def v(self) -> int:
        return self.rng.choice(self.vpool)

    def x(self) -> int:
        return self.rng.choice(self.xpool)


Gen = Callable[[random.Random, State, Regs], int]
PER_RUN = 4  # instructions per differential run (one JIT + one Unicorn run each)


def check(name: str, n: int, gen: Gen) -> None:
    """Run n random instances of one form, PER_RUN at a time from one random state, and fail
    with the differing instances (each re-run alone to pin it down)."""
    rng = random.Random(f"fp:{name}")
    failures: list[str] = []
    done = 0
    while done < n and len(failures) < 5:
        k = min(PER_RUN, n - done)
        done += k
        st = State.random(rng)
        vperm, xperm = rng.sample(range(32), 32), rng.sample(range(32), 32)
        ws = [gen(rng, st, Regs(rng, vperm[8 * i:8 * i + 8], xperm[8 * i:8 * i + 8]))
              for i in range(k)]
        if not compare(words(*ws), st):
            continue
        alone = [(w, compare(words(w), st)) for w in ws]
        bad = [f"{w:08x} {disasm_one(w)}: {d[:4]}" for w, d in alone if d]
        failures.extend(bad or ["batch " + "; ".join(disasm_one(w) for w in ws)])
    assert not failures, f"{name}:\n" + "\n".join(failures)


# ------------------------------------------------------------------------------ fp_scalar

ARITH = {"FMUL": 0, "FDIV": 1, "FADD": 2, "FSUB": 3, "FMAX": 4, "FMIN": 5, "FMAXNM": 6,
         "FMINNM": 7, "FNMUL": 8}


@pytest.mark.parametrize("t", [S, D], ids=["S", "D"])
@pytest.mark.parametrize("op", list(ARITH))
def test_2src(op: str, t: int) -> None:
    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn, rm, rd = r.v(), r.v(), r.v()
        a = special(rng, t) if rng.random() < 0.2 else interesting(rng, t)
        c = related(rng, t, a)
        if rng.random() < 0.1:  # +-0 with +-0: the FMAX/FMIN sign rule, signs of zero sums
            a, c = (rng.getrandbits(1) << (FMT[t][2] - 1) for _ in range(2))
        put_fp(st, rng, rn, t, a)
        if rm != rn:
            put_fp(st, rng, rm, t, c)
        return enc_2src(t, ARITH[op], rm, rn, rd)

    check(f"{op}-{t}", 150, gen)


ONE_SRC = {"FMOV": 0, "FABS": 1, "FNEG": 2, "FSQRT": 3, "FRINTN": 8, "FRINTP": 9, "FRINTM": 10,
           "FRINTZ": 11, "FRINTA": 12, "FRINTX": 14, "FRINTI": 15}


@pytest.mark.parametrize("t", [S, D], ids=["S", "D"])
@pytest.mark.parametrize("op", list(ONE_SRC))
def test_1src(op: str, t: int) -> None:
    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn, rd = r.v(), r.v()
        put_fp(st, rng, rn, t, interesting(rng, t))
        return enc_1src(t, ONE_SRC[op], rn, rd)

    check(f"{op}-{t}", 60, gen)


@pytest.mark.parametrize("t", [S, D], ids=["S", "D"])
@pytest.mark.parametrize("o1,o0", [(0, 0), (0, 1), (1, 0), (1, 1)],
                         ids=["FMADD", "FMSUB", "FNMADD", "FNMSUB"])
def test_3src(o1: int, o0: int, t: int) -> None:
    width = FMT[t][2]
    inf = fbits(t, float("inf"))

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rm, ra, rn, rd = r.v(), r.v(), r.v(), r.v()
        a = special(rng, t) if rng.random() < 0.2 else interesting(rng, t)
        m = related(rng, t, a)
        acc = related(rng, t, a)
        if rng.random() < 0.15:  # inf * 0 with a NaN (or not) addend: the default-NaN rule
            a, m = rng.sample([inf | rng.getrandbits(1) << (width - 1),
                               rng.getrandbits(1) << (width - 1)], 2)
            acc = nan_bits(rng, t, rng.random() < 0.6) if rng.random() < 0.8 else acc
        elif rng.random() < 0.15:  # exact cancellation: a*m == -acc
            va, vm = fval(t, a), fval(t, m)
            prod = va * vm
            acc = fbits(t, -prod) if prod == prod else acc
        put_fp(st, rng, rn, t, a)
        put_fp(st, rng, rm, t, m)
        put_fp(st, rng, ra, t, acc)
        return enc_3src(t, o1, o0, rm, ra, rn, rd)

    check(f"3src-{o1}{o0}-{t}", 150, gen)


@pytest.mark.parametrize("t", [S, D], ids=["S", "D"])
def test_fcmp(t: int) -> None:
    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn, rm = r.v(), r.v()
        a = special(rng, t) if rng.random() < 0.2 else interesting(rng, t)
        put_fp(st, rng, rn, t, a)
        if rm != rn:
            put_fp(st, rng, rm, t, related(rng, t, a))
        opc2 = rng.choice([0, 8, 16, 24])
        if opc2 & 8:
            rm = 0 if rng.random() < 0.8 else rm  # Rm is should-be-zero for the #0.0 forms
        return enc_cmp(t, rm, rn, opc2)

    check(f"fcmp-{t}", 200, gen)


@pytest.mark.parametrize("t", [S, D], ids=["S", "D"])
def test_fccmp(t: int) -> None:
    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn, rm = r.v(), r.v()
        a = special(rng, t) if rng.random() < 0.2 else interesting(rng, t)
        put_fp(st, rng, rn, t, a)
        if rm != rn:
            put_fp(st, rng, rm, t, related(rng, t, a))
        return enc_ccmp(t, rm, rng.randrange(16), rn, rng.getrandbits(1), rng.randrange(16))

    check(f"fccmp-{t}", 150, gen)


@pytest.mark.parametrize("t", [S, D], ids=["S", "D"])
def test_fcsel(t: int) -> None:
    def gen(rng: random.Random, st: State, r: Regs) -> int:
        return enc_csel(t, r.v(), rng.randrange(16), r.v(), r.v())

    check(f"fcsel-{t}", 100, gen)


@pytest.mark.parametrize("t", [S, D], ids=["S", "D"])
def test_fmov_imm_all(t: int) -> None:
    """Every one of the 256 immediates (VFPExpandImm)."""
    it = iter(range(256))

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        return enc_imm(t, next(it), r.v())

    check(f"fmov-imm-{t}", 256, gen)


FMOV_GENERAL = {  # (sf, type, rmode, opcode)
    "FMOV Wd,Sn": (0, S, 0, 6), "FMOV Sd,Wn": (0, S, 0, 7), "FMOV Xd,Dn": (1, D, 0, 6),
    "FMOV Dd,Xn": (1, D, 0, 7), "FMOV Xd,Vn.D[1]": (1, 2, 1, 6), "FMOV Vd.D[1],Xn": (1, 2, 1, 7),
}


@pytest.mark.parametrize("form", list(FMOV_GENERAL))
def test_fmov_general(form: str) -> None:
    sf, t, rmode, opcode = FMOV_GENERAL[form]

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn = r.x() if opcode == 7 else r.v()
        rd = r.v() if opcode == 7 else r.x()
        return enc_int(sf, t, rmode, opcode, rn, rd)

    check(form, 60, gen)


# ------------------------------------------------------------------------------ fp_convert

FCVT_PAIRS = [(S, D), (D, S), (S, H), (D, H), (H, S), (H, D)]


def half_tie_or_edge(rng: random.Random, t: int) -> int:
    """Values that round interestingly to half: exact ties, overflow edge, denormal range."""
    k = rng.randrange(4)
    if k == 0:
        h = rng.randrange(0, 0x7BFF)
        mid = (fval(H, h) + fval(H, h + 1)) / 2
        return fbits(t, mid * rng.choice([1, -1]))
    if k == 1:
        return fbits(t, rng.choice([65504.0, 65519.99, 65520.0, 65536.0, 2.0**-24, 2.0**-25,
                                    2.0**-25 * 1.0000001, 2.0**-26, 2.0**-14, 6.1e-5])
                     * rng.choice([1, -1]))
    if k == 2:
        return fbits(t, rng.uniform(-1, 1) * 2.0 ** rng.randrange(-27, 17))
    return interesting(rng, t)


def single_tie(rng: random.Random) -> int:
    """A double exactly halfway between two floats (ties-to-even for D -> S)."""
    f = rng.randrange(0, 0x7F7FFFFF)
    return fbits(D, (fval(S, f) + fval(S, f + 1)) / 2 * rng.choice([1, -1]))


@pytest.mark.parametrize("src,dst", FCVT_PAIRS,
                         ids=[f"{'SD?H'[a]}to{'SD?H'[b]}" for a, b in FCVT_PAIRS])
def test_fcvt(src: int, dst: int) -> None:
    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn, rd = r.v(), r.v()
        if dst == H and rng.random() < 0.5:
            v = half_tie_or_edge(rng, src)
        elif (src, dst) == (D, S) and rng.random() < 0.4:
            v = rng.choice([
                single_tie(rng),  # ties, float overflow edge, float denormal range
                fbits(D, rng.choice([3.4028235677973366e38, 3.4028235677973362e38, 2.0**128,
                                     3.4028234663852886e38 * (1 + 2.0**-25)])
                      * rng.choice([1, -1])),
                fbits(D, rng.uniform(-1, 1) * 2.0 ** rng.randrange(-152, -122)),
            ])
        else:
            v = interesting(rng, src)
        put_fp(st, rng, rn, src, v)
        opc = {S: 0, D: 1, H: 3}[dst]
        return enc_1src(src, 0b000100 | opc, rn, rd)

    check(f"fcvt-{src}-{dst}", 250, gen)


TO_INT = {"FCVTNS": (0, 0), "FCVTNU": (0, 1), "FCVTPS": (1, 0), "FCVTPU": (1, 1),
          "FCVTMS": (2, 0), "FCVTMU": (2, 1), "FCVTZS": (3, 0), "FCVTZU": (3, 1),
          "FCVTAS": (0, 4), "FCVTAU": (0, 5)}


@pytest.mark.parametrize("sf", [0, 1], ids=["W", "X"])
@pytest.mark.parametrize("t", [S, D], ids=["S", "D"])
@pytest.mark.parametrize("op", list(TO_INT))
def test_fp_to_int(op: str, t: int, sf: int) -> None:
    rmode, opcode = TO_INT[op]

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn = r.v()
        if rng.random() < 0.4:  # right at the limits of the destination
            lim = 2.0 ** (32 * (sf + 1) - (opcode in (0, 4)))
            x = rng.choice([lim, -lim, 2 * lim, lim / 2, -2 * lim]) + rng.choice(
                [0, -0.5, 0.5, -1, 1, -1.5, 0.49, -0.51])
            v = (fbits(t, x) + rng.randrange(-2, 3)) & ((1 << FMT[t][2]) - 1)
        else:
            v = interesting(rng, t)
        put_fp(st, rng, rn, t, v)
        return enc_int(sf, t, rmode, opcode, rn, r.x())

    check(f"{op}-{t}-{sf}", 70, gen)


@pytest.mark.parametrize("sf", [0, 1], ids=["W", "X"])
@pytest.mark.parametrize("t", [S, D], ids=["S", "D"])
@pytest.mark.parametrize("op", ["SCVTF", "UCVTF"])
def test_int_to_fp(op: str, t: int, sf: int) -> None:
    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn = r.x()
        if rn != 31:
            high = 0 if sf else rng.getrandbits(32) << 32  # Wn ignores the upper half
            st.x[rn] = interesting_int(rng, 64 if sf else 32) | high
        return enc_int(sf, t, 0, 2 if op == "SCVTF" else 3, rn, r.v())

    check(f"{op}-{t}-{sf}", 100, gen)


@pytest.mark.parametrize("sf", [0, 1], ids=["W", "X"])
@pytest.mark.parametrize("t", [S, D], ids=["S", "D"])
@pytest.mark.parametrize("op", ["FCVTZS", "FCVTZU", "SCVTF", "UCVTF"])
def test_fixed_point(op: str, t: int, sf: int) -> None:
    rmode, opcode = {"FCVTZS": (3, 0), "FCVTZU": (3, 1), "SCVTF": (0, 2), "UCVTF": (0, 3)}[op]
    width = 64 if sf else 32

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn = r.x() if rmode == 0 else r.v()
        fb = rng.choice([1, width, rng.randrange(1, width + 1)])
        if rmode == 3:
            if rng.random() < 0.4:
                x = 2.0 ** (width - (opcode == 0) - fb) * rng.choice([1, -1, 0.5, 2]) + rng.choice(
                    [0, 2.0**-fb, -(2.0**-fb), 2.0 ** -(fb + 1)])
                v = (fbits(t, x) + rng.randrange(-2, 3)) & ((1 << FMT[t][2]) - 1)
            else:
                v = interesting(rng, t)
            put_fp(st, rng, rn, t, v)
        elif rn != 31:
            st.x[rn] = interesting_int(rng, width) | (0 if sf else rng.getrandbits(32) << 32)
        return enc_fixed(sf, t, rmode, opcode, 64 - fb, rn, r.v() if rmode == 0 else r.x())

    check(f"fixed-{op}-{t}-{sf}", 70, gen)


# ------------------------------------------------------------------------------ sequences


def test_sequences() -> None:
    """Short mixed sequences (compare then select, dependent FMAs, round trips)."""
    snippets = [
        "fcmp d1, d2\nfcsel d0, d1, d2, mi\nfccmp s3, s4, #2, vs\nfcsel s5, s3, s4, gt",
        "fmadd d0, d1, d2, d3\nfmadd d0, d0, d2, d3\nfnmsub d4, d0, d0, d1\nfmax d5, d4, d0",
        "fcvt s0, d1\nfcvt d2, s0\nfcvt h3, d2\nfcvt d4, h3\nfcvtzs x5, d4\nscvtf s6, x5",
        "fmov x0, d1\nfmov v2.d[1], x0\nfmov x3, v2.d[1]\nfmov s4, w3\nfmov d5, #0.125",
        "fdiv s0, s1, s2\nfsqrt s0, s0\nfrintx s3, s0\nfcvtau w4, s3\nucvtf d6, w4, #3",
    ]
    rng = random.Random("fp:sequences")
    for code in snippets:
        for _ in range(20):
            st = State.random(rng)
            for r in range(1, 5):
                t = rng.choice([S, D])
                put_fp(st, rng, r, t, interesting(rng, t))
            assert compare(code, st) == [], code


# ------------------------------------------------------------------------------ unallocated


UNDEF = {
    "FP16 1src opc=000110": enc_1src(H, 0b000110, 1, 2),
    "FP16 FMOV Hd,Wn rmode=01": enc_int(0, H, 1, 7, 1, 2),
    "FP16 2src opc=1001": enc_2src(H, 9, 1, 2, 3),
    "FP16 SCVTF fixed W scale<32": enc_fixed(0, H, 0, 2, 20, 1, 2),
    "FSQRT type=10": enc_1src(2, 3, 1, 2),
    "FMOV Wd,Dn": enc_int(0, D, 0, 6, 1, 2),
    "FCVT s,s": enc_1src(S, 0b000100, 1, 2),
    "SCVTF fixed W scale<32": enc_fixed(0, S, 0, 2, 20, 1, 2),
    "2src opc=1001": enc_2src(D, 9, 1, 2, 3),
}


@pytest.mark.parametrize("name", list(UNDEF))
def test_unallocated(name: str) -> None:
    """Encodings we and Unicorn reject (the FP16 ones are unallocated with FEAT_FP16 too;
    the allocated half forms are difftested in test_isa_fp16)."""
    code = words(UNDEF[name])
    st = State.random(random.Random(name))
    assert run_elfjit(code, st)["exit"] == "undefined"
    UNICORN_MAX_CPU[0] = name.startswith("FP16")  # the core that has FEAT_FP16
    try:
        assert str(run_unicorn(code, st)["exit"]).startswith("error")
    finally:
        UNICORN_MAX_CPU[0] = False
