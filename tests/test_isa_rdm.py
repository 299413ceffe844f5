"""SQRDMLAH/SQRDMLSH (FEAT_RDM, translator/isa/simd_rdm.py) against Unicorn's "max" CPU model:
vector, scalar and by-element forms, 16- and 32-bit elements, FPSR.QC compared too."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator

import pytest
from difftest import UNICORN_MAX_CPU, State, compare


def _regs(g: random.Random) -> int:
    return g.randrange(32) << 5 | g.randrange(32)


def _vector(g: random.Random) -> int:
    return (0x2E008400 | g.randrange(2) << 30 | g.choice([1, 2]) << 22 | g.randrange(32) << 16
            | g.randrange(2) << 11 | _regs(g))


def _scalar(g: random.Random) -> int:
    return 0x7E008400 | g.choice([1, 2]) << 22 | g.randrange(32) << 16 | g.randrange(2) << 11 \
        | _regs(g)


def _element(base: int) -> Callable[[random.Random], int]:
    def gen(g: random.Random) -> int:
        size = g.choice([1, 2])
        q = g.randrange(2) << 30 if base == 0x2F00D000 else 0
        return (base | q | size << 22 | g.randrange(4) << 20 | g.randrange(16) << 16
                | g.randrange(2) << 13 | g.randrange(2) << 11 | _regs(g))
    return gen


FORMS: dict[str, Callable[[random.Random], int]] = {
    "vector": _vector, "scalar": _scalar,
    "element": _element(0x2F00D000), "scalar_element": _element(0x7F00D000),
}


@pytest.fixture
def unicorn_max() -> Iterator[None]:
    UNICORN_MAX_CPU[0] = True
    yield
    UNICORN_MAX_CPU[0] = False


def _state(g: random.Random) -> State:
    st = State.random(g)
    edges = [0x8000, 0x7FFF, 0xFFFF, 0x80000000, 0x7FFFFFFF, 0xFFFFFFFF, 0, 1]
    for r in g.sample(range(32), 12):  # lanes at the saturation edges
        st.v[r] = sum(g.choice(edges) << (32 * i) for i in range(4))
    return st


@pytest.mark.parametrize("form", sorted(FORMS))
def test_form(form: str, unicorn_max: None) -> None:
    rng = random.Random(f"rdm-{form}")
    failures = []
    for _ in range(80):
        code = b"".join(struct.pack("<I", FORMS[form](rng)) for _ in range(2))
        d = compare(code, _state(rng), fpsr=True)
        if d:
            failures.append((code.hex(), d[:3]))
    assert not failures, f"{len(failures)}/80 differ: {failures[:2]}"
