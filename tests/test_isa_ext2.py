"""Differential tests (elfjit vs Unicorn's "max" CPU model) for FEAT_FCMA (FCADD, FCMLA:
translator/isa/simd_complex.py) and FEAT_SM3 / FEAT_SM4 (translator/isa/crypto_sm.py), plus
guest programs compared with qemu-aarch64: one using the later extensions through the ACLE
intrinsics, one for FEAT_BF16 (translator/isa/simd_bf16.py), which Unicorn lacks.

Keystone 0.9 cannot assemble these instructions, so every instance is built from its bit
fields with random registers (and, for FCMA, random FPCR rounding/FZ/DN settings and lanes
rich in NaNs, infinities, zeros and denormals). compare() runs each snippet in both tiers;
FP forms compare the FPSR cumulative flags too.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from difftest import UNICORN_MAX_CPU, State, compare, run_elfjit, words

from translator.isa.crypto_sm import sm4_sbox

Gen = Callable[[random.Random], int]


@pytest.fixture
def unicorn_max() -> Iterator[None]:
    UNICORN_MAX_CPU[0] = True
    yield
    UNICORN_MAX_CPU[0] = False


def _r(g: random.Random) -> int:
    return g.randrange(32)


def _dnm(g: random.Random) -> int:
    return _r(g) << 16 | _r(g) << 5 | _r(g)


# ------------------------------------------------------------------------------ FCMA
def _fp_shape(g: random.Random) -> int:
    """size:Q bits for 2S, 4S or 2D."""
    size, q = g.choice([(2, 0), (2, 1), (3, 1)])
    return size << 22 | q << 30


FCMA_FORMS: dict[str, Gen] = {
    "fcadd": lambda g: 0x2E00E400 | _fp_shape(g) | g.randrange(2) << 12 | _dnm(g),
    "fcmla": lambda g: 0x2E00C400 | _fp_shape(g) | g.randrange(4) << 11 | _dnm(g),
    # 4S only; index H, Rm = M:Rm (all 32 registers)
    "fcmla.elem": lambda g: (0x6F801000 | g.randrange(4) << 13 | g.randrange(2) << 11
                             | _dnm(g)),
}


def _fp_lane(g: random.Random, eb: int) -> int:
    mant = 23 if eb == 32 else 52
    emax = (1 << (eb - 1 - mant)) - 1
    sign = g.getrandbits(1) << (eb - 1)
    frac = g.getrandbits(mant)
    kind = g.randrange(14)
    if kind == 0:
        return sign | emax << mant | (frac or 1)  # NaN, quiet or signalling
    if kind == 1:
        return sign | emax << mant | 1 << (mant - 1)  # quiet NaN
    if kind == 2:
        return sign | emax << mant  # infinity
    if kind == 3:
        return sign  # zero
    if kind == 4:
        return sign | frac >> g.randrange(mant)  # denormal
    if kind == 5:  # exponents at the ends of the range (overflow / underflow)
        return sign | g.choice([1, 2, emax - 2, emax - 1]) << mant | frac
    # ordinary numbers of similar magnitude, so sums cancel and round
    bias = emax >> 1
    return sign | (bias + g.randrange(-4, 5)) << mant | frac


def _fp_state(g: random.Random) -> State:
    st = State.random(g)
    v = []
    for _ in range(32):
        eb = g.choice([32, 64])
        v.append(sum(_fp_lane(g, eb) << (i * eb) for i in range(128 // eb)))
    st.v = v
    # rounding mode, FZ and DN (random RMode exercises the host MXCSR path)
    st.fpcr = g.randrange(4) << 22 | g.choice([0, 0, 1]) << 24 | g.choice([0, 0, 1]) << 25
    return st


@pytest.mark.parametrize("form", sorted(FCMA_FORMS))
def test_fcma(form: str, unicorn_max: None) -> None:
    rng = random.Random(f"fcma-{form}")
    failures = []
    n = 80
    for _ in range(n):
        code = words(*(FCMA_FORMS[form](rng) for _ in range(3)))
        d = compare(code, _fp_state(rng), fpsr=True)
        if d:
            failures.append((code.hex(), d[:4]))
    assert not failures, f"{len(failures)}/{n} differ: {failures[:2]}"


def test_fcmla_qnan_addend_inf_times_zero(unicorn_max: None) -> None:
    """A quiet-NaN accumulator with an infinity times a zero: the default NaN and Invalid
    (FPMulAdd's special case; the host FMA raises nothing there). Every rotation picks a
    different lane pairing, so V1/V2 put inf and 0 where each one multiplies them."""
    st = State()
    st.v[0] = int("7fc00001" * 4, 16)
    st.v[1] = 0x7F800000_7F800000_00000000_7F800000
    st.v[2] = 0x00000000_7F800000_7F800000_00000000
    for rot in range(4):
        for w in (0x6E82C420 | rot << 11, 0x6F821020 | rot << 13):  # vector, by element
            assert compare(words(w), st, fpsr=True) == [], (hex(w), rot)


def test_fcma_reserved_unallocated() -> None:
    """FCADD .1D (size=11, Q=0) and FCMLA by element .4H with H=1 are reserved: undefined
    instructions, not computed as something else. (The half-precision forms are FP16's,
    difftested in test_isa_simd_fp16.)"""
    for w in (0x2EC0E400, 0x2F400800 | 1 << 12):  # 1D FCADD; FCMLA .4H, Vm.H[2] (H=1)
        got = run_elfjit(words(w), State())
        assert got["exit"] != "brk", hex(w)


# ------------------------------------------------------------------------------ SM3 / SM4
SM_FORMS: dict[str, Gen] = {
    "sm3ss1": lambda g: 0xCE400000 | _r(g) << 10 | _dnm(g),
    **{name: (lambda g, op=op: 0xCE408000 | g.randrange(4) << 12 | op << 10 | _dnm(g))
       for op, name in enumerate(["sm3tt1a", "sm3tt1b", "sm3tt2a", "sm3tt2b"])},
    "sm3partw1": lambda g: 0xCE60C000 | _dnm(g),
    "sm3partw2": lambda g: 0xCE60C400 | _dnm(g),
    "sm4e": lambda g: 0xCEC08400 | _r(g) << 5 | _r(g),
    "sm4ekey": lambda g: 0xCE60C800 | _dnm(g),
}


@pytest.mark.parametrize("form", sorted(SM_FORMS))
def test_sm(form: str, unicorn_max: None) -> None:
    rng = random.Random(f"sm-{form}")
    failures = []
    n = 60
    for _ in range(n):
        # two dependent instructions per snippet: the second reads what the first wrote
        code = words(*(SM_FORMS[form](rng) for _ in range(2)))
        d = compare(code, State.random(rng))
        if d:
            failures.append((code.hex(), d[:3]))
    assert not failures, f"{len(failures)}/{n} differ: {failures[:2]}"


def test_sm4_sbox_every_entry(unicorn_max: None) -> None:
    """All 256 S-box entries through SM4E's first round (X1 ^ X2 ^ X3 ^ K = the chosen bytes:
    X1..X3 zero, the round key holds four new byte values)."""
    rng = random.Random("sm4-sbox")
    for chunk in range(0, 256, 16):
        st = State.random(rng)
        for j in range(4):  # four SM4E instances per snippet, V0..V3 states, V4..V7 keys
            first = chunk + 4 * j
            st.v[j] = rng.getrandbits(32)  # X0 only
            st.v[4 + j] = int.from_bytes(bytes(range(first, first + 4)), "little") | \
                rng.getrandbits(96) << 32
        code = words(*(0xCEC08400 | (4 + j) << 5 | j for j in range(4)))
        assert compare(code, st) == [], f"bytes {chunk:#x}..{chunk + 15:#x}"
    assert sorted(sm4_sbox()) == list(range(256))


# ------------------------------------------------------------------------------ guest programs
# ext2.c: SHA512, SHA3, RDM, FCMA, SM3, SM4, JSCVT and FRINTTS through the ACLE intrinsics, and
# the HWCAPs announcing them. bf16.c: every FEAT_BF16 form over edge values in all 16 FPCR
# settings (rounding mode x FZ x DN), results and FPSR; Unicorn has no BF16, so qemu-aarch64
# is the oracle there.
PROGRAMS = {"ext2": ("-march=armv8.5-a+crypto+sha3+sm4",), "bf16": ("-march=armv8.6-a",)}


@pytest.mark.qemu
@pytest.mark.parametrize("policy", [[], ["--hot-threshold", "2"]], ids=["baseline", "optimized"])
@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_program_matches_qemu(program: str, policy: list[str],
                              guest_build: Callable[..., Path], run_cmd: Callable[..., Any],
                              host_env: Callable[..., Any], elfjit_cli: list[str],
                              qemu_cmd: list[str]) -> None:
    exe = guest_build(program, "O2", "aarch64", extra_flags=PROGRAMS[program])
    want = run_cmd([*qemu_cmd, exe], env=host_env())
    got = run_cmd([*elfjit_cli, *policy, exe], env=host_env())
    assert want.returncode == 0, want.err
    assert ": no" not in want.out  # qemu's max CPU has every extension the programs check
    assert (got.returncode, got.out) == (want.returncode, want.out), got.err[-3000:]
