"""GuestMemory.find against a scan of the mapping list, through map/unmap/mprotect sequences
(find keeps its bisect keys between calls: every change must drop them)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.memory import PAGE, PROT_EXEC, PROT_READ, PROT_WRITE, GuestMemory

BASE = 0x10_0000_0000
PAGES = 24

op = st.tuples(st.sampled_from(["map", "unmap", "protect"]), st.integers(0, PAGES - 1),
               st.integers(1, 6), st.sampled_from([PROT_READ, PROT_READ | PROT_WRITE,
                                                   PROT_READ | PROT_EXEC]))


def _scan(mem: GuestMemory, addr: int) -> object:
    hits = [m for m in mem.maps if m.start <= addr < m.end]
    return hits[0] if hits else None


@settings(max_examples=40, deadline=None)
@given(st.lists(op, min_size=1, max_size=12), st.lists(st.integers(0, PAGES * PAGE + PAGE),
                                                       min_size=8, max_size=8))
def test_find_matches_a_scan_after_every_change(ops: list, probes: list[int]) -> None:
    mem = GuestMemory()
    for kind, page, n, prot in ops:
        start, length = BASE + page * PAGE, n * PAGE
        if kind == "map":
            assert mem.map(start, length, prot) == 0
        elif kind == "unmap":
            assert mem.unmap(start, length) == 0
        else:
            mem.protect(start, length, prot)  # -ENOMEM over a hole changes nothing
        for p in probes:
            assert mem.find(BASE + p) is _scan(mem, BASE + p)


def test_an_address_space_replaced_by_a_newer_one_faults_cleanly() -> None:
    """One window per process: a second GuestMemory drops the first one's pages, so the first
    must stop claiming them. Before it did, a test reusing an older Machine wrote through its
    stale mapping list and Python's memmove died of SIGSEGV in the worker."""
    old = GuestMemory()
    assert old.map(BASE, PAGE, PROT_READ | PROT_WRITE) == 0
    assert old.write(BASE, b"abcd") and old.read(BASE, 4) == b"abcd"
    new = GuestMemory()
    assert not old.owns_window and new.owns_window
    assert old.write(BASE, b"wxyz") is False
    assert old.read(BASE, 4) is None
    assert new.read(BASE, 4) is None  # the page went with the old space
    assert new.map(BASE, PAGE, PROT_READ | PROT_WRITE) == 0
    assert new.read(BASE, 4) == b"\0\0\0\0"
