"""FEAT_SHA512 and FEAT_SHA3 (translator/isa/crypto_sha3.py) against Unicorn's "max" CPU model.

Encodings are built from their fields (Keystone does not know these mnemonics); every
instance runs from random registers in both tiers.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator

import pytest
from difftest import UNICORN_MAX_CPU, State, compare


def _r(rng: random.Random) -> int:
    return rng.randrange(32)


FORMS: dict[str, Callable[[random.Random], int]] = {
    "sha512h": lambda g: 0xCE608000 | _r(g) << 16 | _r(g) << 5 | _r(g),
    "sha512h2": lambda g: 0xCE608400 | _r(g) << 16 | _r(g) << 5 | _r(g),
    "sha512su1": lambda g: 0xCE608800 | _r(g) << 16 | _r(g) << 5 | _r(g),
    "rax1": lambda g: 0xCE608C00 | _r(g) << 16 | _r(g) << 5 | _r(g),
    "sha512su0": lambda g: 0xCEC08000 | _r(g) << 5 | _r(g),
    "eor3": lambda g: 0xCE000000 | _r(g) << 16 | _r(g) << 10 | _r(g) << 5 | _r(g),
    "bcax": lambda g: 0xCE200000 | _r(g) << 16 | _r(g) << 10 | _r(g) << 5 | _r(g),
    "xar": lambda g: 0xCE800000 | _r(g) << 16 | g.randrange(64) << 10 | _r(g) << 5 | _r(g),
}
INSTANCES = 60


@pytest.fixture
def unicorn_max() -> Iterator[None]:
    UNICORN_MAX_CPU[0] = True
    yield
    UNICORN_MAX_CPU[0] = False


@pytest.mark.parametrize("form", sorted(FORMS))
def test_form(form: str, unicorn_max: None) -> None:
    rng = random.Random(f"crypto-ext-{form}")
    failures = []
    for _ in range(INSTANCES):
        # two dependent instructions per snippet: the second reads what the first wrote
        code = b"".join(struct.pack("<I", FORMS[form](rng)) for _ in range(2))
        d = compare(code, State.random(rng))
        if d:
            failures.append((code.hex(), d[:3]))
    assert not failures, f"{len(failures)}/{INSTANCES} differ: {failures[:2]}"
