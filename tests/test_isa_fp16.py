"""Differential tests (elfjit vs Unicorn's "max" core) for FEAT_FP16 scalar floating point.

Every half-precision form of fp16_scalar, with operands from test_isa_fp's edge-case
generators (format H) and the half rounding edges (ties, overflow, denormal range), run from
random FPCR settings (each RMode, FZ16, FZ, DN, AHP) with FPSR compared: the flags are
computed for the half result, not taken from a host float operation, so they are what these
tests exist to check. Both tiers run every instance (difftest.compare).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Callable

import pytest
from difftest import UNICORN_MAX_CPU, State, compare_fp_env, words
from test_isa_fp import (
    ARITH,
    ONE_SRC,
    TO_INT,
    H,
    Regs,
    enc_1src,
    enc_2src,
    enc_3src,
    enc_ccmp,
    enc_cmp,
    enc_csel,
    enc_fixed,
    enc_imm,
    enc_int,
    fbits,
    fval,
    half_tie_or_edge,
    interesting,
    interesting_int,
    nan_bits,
    put_fp,
    related,
    special,
)

from translator.disasm import disasm_one

FZ16, FZ, DN, AHP = 1 << 19, 1 << 24, 1 << 25, 1 << 26


@pytest.fixture(autouse=True)
def unicorn_max() -> Iterator[None]:
    UNICORN_MAX_CPU[0] = True
    yield
    UNICORN_MAX_CPU[0] = False


def random_fpcr(rng: random.Random) -> int:
    """Any rounding mode; FZ16 often, FZ/DN/AHP sometimes (FZ and AHP must not matter)."""
    v = rng.randrange(4) << 22
    for bit_, p in ((FZ16, 0.4), (FZ, 0.2), (DN, 0.25), (AHP, 0.15)):
        if rng.random() < p:
            v |= bit_
    return v


Gen = Callable[[random.Random, State, Regs], int]
PER_RUN = 4


def check(name: str, n: int, gen: Gen, expected: Callable[[str], bool] | None = None) -> int:
    """n random instances, PER_RUN per run from one random state and FPCR, FPSR compared;
    a differing batch is re-run instruction by instruction to name the culprit.

    `expected` accepts the difference lines of a documented Unicorn error (each caller says
    why it is one); those are counted, not failed, and the count is returned so the caller
    can insist the case was really exercised."""
    rng = random.Random(f"fp16:{name}")
    failures: list[str] = []
    known = 0
    done = 0
    while done < n and len(failures) < 5:
        k = min(PER_RUN, n - done)
        done += k
        st = State.random(rng)
        st.fpcr = random_fpcr(rng)
        vperm, xperm = rng.sample(range(32), 32), rng.sample(range(32), 32)
        ws = [gen(rng, st, Regs(rng, vperm[8 * i:8 * i + 8], xperm[8 * i:8 * i + 8]))
              for i in range(k)]
        d = compare_fp_env(words(*ws), st)
        if expected is not None:
            known += sum(map(expected, d))
            d = [x for x in d if not expected(x)]
        if not d:
            continue
        alone = [(w, compare_fp_env(words(w), st)) for w in ws]
        if expected is not None:
            alone = [(w, [x for x in d if not expected(x)]) for w, d in alone]
        bad = [f"{w:08x} {disasm_one(w)} fpcr={st.fpcr:#x}: {d[:4]}" for w, d in alone if d]
        failures.extend(bad or ["batch " + "; ".join(disasm_one(w) for w in ws)])
    assert not failures, f"{name}:\n" + "\n".join(failures)
    return known


def operand(rng: random.Random) -> int:
    """A half operand: edge values, rounding edges of the format, or anything."""
    r = rng.random()
    if r < 0.2:
        return special(rng, H)
    if r < 0.4:
        return half_tie_or_edge(rng, H)
    if r < 0.55:  # denormals (flushed under FZ16) and the smallest normals
        return rng.getrandbits(1) << 15 | rng.choice([rng.getrandbits(10), 1, 0x3FF, 0x400])
    return interesting(rng, H)


# ------------------------------------------------------------------------------ arithmetic


@pytest.mark.parametrize("op", list(ARITH))
def test_2src(op: str) -> None:
    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn, rm, rd = r.v(), r.v(), r.v()
        a = operand(rng)
        c = related(rng, H, a)
        if rng.random() < 0.1:
            a, c = (rng.getrandbits(1) << 15 for _ in range(2))
        elif op in ("FMUL", "FNMUL", "FDIV") and rng.random() < 0.3:
            # products and quotients near the underflow and overflow thresholds
            c = fbits(H, rng.choice([2.0**-14, 2.0**-10, 2.0**10, 2.0**14, 3.0, 0.75,
                                     1 / 3]) * rng.choice([1, -1]))
        put_fp(st, rng, rn, H, a)
        if rm != rn:
            put_fp(st, rng, rm, H, c)
        return enc_2src(H, ARITH[op], rm, rn, rd)

    check(f"2src-{op}", 240, gen)


@pytest.mark.parametrize("op", list(ONE_SRC))
def test_1src(op: str) -> None:
    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn, rd = r.v(), r.v()
        put_fp(st, rng, rn, H, operand(rng))
        return enc_1src(H, ONE_SRC[op], rn, rd)

    check(f"1src-{op}", 120, gen)


@pytest.mark.parametrize("o1,o0", [(0, 0), (0, 1), (1, 0), (1, 1)],
                         ids=["FMADD", "FMSUB", "FNMADD", "FNMSUB"])
def test_3src(o1: int, o0: int) -> None:
    inf = fbits(H, float("inf"))

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rm, ra, rn, rd = r.v(), r.v(), r.v(), r.v()
        a = operand(rng)
        m = related(rng, H, a)
        acc = related(rng, H, a)
        k = rng.random()
        if k < 0.12:  # inf * 0 with a NaN (or not) addend
            a, m = rng.sample([inf | rng.getrandbits(1) << 15, rng.getrandbits(1) << 15], 2)
            acc = nan_bits(rng, H, rng.random() < 0.6) if rng.random() < 0.8 else acc
        elif k < 0.3:  # exact or near cancellation: the product's low bits decide
            prod = fval(H, a) * fval(H, m)
            if prod == prod:
                acc = (fbits(H, -prod) + rng.choice([0, 0, 1, -1])) & 0xFFFF
        elif k < 0.45:  # a tiny addend against a product: sticky bits far below
            acc = rng.getrandbits(1) << 15 | rng.randrange(1, 0x400)
        put_fp(st, rng, rn, H, a)
        put_fp(st, rng, rm, H, m)
        put_fp(st, rng, ra, H, acc)
        return enc_3src(H, o1, o0, rm, ra, rn, rd)

    check(f"3src-{o1}{o0}", 240, gen)


# ------------------------------------------------------------------------------ compares


def test_fcmp() -> None:
    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn, rm = r.v(), r.v()
        a = operand(rng)
        put_fp(st, rng, rn, H, a)
        if rm != rn:
            put_fp(st, rng, rm, H, related(rng, H, a))
        opc2 = rng.choice([0, 8, 16, 24])
        if opc2 & 8:
            rm = 0
        return enc_cmp(H, rm, rn, opc2)

    check("fcmp", 240, gen)


def test_fccmp() -> None:
    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn, rm = r.v(), r.v()
        a = operand(rng)
        put_fp(st, rng, rn, H, a)
        if rm != rn:
            put_fp(st, rng, rm, H, related(rng, H, a))
        return enc_ccmp(H, rm, rng.randrange(16), rn, rng.getrandbits(1), rng.randrange(16))

    check("fccmp", 200, gen)


def test_fcsel() -> None:
    def gen(rng: random.Random, st: State, r: Regs) -> int:
        return enc_csel(H, r.v(), rng.randrange(16), r.v(), r.v())

    check("fcsel", 100, gen)


# ------------------------------------------------------------------------------ moves


def test_fmov_imm_all() -> None:
    it = iter(range(256))

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        return enc_imm(H, next(it), r.v())

    check("fmov-imm", 256, gen)


FMOV_H = {"FMOV Wd,Hn": (0, 6), "FMOV Hd,Wn": (0, 7), "FMOV Xd,Hn": (1, 6),
          "FMOV Hd,Xn": (1, 7)}


@pytest.mark.parametrize("form", list(FMOV_H))
def test_fmov_general(form: str) -> None:
    sf, opcode = FMOV_H[form]

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn = r.x() if opcode == 7 else r.v()
        rd = r.v() if opcode == 7 else r.x()
        return enc_int(sf, H, 0, opcode, rn, rd)

    check(form, 60, gen)


# ------------------------------------------------------------------------------ conversions


@pytest.mark.parametrize("sf", [0, 1], ids=["W", "X"])
@pytest.mark.parametrize("op", list(TO_INT))
def test_fp_to_int(op: str, sf: int) -> None:
    rmode, opcode = TO_INT[op]

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn = r.v()
        if rng.random() < 0.3:  # halves and ties
            v = fbits(H, (rng.randrange(-40, 40) + rng.choice([0.5, 0.25, 0.75, 0])))
        else:
            v = operand(rng)
        put_fp(st, rng, rn, H, v)
        return enc_int(sf, H, rmode, opcode, rn, r.x())

    check(f"{op}-{sf}", 100, gen)


@pytest.mark.parametrize("sf", [0, 1], ids=["W", "X"])
@pytest.mark.parametrize("op", ["SCVTF", "UCVTF"])
def test_int_to_fp(op: str, sf: int) -> None:
    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn = r.x()
        if rn != 31:
            high = 0 if sf else rng.getrandbits(32) << 32
            v = interesting_int(rng, 64 if sf else 32)
            if rng.random() < 0.4:  # around the half range: ties and the overflow edge
                v = rng.choice([65504, 65519, 65520, 65535, 2049, 2051, 4097, 4099,
                                rng.randrange(0, 70000)])
                v = (-v if rng.random() < 0.3 else v) & ((1 << (64 if sf else 32)) - 1)
            st.x[rn] = v | high
        return enc_int(sf, H, 0, 2 if op == "SCVTF" else 3, rn, r.v())

    check(f"{op}-{sf}", 120, gen)


@pytest.mark.parametrize("sf", [0, 1], ids=["W", "X"])
@pytest.mark.parametrize("op", ["FCVTZS", "FCVTZU", "SCVTF", "UCVTF"])
def test_fixed_point(op: str, sf: int) -> None:
    rmode, opcode = {"FCVTZS": (3, 0), "FCVTZU": (3, 1), "SCVTF": (0, 2), "UCVTF": (0, 3)}[op]
    width = 64 if sf else 32

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        rn = r.x() if rmode == 0 else r.v()
        fb = rng.choice([1, width, rng.randrange(1, width + 1), rng.randrange(1, 20)])
        if rmode == 3:
            put_fp(st, rng, rn, H, operand(rng))
        elif rn != 31:
            v = interesting_int(rng, width)
            if rng.random() < 0.4:
                v = rng.randrange(-(1 << 20), 1 << 20) << rng.randrange(0, 8)
            st.x[rn] = (v & ((1 << width) - 1)) | (0 if sf else rng.getrandbits(32) << 32)
        return enc_fixed(sf, H, rmode, opcode, 64 - fb, rn, r.v() if rmode == 0 else r.x())

    check(f"fixed-{op}-{sf}", 100, gen)

