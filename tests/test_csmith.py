"""csmith programs: the aarch64 build under elfjit must print the native build's checksum.

A modest, fixed set of seeds runs in CI (each costs a fresh static binary, so ~1-2 s of
translation); `python -m tests.csmith_tier --seeds 2000` runs thousands on demand. The logic
(generation, caching, building, judging with qemu as the tie-breaker) lives in
tests/csmith_tier.py so both share it.

ELFJIT_CSMITH_SEEDS picks the seeds: a count N (seeds 1..N; default 30, about 3 minutes on
2 cores with a cold build cache) or a range A-B; 0 turns the tier off.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

try:  # tests/ is on sys.path under pytest's default (prepend) import mode
    import csmith_tier
except ImportError:  # e.g. --import-mode=importlib, run from the repository root
    from tests import csmith_tier

DEFAULT_SEEDS = 30


def selected_seeds() -> range:
    """Seeds from ELFJIT_CSMITH_SEEDS: "N" means 1..N, "A-B" means A..B inclusive."""
    spec = os.environ.get("ELFJIT_CSMITH_SEEDS", "").strip() or str(DEFAULT_SEEDS)
    if "-" in spec:
        first, last = (int(x) for x in spec.split("-", 1))
        return range(first, last + 1)
    return range(1, int(spec) + 1)


def _params() -> list:
    return [
        pytest.param(seed, level, id=f"seed{seed}-{level.name}")
        for seed in selected_seeds()
        for level in csmith_tier.levels().values()
    ]


@pytest.fixture(scope="module")
def csmith_ready() -> None:
    """Skip (not fail) where csmith or its headers are missing: the tier is optional tooling."""
    missing = csmith_tier.missing_tools()
    if missing:
        pytest.skip(f"csmith tier needs: {', '.join(missing)}")


@pytest.mark.parametrize(("seed", "level"), _params())
def test_csmith_matches_native(
    seed: int, level: csmith_tier.Level, elfjit_cmd: list[str], csmith_ready: None
) -> None:
    outcome = csmith_tier.check(seed, level, runner=elfjit_cmd)
    if outcome.verdict == csmith_tier.DISCARD:
        pytest.skip(f"csmith program not usable: {outcome.detail}")
    if outcome.verdict == csmith_tier.ERROR:
        pytest.fail(outcome.detail, pytrace=False)
    if outcome.verdict == csmith_tier.DISAGREE:
        pytest.fail(
            f"{outcome.label}: {outcome.detail}\nbinary: {outcome.binary}\n{outcome.diff}",
            pytrace=False,
        )
    # AGREE, or ISA: elfjit matches qemu where native legitimately differs.
    assert outcome.verdict in (csmith_tier.AGREE, csmith_tier.ISA)


def test_seed_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The env knob's two forms, so a typo does not silently run a different set."""
    monkeypatch.setenv("ELFJIT_CSMITH_SEEDS", "3")
    assert list(selected_seeds()) == [1, 2, 3]
    monkeypatch.setenv("ELFJIT_CSMITH_SEEDS", "10-12")
    assert list(selected_seeds()) == [10, 11, 12]
    monkeypatch.setenv("ELFJIT_CSMITH_SEEDS", "0")
    assert list(selected_seeds()) == []


def test_generation_is_deterministic(csmith_ready: None, tmp_path: Path) -> None:
    """Same seed, same program: the cache and every reported seed rely on it."""
    a = csmith_tier.generate(7, tmp_path / "a")
    b = csmith_tier.generate(7, tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
    assert b"platform_main_end" in a.read_bytes()  # prints the checksum
