"""Unit discovery (translator/region.py): where size-limited units end.

A unit ends where the next one starts, and a warm run only translates nothing if those
starting points are the same whatever ran first. The expected cut points here are worked out
from the rule itself (block ends and 64-byte multiples), not read back from discover().
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from translator.region import CUT_BYTES, STRAIGHT_INSNS, discover, exits

NOP = 0xD503201F
RET = 0xD65F03C0
CODE = 0x10000  # guest address of the synthetic code
STRAIGHT = 1000  # NOPs before the RET


def _straight(addr: int) -> int | None:
    """STRAIGHT NOPs then a RET: one long basic block, as in unrolled hash rounds."""
    i = (addr - CODE) // 4
    if addr % 4 or not 0 <= i <= STRAIGHT:
        return None
    return RET if i == STRAIGHT else NOP


def _end(region) -> int:
    return max(a + 4 * len(ws) for a, ws in region.blocks.items())


def test_cut_lands_on_the_next_grid_point() -> None:
    entry = CODE + 4
    region = discover(entry, _straight, max_insns=64)
    # The limit is reached at entry + 256 = CODE + 0x104; the next 64-byte multiple is 0x140.
    assert list(region.blocks) == [entry]
    assert _end(region) == CODE + 0x140
    assert region.ninsns == (0x140 - 4) // 4


def test_a_short_block_ends_before_the_grid() -> None:
    entry = CODE + 4 * (STRAIGHT - 10)
    region = discover(entry, _straight, max_insns=4)
    # Four instructions reach CODE+4*994 (0x1F88); the grid point 0x1FC0 lies past the RET
    # at 0x1FA0, so the block's own end (after the RET) is where the unit stops.
    assert _end(region) == CODE + 4 * (STRAIGHT + 1)


@given(st.integers(0, STRAIGHT - 1), st.integers(1, 300))
def test_every_cut_is_a_grid_point_or_the_block_end(start: int, limit: int) -> None:
    entry = CODE + 4 * start
    region = discover(entry, _straight, max_insns=limit)
    end = _end(region)
    assert end % CUT_BYTES == 0 or end == CODE + 4 * (STRAIGHT + 1)
    # Never short of the limit, never more than one grid step past it.
    assert region.ninsns >= min(limit, STRAIGHT + 1 - start)
    assert region.ninsns < limit + CUT_BYTES // 4


def test_units_started_anywhere_meet_at_few_addresses() -> None:
    """Wherever execution first enters the code, the units that follow start at grid points:
    the set of units any run can ask for is bounded by the code, so the disk cache fills up
    and a warm run stops translating. (Cutting at exactly the limit made every one of the
    1000 addresses a possible unit start.)"""
    later: set[int] = set()
    for start in range(STRAIGHT):
        entry = _end(discover(CODE + 4 * start, _straight, max_insns=64))
        while _straight(entry) is not None:
            later.add(entry)
            entry = _end(discover(entry, _straight, max_insns=64))
    assert later and all(a % CUT_BYTES == 0 for a in later)
    assert len(later) <= 4 * STRAIGHT // CUT_BYTES


def test_a_pending_branch_target_also_ends_the_unit() -> None:
    cbz = 0xB4000000 | (0x38 // 4) << 5  # CODE: cbz x0, CODE+0x38; NOPs follow

    def fetch(addr: int) -> int | None:
        return cbz if addr == CODE else _straight(addr)

    region = discover(CODE, fetch, max_insns=8)
    # The fall-through walk from CODE+4 reaches the limit at CODE+0x20 and goes on to the
    # next canonical point: the CBZ's target CODE+0x38, a leader, comes before the grid's 0x40.
    assert sorted(region.blocks) == [CODE, CODE + 4]
    assert _end(region) == CODE + 0x38


def test_exits_are_static_successors_outside_the_block_starts() -> None:
    """What a region leaves to, as worked out by hand from the encodings below: the callee
    and return site of its call and where a cut ends its straight code; not the target of a
    branch to one of its own blocks, and nothing for a RET."""
    cbz = 0xB4000000 | (0x40 // 4) << 5  # CODE: cbz x0, CODE+0x40
    bl = 0x94000000 | (0x1FC // 4)  # CODE+4: bl CODE+0x200
    back = 0x14000000 | ((-0x40 // 4) & 0x3FFFFFF)  # CODE+0x40: b CODE
    words = {CODE: cbz, CODE + 4: bl, CODE + 0x40: back}
    region = discover(CODE, words.get, max_insns=64)
    assert sorted(region.blocks) == [CODE, CODE + 4, CODE + 0x40]
    assert sorted(exits(region)) == [CODE + 8, CODE + 0x200]
    assert exits(discover(CODE + 4, _straight, max_insns=64)) == [CODE + 0x140]
    assert exits(discover(CODE, _straight, max_insns=2000)) == []


def test_straight_code_runs_on_past_the_limit_up_to_its_own_cap() -> None:
    """An optimized region's block under way at the limit goes on to its end (the RET after
    the 1,000 NOPs), or to the first grid point once `straight` instructions are in."""
    assert STRAIGHT_INSNS > STRAIGHT + 1
    whole = discover(CODE, _straight, max_insns=128, straight=STRAIGHT_INSNS)
    assert list(whole.blocks) == [CODE] and _end(whole) == CODE + 4 * (STRAIGHT + 1)
    capped = discover(CODE + 4, _straight, max_insns=64, straight=300)
    # 300 instructions from CODE+4 reach CODE+0x4B4; the next 64-byte multiple is 0x4C0.
    assert _end(capped) == CODE + 0x4C0


def test_past_the_limit_no_other_block_is_begun() -> None:
    far = CODE + 0x2000
    cbz = 0xB4000000 | (0x2000 // 4) << 5  # CODE: cbz x0, CODE+0x2000

    def fetch(addr: int) -> int | None:
        if addr == CODE:
            return cbz
        if far <= addr < far + 16:
            return RET if addr == far + 12 else NOP
        return _straight(addr)

    region = discover(CODE, fetch, max_insns=8, straight=STRAIGHT_INSNS)
    # The fall-through block was under way at the limit and runs on to its RET; the branch
    # target, a block not yet begun, stays out (and is where the region exits).
    assert sorted(region.blocks) == [CODE, CODE + 4]
    assert _end(region) == CODE + 4 * (STRAIGHT + 1)
    assert far in exits(region)
