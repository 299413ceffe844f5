"""Differential tests (elfjit vs Unicorn's "max" core) for FEAT_FP16 AdvSIMD (simd_fp16).

Each form runs as .4H and .8H (and as Hd where a scalar form exists), every lane filled from
test_isa_fp16's half operand generator (lanes of the second operand often related to the
first: equal, negated, adjacent, special against special), from random FPCR settings, with
FPSR compared: a vector's flags are the OR of its lanes' flags, and a wrong lane shows up.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

import pytest
from difftest import UNICORN_MAX_CPU, State
from test_isa_fp import H, Regs, related
from test_isa_fp16 import check, operand

from translator.isa.simd_fp16 import _ELEM, _PAIR, _REDUCE, _SCALAR_THREE_SAME, _THREE_SAME


@pytest.fixture(autouse=True)
def unicorn_max() -> Iterator[None]:
    UNICORN_MAX_CPU[0] = True
    yield
    UNICORN_MAX_CPU[0] = False


def enc_three(q: int, u: int, a: int, rm: int, opc: int, rn: int, rd: int) -> int:
    return 0x0E400400 | q << 30 | u << 29 | a << 23 | rm << 16 | opc << 11 | rn << 5 | rd


def enc_misc(q: int, u: int, a: int, opc: int, rn: int, rd: int) -> int:
    return 0x0E780800 | q << 30 | u << 29 | a << 23 | opc << 12 | rn << 5 | rd


def enc_elem(q: int, u: int, idx: int, rm: int, opc: int, rn: int, rd: int) -> int:
    return (0x0F000000 | q << 30 | u << 29 | (idx >> 1 & 1) << 21 | (idx & 1) << 20 | rm << 16
            | opc << 12 | (idx >> 2) << 11 | rn << 5 | rd)


def enc_across(q: int, a: int, opc: int, rn: int, rd: int) -> int:
    return 0x0E300800 | q << 30 | a << 23 | opc << 12 | rn << 5 | rd


SCALAR = 0x50000000  # bits 30 and 28: the scalar variant of three-same / misc / by-element


def put_lanes(st: State, reg: int, lanes: list[int]) -> None:
    st.v[reg] = sum((x & 0xFFFF) << (16 * i) for i, x in enumerate(lanes))


def vec_pair(rng: random.Random) -> tuple[list[int], list[int]]:
    xs = [operand(rng) for _ in range(8)]
    return xs, [related(rng, H, x) for x in xs]


# ------------------------------------------------------------------------------ three same

THREE = {v: k for k, v in _THREE_SAME.items()}


@pytest.mark.parametrize("op", list(THREE))
def test_three_same(op: str) -> None:
    u, a, opc = THREE[op]

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        q = rng.getrandbits(1)  # .4H or .8H: the same lanes code, both arrangements seen
        rn, rm, rd = r.v(), r.v(), r.v()
        xs, ys = vec_pair(rng)
        put_lanes(st, rn, xs)
        if rm != rn:
            put_lanes(st, rm, ys)
        if rd not in (rn, rm) and op in ("fmla", "fmls"):
            put_lanes(st, rd, [related(rng, H, x) for x in xs])
        return enc_three(q, u, a, rm, opc, rn, rd)

    check(f"three-{op}", 32, gen)


@pytest.mark.parametrize("op", sorted(_SCALAR_THREE_SAME))
def test_scalar_three_same(op: str) -> None:
    u, a, opc = THREE[op]

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn, rm, rd = r.v(), r.v(), r.v()
        xs, ys = vec_pair(rng)
        put_lanes(st, rn, xs)
        if rm != rn:
            put_lanes(st, rm, ys)
        return enc_three(0, u, a, rm, opc, rn, rd) | SCALAR

    check(f"scalar-three-{op}", 40, gen)


# ------------------------------------------------------------------------------ two-reg misc

MISC = {
    "frintn": (0, 0, 0x18), "frintm": (0, 0, 0x19), "fcvtns": (0, 0, 0x1A),
    "fcvtms": (0, 0, 0x1B), "fcvtas": (0, 0, 0x1C), "scvtf": (0, 0, 0x1D),
    "fcmgt0": (0, 1, 0x0C), "fcmeq0": (0, 1, 0x0D), "fcmlt0": (0, 1, 0x0E), "fabs": (0, 1, 0x0F),
    "frintp": (0, 1, 0x18), "frintz": (0, 1, 0x19), "fcvtps": (0, 1, 0x1A),
    "fcvtzs": (0, 1, 0x1B), "frinta": (1, 0, 0x18), "frintx": (1, 0, 0x19),
    "fcvtnu": (1, 0, 0x1A), "fcvtmu": (1, 0, 0x1B), "fcvtau": (1, 0, 0x1C), "ucvtf": (1, 0, 0x1D),
    "fcmge0": (1, 1, 0x0C), "fcmle0": (1, 1, 0x0D), "fneg": (1, 1, 0x0F), "frinti": (1, 1, 0x19),
    "fcvtpu": (1, 1, 0x1A), "fcvtzu": (1, 1, 0x1B), "fsqrt": (1, 1, 0x1F),
    "frecpe": (0, 1, 0x1D), "frsqrte": (1, 1, 0x1D), "frecpx": (0, 1, 0x1F),
}
VECTOR_ONLY = {"fabs", "fneg", "fsqrt"} | {k for k in MISC if k.startswith("frint")}
SCALAR_ONLY = {"frecpx"}


def misc_lanes(rng: random.Random, op: str) -> list[int]:
    if op.endswith("cvtf"):  # integers: around the half range, ties, anything
        return [rng.choice([rng.getrandbits(16), rng.randrange(-2100, 2100), 0x7FFF, 0x8000,
                            0xFFFF, 2049, 2051, 4097, 0xFFE0]) for _ in range(8)]
    return [operand(rng) if rng.random() < 0.7 else
            (rng.randrange(-70000, 70000) + rng.choice([0, 0.5, 0.25])) for _ in range(8)]


def _as_half(x: float | int) -> int:
    if isinstance(x, int):
        return x & 0xFFFF
    try:
        return struct.unpack("<H", struct.pack("<e", x))[0]
    except OverflowError:
        return 0x7C00 if x > 0 else 0xFC00


@pytest.mark.parametrize("op", [k for k in MISC if k not in SCALAR_ONLY])
def test_misc(op: str) -> None:
    u, a, opc = MISC[op]

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        q = rng.getrandbits(1)
        rn, rd = r.v(), r.v()
        put_lanes(st, rn, [_as_half(x) for x in misc_lanes(rng, op)])
        return enc_misc(q, u, a, opc, rn, rd)

    check(f"misc-{op}", 32, gen)


@pytest.mark.parametrize("op", [k for k in MISC if k not in VECTOR_ONLY])
def test_scalar_misc(op: str) -> None:
    u, a, opc = MISC[op]

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn, rd = r.v(), r.v()
        put_lanes(st, rn, [_as_half(x) for x in misc_lanes(rng, op)])
        return enc_misc(0, u, a, opc, rn, rd) | SCALAR

    check(f"scalar-misc-{op}", 40, gen)


# ------------------------------------------------------------------------------ by element

ELEM = {v: k for k, v in _ELEM.items()}


@pytest.mark.parametrize("op", list(ELEM))
def test_by_element(op: str) -> None:
    u, opc = ELEM[op]

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        form = rng.choice(["4H", "8H", "H"])
        rn, rd = r.v(), r.v()
        rm = r.v() & 15
        xs, ys = vec_pair(rng)
        put_lanes(st, rn, xs)
        if rm != rn:
            put_lanes(st, rm, ys)
        if rd not in (rn, rm) and op in ("fmla", "fmls"):
            put_lanes(st, rd, [related(rng, H, x) for x in xs])
        w = enc_elem(form == "8H", u, rng.randrange(8), rm, opc, rn, rd)
        return w | SCALAR if form == "H" else w

    check(f"elem-{op}", 48, gen)


# ------------------------------------------------------------------------------ reductions

REDUCE = {v: k for k, v in _REDUCE.items()}
PAIR = {v: k for k, v in _PAIR.items()}


@pytest.mark.parametrize("op", list(REDUCE))
def test_across(op: str) -> None:
    a, opc = REDUCE[op]

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        q = rng.getrandbits(1)
        rn, rd = r.v(), r.v()
        put_lanes(st, rn, vec_pair(rng)[rng.getrandbits(1)])
        return enc_across(q, a, opc, rn, rd)

    check(f"across-{op}", 48, gen)


@pytest.mark.parametrize("op", list(PAIR))
def test_scalar_pairwise(op: str) -> None:
    a, opc = PAIR[op]

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn, rd = r.v(), r.v()
        x = operand(rng)
        put_lanes(st, rn, [x, related(rng, H, x)] + [operand(rng) for _ in range(6)])
        return 0x5E300800 | a << 23 | opc << 12 | rn << 5 | rd

    check(f"pairwise-{op}", 48, gen)


def test_fmov_vector_imm() -> None:
    it = iter(range(256))

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        imm, q = next(it), rng.getrandbits(1)
        return 0x0F00FC00 | q << 30 | (imm >> 5) << 16 | (imm & 31) << 5 | r.v()

    check("fmov-vimm", 256, gen)


# Where Unicorn (and qemu-aarch64 7.2 -cpu max, which shares the code) is wrong, with the proof.
UNICORN_WRONG = {
    ("FCVTZS", "H"): (
        "FCVTZS Hd, Hn, #fbits writes the saturated 16-bit result sign-extended to 32 bits "
        "(Vd[31:16] = 0xFFFF for a negative result): qemu's scalar path stores it with "
        "write_fp_sreg. The Arm ARM's FCVTZS (vector, fixed-point) ends V[d] = result with "
        "datasize = esize = 16, which zeroes V[127:16]; FCVTZS Hd, Hn (no fbits) does zero "
        "them in qemu too. Checked with qemu-aarch64 -cpu max: fcvtzs h0, h1, #16 of -2.5 "
        "gives d0 = 0xffff8000, fcvtzs h2, h1 gives 0xfffe."),
    ("FCMLA-elem", "4H"): (
        "FCMLA Vd.4H, Vn.4H, Vm.H[i] also computes lanes 4-7 (bits 127:64 of Vn and Vd, which "
        "the 64-bit form must not read: operand1 = V[n, datasize], datasize = 64) and raises "
        "their FPSR flags: with 0x7C01 (sNaN) in Vn[127:64] and 1.0 elsewhere Unicorn sets "
        "IOC, qemu-aarch64 7.2 -cpu max sets nothing (the results agree). The generator "
        "puts quiet NaNs in Vn[127:64] and zeros in Vd[127:64] for this form, which raise "
        "nothing there whatever Vm holds; test_fcmla_elem_4h_ignores_upper_lanes checks "
        "elfjit on the sNaN case."),
}


def _sign_extended_h(line: str) -> bool:
    """A Vd difference where Unicorn's value is elfjit's negative 16-bit result with bits
    31:16 set (the UNICORN_WRONG FCVTZS Hd case), and nothing else differs."""
    if ": elfjit " not in line or " v" not in line:
        return False
    try:
        ours, theirs = (int(p, 16) for p in line.split(": elfjit ")[1].split(" unicorn "))
    except ValueError:
        return False
    return ours >> 16 == 0 and ours & 0x8000 != 0 and theirs == ours | 0xFFFF0000


@pytest.mark.parametrize("form", ["4H", "8H", "H"])
@pytest.mark.parametrize("op", ["SCVTF", "UCVTF", "FCVTZS", "FCVTZU"])
def test_fixed_point(op: str, form: str) -> None:
    u = op in ("UCVTF", "FCVTZU")
    opc = 0x1C if op.endswith("CVTF") else 0x1F

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn, rd = r.v(), r.v()
        fb = rng.choice([1, 16, rng.randrange(1, 17)])
        if opc == 0x1C:
            put_lanes(st, rn, [_as_half(x) for x in misc_lanes(rng, "scvtf")])
        else:
            put_lanes(st, rn, [operand(rng) for _ in range(8)])
        base = 0x5F000400 if form == "H" else 0x0F000400 | (form == "8H") << 30
        return base | u << 29 | (32 - fb) << 16 | opc << 11 | rn << 5 | rd

    wrong = (op, form) in UNICORN_WRONG
    known = check(f"fixed-{op}-{form}", 40, gen, _sign_extended_h if wrong else None)
    if wrong:  # the documented difference must really have been exercised
        assert known > 0, UNICORN_WRONG[(op, form)]


@pytest.mark.parametrize("form", ["FCADD", "FCMLA", "FCMLA-elem"])
def test_complex(form: str) -> None:
    """FEAT_FCMA on half lanes (FP16): every rotation, .4H and .8H."""

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        q = rng.getrandbits(1)
        rn, rm, rd = r.v(), r.v(), r.v()
        xs, ys = vec_pair(rng)
        put_lanes(st, rn, xs)
        if rm != rn:
            put_lanes(st, rm, ys)
        if rd not in (rn, rm):
            put_lanes(st, rd, [related(rng, H, y) for y in ys])
        base = q << 30 | rm << 16 | rn << 5 | rd
        if form == "FCADD":
            return 0x2E40E400 | base | rng.getrandbits(1) << 12
        if form == "FCMLA":
            return 0x2E40C400 | base | rng.randrange(4) << 11
        hi = rng.getrandbits(1) if q else 0
        if not q:  # UNICORN_WRONG[("FCMLA-elem", "4H")]
            low = (1 << 64) - 1
            st.v[rn] = st.v[rn] & low | sum(0x7E00 << (16 * i) for i in range(4, 8))
            if rd != rn:
                st.v[rd] &= low
        return 0x2F401000 | base | rng.getrandbits(1) << 21 | hi << 11 | rng.randrange(4) << 13

    check(f"complex-{form}", 48, gen)


def test_fcmla_elem_4h_ignores_upper_lanes() -> None:
    """The 64-bit FCMLA by element reads no lane above 3: signalling NaNs in Vn[127:64] and
    Vd[127:64] raise nothing and the result's upper half is zero (what qemu-aarch64 7.2
    -cpu max gives; Unicorn raises IOC, see UNICORN_WRONG)."""
    from difftest import run_elfjit, words

    one = sum(0x3C00 << (16 * i) for i in range(8))
    snan_hi = sum(0x7C01 << (16 * i) for i in range(4, 8))
    st = State()
    st.v[1] = one & ((1 << 64) - 1) | snan_hi
    st.v[0] = st.v[1]
    st.v[2] = one
    for tier in ("baseline", "optimized"):
        out = run_elfjit(words(0x2F421020), st, tier)  # fcmla v0.4h, v1.4h, v2.h[0], #0
        assert (out["v0"], out["fpsr"]) == (0x4000400040004000, 0), tier
