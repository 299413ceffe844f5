"""Differential tests (elfjit vs Unicorn's "max" core) for FEAT_FHM (simd_fhm): FMLAL, FMLSL,
FMLAL2, FMLSL2, vector and by element, .2S and .4S, FPSR compared, from random FPCR (FZ for
the single addend and result, FZ16 for the half operands, DN, every rounding mode)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from difftest import UNICORN_MAX_CPU, State
from test_isa_fp import H, Regs, S, interesting, related
from test_isa_fp16 import check, operand


@pytest.fixture(autouse=True)
def unicorn_max() -> Iterator[None]:
    UNICORN_MAX_CPU[0] = True
    yield
    UNICORN_MAX_CPU[0] = False


FORMS = {  # name -> (U, S bit, opcode) of the vector form; by element: (U, opcode)
    "FMLAL": (0, 0, 0b11101, 0b0000), "FMLSL": (0, 1, 0b11101, 0b0100),
    "FMLAL2": (1, 0, 0b11001, 0b1000), "FMLSL2": (1, 1, 0b11001, 0b1100),
}


@pytest.mark.parametrize("elem", [False, True], ids=["vector", "element"])
@pytest.mark.parametrize("op", list(FORMS))
def test_fmlal(op: str, elem: bool) -> None:
    u, s, opc, eopc = FORMS[op]

    def gen(rng: random.Random, st: State, r: Regs) -> int:
        q = rng.getrandbits(1)
        rn, rd = r.v(), r.v()
        rm = r.v() & 15 if elem else r.v()
        xs = [operand(rng) for _ in range(8)]
        ys = [related(rng, H, x) for x in xs]
        st.v[rn] = sum(x << (16 * i) for i, x in enumerate(xs))
        if rm != rn:
            st.v[rm] = sum(y << (16 * i) for i, y in enumerate(ys))
        if rd not in (rn, rm):
            st.v[rd] = sum(interesting(rng, S) << (32 * i) for i in range(4))
        if elem:
            idx = rng.randrange(8)
            return (0x0F800000 | q << 30 | u << 29 | (idx >> 1 & 1) << 21 | (idx & 1) << 20
                    | rm << 16 | eopc << 12 | (idx >> 2) << 11 | rn << 5 | rd)
        return (0x0E200400 | q << 30 | u << 29 | s << 23 | rm << 16 | opc << 11 | rn << 5
                | rd)

    check(f"fhm-{op}-{elem}", 60, gen)
